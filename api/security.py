"""Request authentication: Bearer access token -> the user, read from the database
through abbanoa.auth.users.token_user (the same check the dashboard's hybrid mode makes;
the row is kept per worker for USER_CACHE_S seconds). A token revoked at logout is refused
at once everywhere (the revocation list is read on every request).

A view may name the Redis keys it will read (`prefetch`): they are read in the same
pipelined round trip as the revocation check, and served to the view by `cached()` only
once the user, its role and the revocation have been checked.
"""

from __future__ import annotations

import json
from functools import wraps

from flask import current_app, g, request

from abbanoa.auth import AuthError, Forbidden, role_allows, tokens
from abbanoa.auth.users import USER_CACHE_S, UserCache, token_user


def settings():
    return current_app.config["ABBANOA_SETTINGS"]


def engine():
    return current_app.config["ABBANOA_ENGINE"]


def cache():
    return current_app.config["ABBANOA_CACHE"]


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


def authenticate(fetch=None) -> dict:
    """The current user (role and active flag from the database, at most USER_CACHE_S old;
    not only the token's claims). `fetch(claims)`: Redis keys to read with the revocation check."""
    g.pop("prefetched", None)
    claims, fetched = tokens.decode_and_get(settings(), bearer_token(), "access", fetch)
    g.claims = claims
    g.user = token_user(engine().connect, user_cache(), claims)  # the request's own copy
    g.fetched = fetched  # for require(): handed to the view only after the role check
    return g.user


def prefetch(keys):
    """View decorator (below @route): `keys(claims)` -> the full Redis keys the view reads
    through `cached()`; they come with the revocation check, one round trip in all."""

    def decorator(fn):
        fn.redis_prefetch = keys
        return fn

    return decorator


class _Prefetched:
    """The app's cache, answering `get_json` from the request's prefetched values first."""

    def __init__(self, cache, values: dict[str, str]):
        self._cache = cache
        self._values = values

    def key(self, pattern: str, **parts) -> str:
        return self._cache.key(pattern, **parts)

    def get_json(self, key: str):
        if key in self._values:
            raw = self._values[key]
            return None if raw is None else json.loads(raw)
        return self._cache.get_json(key)

    def __getattr__(self, name):
        return getattr(self._cache, name)


def cached():
    """The cache for a view: the prefetched keys of this request without a further round trip."""
    values = g.get("prefetched")
    return _Prefetched(cache(), values) if values else cache()


def require(role: str):
    """Decorator: authenticate, then require `role` or higher (403 otherwise)."""

    def decorator(fn):
        fetch = getattr(fn, "redis_prefetch", None)

        @wraps(fn)
        def wrapper(*args, **kwargs):
            g.pop("prefetched", None)
            user = authenticate(fetch)
            if not role_allows(user["role"], role):
                raise Forbidden(f"requires role {role}")
            if fetch is not None:
                g.prefetched = g.pop("fetched", {})
            return fn(*args, **kwargs)

        return wrapper

    return decorator


def tenant() -> str:
    return g.user["tenant_id"]


__all__ = ["USER_CACHE_S", "UserCache", "authenticate", "cached", "prefetch", "require", "tenant"]
