#!/usr/bin/env python3
"""A slow OpenAI-compatible chat-completions server on 127.0.0.1, for trying stops by hand.

    scripts/slow-llm-server.py --port 9999 --delay 5

Every POST /v1/chat/completions is answered after --delay seconds. Each request's arrival
and the moment its answer was written in full are printed with millisecond times, so a
stop's effect can be read off: the call in flight is answered, and no request follows.
"""
import argparse
import json
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

count = 0
lock = threading.Lock()


def now():
    return datetime.now(timezone.utc).strftime("%H:%M:%S.%f")[:-3]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        global count
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        with lock:
            count += 1
            number = count
        prompt = (body.get("messages") or [{}])[-1].get("content", "")
        print(f"{now()} request {number} arrived: {prompt[:60]!r}", file=sys.stderr, flush=True)
        time.sleep(self.server.delay)
        answer = {
            "id": f"chatcmpl-{number}", "object": "chat.completion", "model": body.get("model", "slow"),
            "choices": [{"index": 0, "message": {"role": "assistant",
                                                 "content": f"Slow answer {number}: one\ntwo\nthree"},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 6, "total_tokens": 16},
        }
        data = json.dumps(answer).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
            print(f"{now()} request {number} answered in full", file=sys.stderr, flush=True)
        except (BrokenPipeError, ConnectionResetError):
            print(f"{now()} request {number} ABORTED by the client", file=sys.stderr, flush=True)

    def log_message(self, *args):
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9999)
    parser.add_argument("--delay", type=float, default=5.0)
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.delay = args.delay
    print(f"slow LLM on http://127.0.0.1:{args.port}/v1, {args.delay} s per answer", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
