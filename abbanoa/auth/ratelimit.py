"""Login rate limiting by username + client address: Redis counter, in-process fallback.

At most MAX_FAILURES failed logins per WINDOW_S; a success clears the counter. When Redis
is down each process counts on its own (so the limit holds per worker).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time

import redis

from abbanoa.auth import RateLimited, redis_client, redis_failed
from abbanoa.settings import Settings

log = logging.getLogger(__name__)

MAX_FAILURES = 5
WINDOW_S = 300
KEY = "ratelimit:login:{username}:{address}"

_local: dict[str, tuple[int, float]] = {}  # key -> (failures, window end)
_lock = threading.Lock()


def _key(settings: Settings, username: str, address: str) -> str:
    return settings.redis_key_prefix + KEY.format(username=username.lower()[:64], address=address)


def check(settings: Settings, username: str, address: str) -> None:
    """Raise RateLimited when this username+address has used up its failures."""
    key = _key(settings, username, address)
    try:
        r = redis_client(settings)
        failures = int(r.get(key) or 0)
        ttl = r.ttl(key)
    except redis.RedisError as exc:
        redis_failed(settings, exc)
        with _lock:
            failures, until = _local.get(key, (0, 0.0))
            if until < time.time():
                failures = 0
            ttl = int(until - time.time())
    if failures >= MAX_FAILURES:
        raise RateLimited("too many failed logins; try again later", max(1, ttl if ttl and ttl > 0 else WINDOW_S))


def failed(settings: Settings, username: str, address: str) -> None:
    key = _key(settings, username, address)
    try:
        r = redis_client(settings)
        pipe = r.pipeline()
        pipe.incr(key)
        pipe.expire(key, WINDOW_S, nx=True)
        pipe.execute()
    except redis.RedisError as exc:
        redis_failed(settings, exc)
        log.warning("login rate limit counted in this process only: %s", exc)
        with _lock:
            failures, until = _local.get(key, (0, 0.0))
            if until < time.time():
                failures, until = 0, time.time() + WINDOW_S
            _local[key] = (failures + 1, until)


def succeeded(settings: Settings, username: str, address: str) -> None:
    key = _key(settings, username, address)
    with _lock:
        _local.pop(key, None)
    with contextlib.suppress(redis.RedisError):
        redis_client(settings).delete(key)
