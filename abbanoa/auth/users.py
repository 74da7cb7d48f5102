"""The user behind a token, as every data path checks it: the API's requests and the
dashboard's hybrid mode go through `token_user`, so a user disabled, demoted, moved or whose
password changed is refused everywhere within USER_CACHE_S seconds.

The user's row (role, active flag, tokens_valid_after) is kept per process for USER_CACHE_S
seconds: one indexed query per request was a third of the time of a request served from
Redis (bench/bench_api.py). A change made through the API drops the entry in the process that
made it; other processes see it within USER_CACHE_S.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from cachetools import TTLCache

from abbanoa.auth import AuthError

USER_CACHE_S = 10.0


class UserCache:
    """(tenant, user_id) -> the user's row, for `ttl` seconds; thread-safe (gthread workers)."""

    def __init__(self, ttl: float = USER_CACHE_S, maxsize: int = 10_000):
        self._rows: TTLCache = TTLCache(maxsize=maxsize, ttl=ttl)
        self._lock = threading.Lock()

    def get(self, tenant_id: str, user_id: int) -> dict | None:
        with self._lock:
            return self._rows.get((tenant_id, user_id))

    def put(self, tenant_id: str, user_id: int, user: dict) -> None:
        with self._lock:
            self._rows[(tenant_id, user_id)] = user

    def forget(self, tenant_id: str, user_id: int) -> None:
        with self._lock:
            self._rows.pop((tenant_id, user_id), None)


def token_user(connect: Callable, cache: UserCache, claims: dict[str, Any]) -> dict[str, Any]:
    """The current row of the token's user (at most the cache's TTL old); AuthError when the
    user is gone, disabled, renamed, or the token predates a password change."""
    from abbanoa.repository import NotFound, ops

    user = cache.get(claims["tenant"], claims["uid"])
    if user is None:
        with connect() as conn:
            try:
                user = ops.auth_user(conn, claims["tenant"], claims["uid"])
            except NotFound:
                raise AuthError("user no longer exists") from None
        cache.put(claims["tenant"], claims["uid"], user)
    if not user["active"] or user["username"] != claims["sub"]:
        raise AuthError("user disabled")
    after = user.get("tokens_valid_after")
    issued = claims.get("iat_us", claims["iat"] * 1_000_000) / 1_000_000
    if after is not None and issued < after:
        raise AuthError("session ended by a password change")
    return {k: v for k, v in user.items() if k != "tokens_valid_after"}
