"""The whole path without JavaScript in Lynx, a text-mode browser from Debian's packages:
pick an agent, fill its fields, Run, watch the page refresh, Stop. Lynx speaks HTTP/1.0
and knows no `form` attribute, no `hidden` attribute and no script."""
import subprocess

import pytest

from conftest import TetherServer
from pages import poll_until
from text_browser import dump, keys_to_go_to, number_of, run_session, type_text


@pytest.fixture(scope="module")
def text_server():
    """A server of its own (the pages' numbering depends on the runs listed), whose LLM
    takes 4 s: a run is still in flight when the Stop keystrokes arrive."""
    tether = TetherServer(latency_ms=4000, grace_seconds=30)
    yield tether
    tether.stop()


def test_pick_fill_run_refresh_and_stop_in_lynx(text_server):
    base = text_server.base
    home = dump(base + "/")
    form = dump(base + "/?agent=report")
    # Pick the agent from the list, type into its two fields (the Limits stay empty), press Run.
    topic = number_of(form, "topic")
    run_session(base + "/", [
        *keys_to_go_to(number_of(home, "report")), "^J",
        *keys_to_go_to(topic), *type_text("rain-gardens"),
        "Down Arrow", *type_text("neighbours"),
        *["Down Arrow"] * (number_of(form, "Run") - topic - 1), "^J",
    ])
    runs = text_server.api("GET", "/runs?agent=report")["runs"]
    assert len(runs) == 1, "Run started exactly one run"
    run = runs[0]
    assert run["input"] == {"topic": "rain-gardens", "audience": "neighbours"}, "the typed fields were sent"
    run_url = f"{base}/runs/{run['id']}"

    # The run's page refreshes itself; Lynx shows that as a link to follow.
    page = dump(run_url)
    assert "REFRESH(2 sec)" in page
    assert run["status"] == "running" and "Running" in page

    # Press Stop on the run's page: a plain form post, answered 303 back to the page.
    run_session(run_url, [*keys_to_go_to(number_of(page, "Stop")), "^J"])
    stopping = text_server.run(run["id"])
    assert stopping["status"] in ("stopping", "stopped") and stopping["stopRequestedAt"], "the Stop post was taken"

    # Refreshing the page, as its refresh link does, shows the run through to its end.
    final = poll_until(lambda: (lambda text: text if "Stopped" in text else None)(dump(run_url)))
    assert "BUTTON) Stopping" not in final, "Stop is no longer Stopping…"
    assert "REFRESH(" not in final, "a finished run's page stops refreshing"
    assert text_server.run(run["id"])["status"] == "stopped"


def test_w3m_reads_the_pages_to_the_end(text_server):
    """w3m, the other text-mode browser, speaks HTTP/1.0 without keep-alive: it only shows
    a page once the server closes the connection after it."""
    run_id = text_server.start_run("headline", {"summary": "owls at dusk"})
    page = subprocess.run(["/usr/bin/w3m", "-dump", f"{text_server.base}/runs/{run_id}"],
                          capture_output=True, text=True, timeout=60)
    assert page.returncode == 0, page.stderr
    assert "Run of headline" in page.stdout and "owls at dusk" in page.stdout
