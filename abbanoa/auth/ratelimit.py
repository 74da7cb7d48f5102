"""Login rate limits: Redis counters, an in-process fallback when Redis is down.

Three limits, each checked before the password is verified (a limited login is refused
even with the right password):

- per username + client address: MAX_FAILURES failures per WINDOW_S (a success clears it);
- per account (tenant + username, from any address): from ACCOUNT_FREE failures on, each
  further attempt waits a backoff that doubles per failure (ACCOUNT_BASE_S ... ACCOUNT_MAX_S),
  so a password guessed from many addresses is slowed without locking the owner out for long;
- per client address across usernames: ADDRESS_MAX_FAILURES per WINDOW_S (password spraying).

The address is the WSGI remote address: the socket's peer, or the client that the trusted
proxies named (TRUSTED_PROXY_HOPS; a client's own X-Forwarded-For is ignored by default).
When Redis is down each process counts on its own (the limits hold per worker).
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
ACCOUNT_FREE = 10
ACCOUNT_BASE_S = 30
ACCOUNT_MAX_S = 900
ACCOUNT_WINDOW_S = 3600
ADDRESS_MAX_FAILURES = 20

KEY = "ratelimit:login:{username}:{address}"
ACCOUNT_KEY = "ratelimit:account:{tenant}:{username}"
ADDRESS_KEY = "ratelimit:address:{address}"

_local: dict[str, tuple[int, float, float]] = {}  # key -> (failures, last failure, window end)
_lock = threading.Lock()


def _keys(settings: Settings, tenant: str, username: str, address: str) -> dict[str, tuple[str, int]]:
    """limit name -> (Redis key, window in seconds)."""
    name, prefix = username.lower()[:64], settings.redis_key_prefix
    return {
        "pair": (prefix + KEY.format(username=f"{tenant[:64]}/{name}", address=address), WINDOW_S),
        "account": (prefix + ACCOUNT_KEY.format(tenant=tenant[:64], username=name), ACCOUNT_WINDOW_S),
        "address": (prefix + ADDRESS_KEY.format(address=address), WINDOW_S),
    }


def account_backoff_s(failures: int) -> int:
    """Seconds an account waits after `failures` failed logins (0 below ACCOUNT_FREE)."""
    if failures < ACCOUNT_FREE:
        return 0
    return min(ACCOUNT_MAX_S, ACCOUNT_BASE_S * 2 ** min(failures - ACCOUNT_FREE, 10))


def _read(settings: Settings, keys: dict[str, tuple[str, int]]) -> dict[str, tuple[int, float, int]]:
    """name -> (failures, last failure epoch, seconds left in the window)."""
    try:
        pipe = redis_client(settings).pipeline(transaction=False)
        for key, _ in keys.values():
            pipe.hmget(key, "n", "last")
            pipe.ttl(key)
        answers = pipe.execute()
        out = {}
        for i, name in enumerate(keys):
            (n, last), ttl = answers[2 * i], answers[2 * i + 1]
            out[name] = (int(n or 0), float(last or 0), int(ttl or 0))
        return out
    except redis.RedisError as exc:
        redis_failed(settings, exc)
        now = time.time()
        with _lock:
            out = {}
            for name, (key, _) in keys.items():
                n, last, until = _local.get(key, (0, 0.0, 0.0))
                out[name] = (n, last, int(until - now)) if until > now else (0, 0.0, 0)
            return out


def check(settings: Settings, tenant: str, username: str, address: str) -> None:
    """Raise RateLimited when any of the three limits is used up."""
    state = _read(settings, _keys(settings, tenant, username, address))
    now = time.time()
    failures, _, ttl = state["pair"]
    if failures >= MAX_FAILURES:
        raise RateLimited("too many failed logins; try again later", max(1, ttl or WINDOW_S))
    failures, last, _ = state["account"]
    wait = int(last + account_backoff_s(failures) - now) + 1
    if account_backoff_s(failures) and wait > 0:
        raise RateLimited("too many failed logins for this account; try again later", wait)
    failures, _, ttl = state["address"]
    if failures >= ADDRESS_MAX_FAILURES:
        raise RateLimited("too many failed logins from this address; try again later", max(1, ttl or WINDOW_S))


def failed(settings: Settings, tenant: str, username: str, address: str) -> None:
    keys = _keys(settings, tenant, username, address)
    now = time.time()
    try:
        pipe = redis_client(settings).pipeline()
        for key, window in keys.values():
            pipe.hincrby(key, "n", 1)
            pipe.hset(key, "last", now)
            pipe.expire(key, window, nx=True)
        pipe.execute()
    except redis.RedisError as exc:
        redis_failed(settings, exc)
        log.warning("login rate limit counted in this process only: %s", exc)
        with _lock:
            for key, window in keys.values():
                n, _, until = _local.get(key, (0, 0.0, 0.0))
                if until < now:
                    n, until = 0, now + window
                _local[key] = (n + 1, now, until)


def succeeded(settings: Settings, tenant: str, username: str, address: str) -> None:
    """The right password: clear this pair's and this account's counters (not the address's)."""
    keys = _keys(settings, tenant, username, address)
    cleared = [keys["pair"][0], keys["account"][0]]
    with _lock:
        for key in cleared:
            _local.pop(key, None)
    with contextlib.suppress(redis.RedisError):
        redis_client(settings).delete(*cleared)
