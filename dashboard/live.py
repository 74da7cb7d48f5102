"""Live alerts for open dashboards, pushed by the API's server-sent-events stream.

One reader thread per (API, tenant) in the dashboard's process holds one connection to
`GET /api/v1/events/stream` (Redis pub/sub behind it) and keeps what arrives; every open
session of that tenant takes, from its fragment, the alerts after the last one it showed.
One connection per tenant and process, not per session: each open stream holds one of the
API's worker threads.

The reader borrows the token of a session that looked recently (a session stops lending
its token when it has not looked for STALE_S, or the API refused it); with no session left it
stops. After a dropped connection it reconnects with Last-Event-ID, and the API replays what
was missed from PostgreSQL. No Streamlit here: dashboard/app.py shows what this collects.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

import requests

log = logging.getLogger(__name__)
STREAM_PATH = "/api/v1/events/stream"
STALE_S = 60.0  # a session that has not looked for this long lends its token no more
RECONNECT_S = 3.0  # wait before reconnecting after an error (the stream's own `retry:`)
READ_TIMEOUT_S = 40.0  # the API sends a keep-alive every 15 s: silence this long is a dead link
KEEP = 500  # alerts kept per tenant for sessions to catch up on


def parse(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """The `alert` events of a text/event-stream, as their JSON data with `alert_id` (the
    event id). Comments (keep-alives) and `retry:` are skipped."""
    event: dict[str, str] = {}
    for line in lines:
        if line is None:
            continue
        if line == "":
            if event.get("data") and event.get("event", "message") == "alert":
                body = json.loads(event["data"])
                if event.get("id", "").isdigit():
                    body.setdefault("alert_id", int(event["id"]))
                yield body
            event = {}
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "data":
                event["data"] = event["data"] + "\n" + value if "data" in event else value
            elif field in ("id", "event"):
                event[field] = value


class Relay:
    """The tenant's live alerts as the stream delivers them; see the module docstring."""

    def __init__(self, api_url: str, tenant: str, after: int | None = None):
        self.url = api_url.rstrip("/") + STREAM_PATH
        self.tenant = tenant
        self._lock = threading.Lock()
        self._events: deque[dict[str, Any]] = deque(maxlen=KEEP)
        self._lenders: dict[str, tuple[str, float]] = {}  # session -> (token, when it last looked)
        self._refused: set[str] = set()
        self._last_id = after
        self._thread: threading.Thread | None = None
        self.connected = False
        self.error: str | None = None

    def look(self, session: str, token: str) -> None:
        """A session is looking (and lends its token); the reader starts if it is not running."""
        with self._lock:
            self._lenders[session] = (token, time.monotonic())
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=f"live-{self.tenant}", daemon=True)
                self._thread.start()

    def leave(self, session: str) -> None:
        with self._lock:
            self._lenders.pop(session, None)

    def since(self, after: int) -> list[dict[str, Any]]:
        """The alerts kept with an id after `after`, oldest first."""
        with self._lock:
            return [e for e in self._events if e["alert_id"] > after]

    def _token(self) -> str | None:
        now = time.monotonic()
        with self._lock:
            for session, (_, seen) in list(self._lenders.items()):
                if now - seen > STALE_S:
                    del self._lenders[session]
            live = [(seen, token) for token, seen in self._lenders.values() if token not in self._refused]
        return max(live)[1] if live else None

    def _run(self) -> None:
        while (token := self._token()) is not None:
            try:
                self._read(token)  # returns when the API ends the stream (every 5 minutes)
                self.connected = False
            except Refused:
                with self._lock:
                    self._refused.add(token)
            except (requests.RequestException, ValueError) as exc:
                self.connected, self.error = False, f"{type(exc).__name__}: {exc}"
                log.warning("live stream of %s: %s; reconnecting", self.tenant, self.error)
                time.sleep(RECONNECT_S)
        self.connected = False
        with self._lock:
            self._thread = None

    def _read(self, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        if self._last_id is not None:
            headers["Last-Event-ID"] = str(self._last_id)
        with requests.get(self.url, headers=headers, stream=True, timeout=(5.0, READ_TIMEOUT_S)) as response:
            if response.status_code in (401, 403):
                raise Refused(response.status_code)
            response.raise_for_status()
            self.connected, self.error = True, None
            for event in parse(self._while_looked(response.iter_lines(decode_unicode=True))):
                with self._lock:
                    if self._last_id is None or event["alert_id"] > self._last_id:
                        self._events.append(event)
                        self._last_id = event["alert_id"]

    def _while_looked(self, lines: Iterable[str]) -> Iterator[str]:
        """The stream's lines while a session still looks (checked at each line: the
        keep-alives come every 15 s), so an unwatched tenant's connection is closed."""
        for line in lines:
            yield line
            if self._token() is None:
                return


class Refused(Exception):
    """The API refused the borrowed token (expired, revoked): another session's is tried."""


_relays: dict[tuple[str, str], Relay] = {}
_relays_lock = threading.Lock()


def relay(api_url: str, tenant: str, after: int | None) -> Relay:
    """The process's relay for this API and tenant, made on first use (replaying after `after`)."""
    with _relays_lock:
        key = (api_url, tenant)
        if key not in _relays:
            _relays[key] = Relay(api_url, tenant, after)
        return _relays[key]
