"""Fetching pages as a browser would (HTML, cookies) without one."""
import http.cookiejar
import re
import time
import urllib.parse
import urllib.request


class Session:
    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path):
        request = urllib.request.Request(self.base + path, headers={"Accept": "text/html"})
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def post_form(self, path, fields):
        status, html = self.get("/login" if path == "/login" else "/")
        token = re.search(r'name="csrf" value="([0-9a-f]+)"', html).group(1)
        body = urllib.parse.urlencode(list(fields.items()) + [("csrf", token)]).encode()
        request = urllib.request.Request(self.base + path, data=body, headers={"Accept": "text/html"})
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


def poll_until(condition, timeout=60, interval=0.05):
    """Checks `condition` until it holds; the timeout is only a fail-safe."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")
