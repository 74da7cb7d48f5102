"""Request authentication: Bearer access token -> the user, read from the database.

The user's row (role, active flag) is kept per worker for USER_CACHE_S seconds: one
indexed query per request was a third of the time of a request served from Redis
(bench/bench_api.py). A change made through the API (PATCH /users/{id}) drops the entry in
the worker that made it; other workers see it within USER_CACHE_S. A token revoked at
logout is refused at once everywhere (the revocation list is read on every request).
"""

from __future__ import annotations

import threading
from functools import wraps

from cachetools import TTLCache
from flask import current_app, g, request

from abbanoa.auth import AuthError, Forbidden, role_allows, tokens
from abbanoa.repository import NotFound, ops


def settings():
    return current_app.config["ABBANOA_SETTINGS"]


def engine():
    return current_app.config["ABBANOA_ENGINE"]


def cache():
    return current_app.config["ABBANOA_CACHE"]


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


def init_app(app) -> None:
    app.extensions["abbanoa_users"] = UserCache()


def user_cache() -> UserCache:
    return current_app.extensions["abbanoa_users"]


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("missing bearer token")
    return token.strip()


def authenticate() -> dict:
    """The current user (role and active flag from the database, at most USER_CACHE_S old;
    not only the token's claims)."""
    claims = tokens.decode(settings(), bearer_token(), "access")
    user = user_cache().get(claims["tenant"], claims["uid"])
    if user is None:
        with engine().connect() as conn:
            try:
                user = ops.get_user(conn, claims["tenant"], claims["uid"])
            except NotFound:
                raise AuthError("user no longer exists") from None
        user_cache().put(claims["tenant"], claims["uid"], user)
    if not user["active"] or user["username"] != claims["sub"]:
        raise AuthError("user disabled")
    g.claims = claims
    g.user = dict(user)  # the request's own copy: the cached row stays as read
    return g.user


def require(role: str):
    """Decorator: authenticate, then require `role` or higher (403 otherwise)."""

    def decorator(fn):
        @wraps(fn)
        def wrapper(*args, **kwargs):
            user = authenticate()
            if not role_allows(user["role"], role):
                raise Forbidden(f"requires role {role}")
            return fn(*args, **kwargs)

        return wrapper

    return decorator


def tenant() -> str:
    return g.user["tenant_id"]
