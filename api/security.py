"""Request authentication: Bearer access token -> the user, fresh from the database."""

from __future__ import annotations

from functools import wraps

from flask import current_app, g, request

from abbanoa.auth import AuthError, Forbidden, role_allows, tokens
from abbanoa.repository import NotFound, ops


def settings():
    return current_app.config["ABBANOA_SETTINGS"]


def engine():
    return current_app.config["ABBANOA_ENGINE"]


def cache():
    return current_app.config["ABBANOA_CACHE"]


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("missing bearer token")
    return token.strip()


def authenticate() -> dict:
    """The current user (role and active flag read from the database, not only the token)."""
    claims = tokens.decode(settings(), bearer_token(), "access")
    with engine().connect() as conn:
        try:
            user = ops.get_user(conn, claims["tenant"], claims["uid"])
        except NotFound:
            raise AuthError("user no longer exists") from None
    if not user["active"] or user["username"] != claims["sub"]:
        raise AuthError("user disabled")
    g.claims = claims
    g.user = user
    return user


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
