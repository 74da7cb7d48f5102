"""Fault-suite helpers: a webhook that counts what it receives, child processes killed
at named stages, stores that fail on purpose (stub servers on loopback)."""

from __future__ import annotations

import http.server
import threading
import time
from collections import Counter

import pytest


class Webhook:
    """A real HTTP server counting POSTs per Idempotency-Key; `delay_s` makes it slow."""

    def __init__(self, delay_s: float = 0.0, status: int = 200):
        self.posts: Counter = Counter()
        self.delay_s = delay_s
        self.status = status
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                hook.posts[self.headers.get("Idempotency-Key")] += 1
                time.sleep(hook.delay_s)
                try:
                    self.send_response(hook.status)
                    self.end_headers()
                except OSError:  # the client gave up waiting
                    pass

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    made = []

    def make(**kwargs) -> Webhook:
        made.append(Webhook(**kwargs))
        return made[-1]

    yield make
    for hook in made:
        hook.close()
