"""A fault-injecting HTTP proxy for tests: forwards to a real OpenAI-compatible server, except
for the requests a schedule picks, which get a 429, a 500, a stall past the client's time-out,
a connection reset (TCP RST, nothing answered) or a garbage body. It counts and records every
request. (A test double for the network, not for the server: the replies that go through are
the real server's.)"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAULTS = ("ok", "429", "500", "stall", "garbage", "truncated", "reset")


def _sse(text: str) -> bytes:
    """A streamed chat completion carrying ``text`` (in two chunks) and usage."""
    half = len(text) // 2
    chunks = [{"choices": [{"index": 0, "delta": {"content": part}}]}
              for part in (text[:half], text[half:])]
    chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
                   "usage": {"prompt_tokens": 1, "completion_tokens": 1}})
    return b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + \
        b"data: [DONE]\n\n"


class FaultProxy:
    def __init__(self, upstream: str, schedule: Callable[[int], str] | None = None,
                 stall_s: float = 3.0, delay_s: float = 0.0,
                 script: Callable[[dict], str] | None = None) -> None:
        self.upstream = upstream.rstrip("/")
        self.schedule = schedule or (lambda i: "ok")
        self.stall_s = stall_s
        self.delay_s = delay_s
        self.script = script  # when set: the real server answers, then its text is replaced
        self.requests: list[dict] = []  # {"n", "fault", "body"}
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):  # quiet
                pass

            def finish(self):  # after a reset the socket is gone
                try:
                    super().finish()
                except OSError:
                    pass

            def do_POST(self):
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                with proxy.lock:
                    n = len(proxy.requests)
                    fault = proxy.schedule(n)
                    proxy.requests.append({"n": n, "fault": fault,
                                           "body": json.loads(body or b"{}"),
                                           "auth": self.headers.get("authorization"),
                                           "t": time.monotonic()})
                if fault == "429":
                    return self._send(429, b'{"error": {"message": "rate limited"}}',
                                      extra={"retry-after": "0"})
                if fault == "500":
                    return self._send(500, b'{"error": {"message": "boom"}}')
                if fault == "stall":
                    time.sleep(proxy.stall_s)
                    return self._send(504, b'{"error": {"message": "stalled"}}')
                if fault == "reset":  # RST: the client sees "connection reset by peer"
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                               struct.pack("ii", 1, 0))
                    self.close_connection = True
                    self.connection.close()
                    return
                if fault == "garbage":
                    return self._send(200, b"data: {this is not json\n\n",
                                      ctype="text/event-stream")
                time.sleep(proxy.delay_s)
                req = urllib.request.Request(proxy.upstream + self.path, data=body,
                                             headers={"content-type": "application/json"})
                try:
                    with urllib.request.urlopen(req, timeout=120) as r:
                        data, status = r.read(), r.status
                        ctype = r.headers.get("content-type", "application/json")
                except urllib.error.HTTPError as e:
                    data, status, ctype = e.read(), e.code, "application/json"
                if fault == "truncated":  # the stream stops before its finish reason
                    data = data.split(b"\n\n")[0] + b"\n\n"
                elif proxy.script is not None and status == 200:
                    data = _sse(proxy.script(json.loads(body)))
                self._send(status, data, ctype=ctype)
                proxy.requests[n]["answered"] = time.monotonic()  # when the reply went out

            def _send(self, status, data, ctype="application/json", extra=None):
                self.send_response(status)
                self.send_header("content-type", ctype)
                self.send_header("content-length", str(len(data)))
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
