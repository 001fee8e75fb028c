"""Tether as several instances behind nginx, for the browser tests: three `tether serve`
processes on one PostgreSQL database (from the throwaway cluster of scripts/with-postgres)
and nginx with deploy/nginx.conf, the README's configuration, its ports swapped for free
ones."""
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CLUSTER_URL = os.environ.get("TETHER_TEST_DATABASE_URL")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh_database():
    """A new empty database on the test cluster; its URL."""
    assert CLUSTER_URL, "TETHER_TEST_DATABASE_URL is not set: run through scripts/with-postgres"
    name = "tether_browser_" + uuid.uuid4().hex
    subprocess.run(["psql", CLUSTER_URL, "-qc", f"CREATE DATABASE {name}"], check=True)
    return re.sub(r"/postgres\?", f"/{name}?", CLUSTER_URL)


class Nginx:
    """nginx from Debian's package with deploy/nginx.conf, its ports swapped for the test's."""

    def __init__(self, upstream_ports):
        self.prefix = tempfile.mkdtemp(prefix="tether-nginx-")
        # Run as root, nginx's workers are `nobody`: they write their temporary files here.
        os.chmod(self.prefix, 0o755)
        os.makedirs(os.path.join(self.prefix, "logs"))
        config = (ROOT / "deploy" / "nginx.conf").read_text()
        for default, port in zip(("8081", "8082", "8083"), upstream_ports):
            config, count = re.subn(rf"server 127\.0\.0\.1:{default};", f"server 127.0.0.1:{port};", config)
            assert count == 1, f"the upstream on {default} is in the README's configuration"
        self.port = free_port()
        config, count = re.subn(r"listen 127\.0\.0\.1:8080;", f"listen 127.0.0.1:{self.port};", config)
        assert count == 1
        path = os.path.join(self.prefix, "nginx.conf")
        Path(path).write_text(config)
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        self.process = subprocess.Popen([binary, "-p", self.prefix, "-c", path, "-g", "daemon off;"],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.base = f"http://127.0.0.1:{self.port}"
        # Ready once it answers; the loop ends by itself.
        for _ in range(300):
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError("nginx did not start: " + self.process.stdout.read())
                time.sleep(0.05)
        raise RuntimeError("nginx did not answer")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.prefix, ignore_errors=True)
