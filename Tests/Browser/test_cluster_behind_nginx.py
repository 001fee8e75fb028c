"""Three `tether serve` instances on one PostgreSQL database behind nginx, configured with
deploy/nginx.conf (the README's), driven in Chromium: a run started through the proxy is
watched live, stopped through an instance other than the one executing it, and ends gray.

The database comes from the throwaway cluster of scripts/with-postgres (the README's test
command starts it); without one these tests are skipped, unless TETHER_REQUIRE_POSTGRES=1."""
import json
import os
import urllib.request

import pytest
from selenium.webdriver.common.by import By

from cluster import CLUSTER_URL, Nginx, fresh_database
from conftest import STOPPING, TetherServer, wait
from screen import chip_status, is_disabled, log_seqs, mark_page, page_was_not_reloaded, start_from_form, stop_button

TOKEN = "cluster-browser-token"

pytestmark = pytest.mark.skipif(
    not CLUSTER_URL and os.environ.get("TETHER_REQUIRE_POSTGRES") != "1",
    reason="needs PostgreSQL: run through scripts/with-postgres")


def api(base, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Authorization", f"Bearer {TOKEN}")
    if body is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, json.load(response)


@pytest.fixture(scope="module")
def cluster():
    database = fresh_database()
    instances = []
    nginx = None
    try:
        for name in ("one", "two", "three"):
            instances.append(TetherServer(latency_ms=700, grace_seconds=30, extra=(
                "--database-url", database, "--instance-id", name, "--api-token", TOKEN)))
        nginx = Nginx([instance.port for instance in instances])
        yield nginx, instances
    finally:
        if nginx:
            nginx.stop()
        for instance in instances:
            instance.stop()


def log_in(browser, base):
    browser.get(base + "/login")
    browser.find_element(By.ID, "login-token").send_keys(TOKEN)
    browser.find_element(By.ID, "login-button").click()
    wait(browser, lambda d: "/login" not in d.current_url, message="logged in")


def test_a_run_through_the_proxy_is_watched_live_and_stopped_through_another_instance(cluster, browser):
    nginx, instances = cluster
    status, health = api(nginx.base, "GET", "/healthz")
    assert status == 200 and health["database"] == {"kind": "postgres", "ok": True}

    log_in(browser, nginx.base)
    run_id = start_from_form(browser, nginx.base, "report", {"topic": "urban beekeeping", "audience": "city councillors"})
    mark_page(browser)
    first = len(log_seqs(browser))
    wait(browser, lambda d: len(log_seqs(d)) >= first + 3, message="the log grows live through the proxy")

    executor = api(nginx.base, "GET", f"/runs/{run_id}")[1]["instance"]
    other = next(i for i, name in zip(instances, ("one", "two", "three")) if name != executor)
    status, stopping = api(other.base, "POST", f"/runs/{run_id}/stop")
    assert status == 202 and stopping["status"] == "stopping"

    wait(browser, lambda d: stop_button(d).text == STOPPING, message="the page shows Stopping…")
    wait(browser, lambda d: chip_status(d) == "stopped", message="the run ends stopped")
    assert page_was_not_reloaded(browser), "live through the proxy, without a reload"
    final = api(nginx.base, "GET", f"/runs/{run_id}")[1]
    assert final["status"] == "stopped" and final["instance"] == executor
    wait(browser, lambda d: log_seqs(d) == list(range(1, len(final["events"]) + 1)),
         message="every event once, in order")


def test_the_form_posts_work_through_the_proxy_without_javascript(cluster, browser_without_javascript):
    nginx, _ = cluster
    browser = browser_without_javascript
    log_in(browser, nginx.base)
    run_id = start_from_form(browser, nginx.base, "report", {"topic": "bees", "audience": "pupils"})
    wait(browser, lambda d: chip_status(d) == "running" and not is_disabled(stop_button(d)), message="Stop is enabled")
    # The Stop form posts through nginx: its Host and Origin pass the cross-site checks.
    wait(browser, lambda d: stop_button(d).click() or True)
    wait(browser, lambda d: chip_status(d) in ("stopping", "stopped"), message="the stop was taken")
    wait(browser, lambda d: chip_status(d) == "stopped", timeout=90, message="the refreshing page shows the end")
    assert api(nginx.base, "GET", f"/runs/{run_id}")[1]["status"] == "stopped"
