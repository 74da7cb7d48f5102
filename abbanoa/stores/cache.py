"""Redis (Memorystore) as a cache: JSON values, every key with a TTL, never the only copy.

When Redis is down every call degrades to a miss (reads) or a no-op (writes) and
the caller answers from PostgreSQL; `available()` tells whether it answered.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import redis

from abbanoa.settings import Settings, get_settings

log = logging.getLogger(__name__)

# Key patterns of the original system (DESIGN.md, "Stores"); system metrics carry the
# tenant, so one tenant's figures can never be served to another.
SYSTEM_METRICS = "system:metrics:{tenant_id}:{time_range}"
NODE_LATEST = "node:{node_id}:latest"
FORECAST = "cache:forecast:{node_id}:{metric}"
EFFICIENCY_SUMMARY = "efficiency:summary:{tenant_id}"

DEFAULT_TTL_S = 3600
_clients: dict[str, redis.Redis] = {}
# After a failure, skip Redis for a short while instead of waiting on every call.
_down_until: dict[str, float] = {}
_RETRY_AFTER_S = 5.0


def client(settings: Settings | None = None) -> redis.Redis:
    settings = settings or get_settings()
    if settings.redis_url not in _clients:
        _clients[settings.redis_url] = redis.Redis.from_url(
            settings.redis_url,
            socket_connect_timeout=0.5,
            socket_timeout=1.0,
            decode_responses=True,
        )
    return _clients[settings.redis_url]


def reset_clients() -> None:
    for c in _clients.values():
        c.close()
    _clients.clear()
    _down_until.clear()


class Cache:
    """JSON get/set with TTL and a key prefix; failures are logged and turned into misses."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or get_settings()
        self.prefix = self.settings.redis_key_prefix

    def key(self, pattern: str, **parts: Any) -> str:
        return self.prefix + pattern.format(**parts)

    @property
    def _redis(self) -> redis.Redis:
        return client(self.settings)

    def _usable(self) -> bool:
        return time.monotonic() >= _down_until.get(self.settings.redis_url, 0.0)

    def _failed(self, exc: Exception) -> None:
        _down_until[self.settings.redis_url] = time.monotonic() + _RETRY_AFTER_S
        log.warning("redis unavailable, answering without cache: %s", exc)

    def available(self) -> bool:
        """True when Redis answers a PING now."""
        try:
            ok = bool(self._redis.ping())
            _down_until.pop(self.settings.redis_url, None)
            return ok
        except redis.RedisError as exc:
            self._failed(exc)
            return False

    def get_json(self, key: str) -> Any | None:
        if not self._usable():
            return None
        try:
            raw = self._redis.get(key)
        except redis.RedisError as exc:
            self._failed(exc)
            return None
        return None if raw is None else json.loads(raw)

    def set_json(self, key: str, value: Any, ttl_s: int = DEFAULT_TTL_S) -> bool:
        if ttl_s <= 0:
            raise ValueError("every cache key needs a positive TTL")
        if not self._usable():
            return False
        try:
            self._redis.set(key, json.dumps(value, default=_json_default), ex=ttl_s)
            return True
        except redis.RedisError as exc:
            self._failed(exc)
            return False

    def set_many_json(self, items: dict[str, Any], ttl_s: int = DEFAULT_TTL_S) -> int:
        """Set many keys in one round trip; returns how many were written."""
        if ttl_s <= 0:
            raise ValueError("every cache key needs a positive TTL")
        if not items or not self._usable():
            return 0
        try:
            pipe = self._redis.pipeline(transaction=False)
            for key, value in items.items():
                pipe.set(key, json.dumps(value, default=_json_default), ex=ttl_s)
            pipe.execute()
            return len(items)
        except redis.RedisError as exc:
            self._failed(exc)
            return 0

    def delete(self, *keys: str) -> None:
        if not keys or not self._usable():
            return
        try:
            self._redis.delete(*keys)
        except redis.RedisError as exc:
            self._failed(exc)


def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
