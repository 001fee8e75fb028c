#!/usr/bin/env python3
# Process start → first 200 on /healthz, median of 7 starts on fresh data folders:
#   python3 scripts/startup-time.py .build/release/tether
import subprocess, time, socket, tempfile, os, sys, statistics, http.client
binary = sys.argv[1]
times = []
for i in range(7):
    d = tempfile.mkdtemp()
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    env = dict(os.environ, TETHER_DATA_DIR=d, TETHER_PORT=str(port), TETHER_HOST="127.0.0.1")
    t0 = time.perf_counter()
    p = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = t0 + 20
    while time.perf_counter() < deadline:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            c.request("GET", "/healthz"); r = c.getresponse()
            if r.status == 200: break
        except OSError:
            pass
    times.append(time.perf_counter() - t0)
    p.terminate(); p.wait()
print("start to first 200 on /healthz: median %.3f s, min %.3f, max %.3f (7 starts)" % (statistics.median(times), min(times), max(times)))
