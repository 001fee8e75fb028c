"""Browser tests of the Runs screen: headless Chromium (Debian's chromium and
chromium-driver) driven by Selenium, against a real `tether serve`.

Each server is started here on a free loopback port with a temporary data directory and
the simulated LLM, and stopped whatever happens (the fixture's finalizer)."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import urllib.request
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parents[2]
BINARY = ROOT / ".build" / "debug" / "tether"
SCREENSHOTS = ROOT / "Tests" / "Browser" / "screenshots"
STOPPING = "Stopping\u2026 (after current LLM call completes)"

# A test-only agent that fails, for the failed state (each over a number is refused at run time).
BROKEN = {
    "name": "broken",
    "description": "Fails on purpose: the browser tests need a failed run.",
    "input": {"count": "number"},
    "steps": [{"each": "input.count", "as": "item", "do": [{"log": "{{item}}"}]}],
}

os.environ.setdefault("SE_OFFLINE", "true")


class TetherServer:
    """`tether serve` in a subprocess, announced port parsed from its log."""

    def __init__(self, latency_ms, grace_seconds, extra=()):
        if not BINARY.exists():
            raise RuntimeError(f"{BINARY} is missing: build first (swift build --build-tests)")
        self.data = tempfile.mkdtemp(prefix="tether-browser-data-")
        self.agents = tempfile.mkdtemp(prefix="tether-browser-agents-")
        for definition in (ROOT / "Agents").glob("*.json"):
            shutil.copy(definition, self.agents)
        Path(self.agents, "broken.json").write_text(json.dumps(BROKEN))
        self.process = subprocess.Popen(
            [str(BINARY), "serve", "--port", "0", "--data-dir", self.data, "--agents-dir", self.agents,
             "--simulated-latency-ms", str(latency_ms), "--stop-grace-seconds", str(grace_seconds), *extra],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.log = []
        announced = threading.Event()
        self.port = None

        def read():
            for line in self.process.stdout:
                self.log.append(line)
                match = re.search(r"Tether is serving on http://127\.0\.0\.1:(\d+)", line)
                if match and self.port is None:
                    self.port = int(match.group(1))
                    announced.set()
            announced.set()

        threading.Thread(target=read, daemon=True).start()
        if not announced.wait(60) or self.port is None:
            self.stop()
            raise RuntimeError("tether did not start:\n" + "".join(self.log))
        self.base = f"http://127.0.0.1:{self.port}"

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        shutil.rmtree(self.data, ignore_errors=True)
        shutil.rmtree(self.agents, ignore_errors=True)

    # The JSON API, for setting up and checking.
    def api(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if body is not None:
            request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)

    def start_run(self, agent, run_input):
        return self.api("POST", "/runs", {"agent": agent, "input": run_input})["runId"]

    def run(self, run_id):
        return self.api("GET", f"/runs/{run_id}")


class ClusterBehindNginx(TetherServer):
    """Three instances on one PostgreSQL database behind nginx (Tests/Browser/cluster.py),
    used as one server: its base is nginx's, and its API calls go through nginx too."""

    def __init__(self, latency_ms, grace_seconds, extra=()):
        from cluster import Nginx, fresh_database
        database = fresh_database()
        self.instances = []
        try:
            for n in (1, 2, 3):
                self.instances.append(TetherServer(latency_ms, grace_seconds, extra=(
                    *extra, "--database-url", database, "--instance-id", f"browser-{n}")))
            self.nginx = Nginx([instance.port for instance in self.instances])
        except Exception:
            for instance in self.instances:
                instance.stop()
            raise
        self.port = self.nginx.port
        self.base = self.nginx.base
        self.log = self.instances[0].log

    def stop(self):
        self.nginx.stop()
        for instance in self.instances:
            instance.stop()


# TETHER_BROWSER_BEHIND_NGINX=1 (the README's test command sets it for a second pass of the
# screen's tests) serves them from three instances behind nginx instead of one process.
Served = ClusterBehindNginx if os.environ.get("TETHER_BROWSER_BEHIND_NGINX") == "1" else TetherServer


@pytest.fixture(scope="session")
def server():
    """A server whose simulated LLM answers in 0.7 s: runs move along visibly."""
    tether = Served(latency_ms=700, grace_seconds=30)
    yield tether
    tether.stop()


@pytest.fixture(scope="session")
def slow_server():
    """A server whose LLM takes 4 s and offers Force stop after 2 s in stopping: the
    stopping and force-offered states last long enough to look at."""
    tether = Served(latency_ms=4000, grace_seconds=2)
    yield tether
    tether.stop()


@pytest.fixture(scope="session")
def token_server():
    """A server that asks for its API token (its login page)."""
    tether = TetherServer(latency_ms=700, grace_seconds=30, extra=("--api-token", "browser-test-token"))
    yield tether
    tether.stop()


def make_driver(javascript=True, width=1280, height=900):
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     f"--window-size={width},{height}", "--force-device-scale-factor=1"):
        options.add_argument(argument)
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


@pytest.fixture
def browser():
    driver = make_driver(javascript=True)
    yield driver
    driver.quit()


@pytest.fixture
def browser_without_javascript():
    driver = make_driver(javascript=False)
    yield driver
    driver.quit()


def wait(driver, condition, timeout=60, message=""):
    """Waits on a condition of the page; the timeout is only a fail-safe. A page that
    refreshes itself (no JavaScript) can swap elements mid-read, which ChromeDriver reports
    as a stale element or as an "inspector" error about a context that went away: both
    mean "read again". Any other error is raised."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, WebDriverException

    def guarded(driver):
        try:
            return condition(driver)
        except (NoSuchElementException, StaleElementReferenceException):
            return False
        except WebDriverException as error:
            text = str(error).lower()
            if "inspector" in text or "context" in text or "target frame detached" in text:
                return False
            raise

    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(guarded, message)
