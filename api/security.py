"""Request authentication: Bearer access token -> the user, read from the database
through abbanoa.auth.users.token_user (the same check the dashboard's hybrid mode makes;
the row is kept per worker for USER_CACHE_S seconds). A token revoked at logout is refused
at once everywhere (the revocation list is read on every request).
"""

from __future__ import annotations

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


def authenticate() -> dict:
    """The current user (role and active flag from the database, at most USER_CACHE_S old;
    not only the token's claims)."""
    claims = tokens.decode(settings(), bearer_token(), "access")
    g.claims = claims
    g.user = token_user(engine().connect, user_cache(), claims)  # the request's own copy
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


__all__ = ["USER_CACHE_S", "UserCache", "authenticate", "require", "tenant"]
