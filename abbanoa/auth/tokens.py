"""JWT access/refresh tokens (HS256 pinned) and their revocation list in Redis.

Revocation: `revoked:{jti}` in Redis with TTL = the token's remaining life, plus an
in-process copy. When Redis is down a token cannot be checked against other workers'
revocations: access tokens (15 minutes) are then accepted unless revoked in this
process, and refresh tokens (7 days) are refused (TokenStoreDown -> 503) - the safe side
for the long-lived token, availability for the short one.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import redis

from abbanoa.auth import AuthError, redis_client, redis_failed
from abbanoa.errors import AbbanoaError, ConfigError
from abbanoa.settings import Settings

log = logging.getLogger(__name__)

ALGORITHM = "HS256"
ISSUER = "abbanoa"
ACCESS_TTL = dt.timedelta(minutes=15)
REFRESH_TTL = dt.timedelta(days=7)
REVOKED_KEY = "revoked:{jti}"
LOCAL_SECRET_FILE = Path(".local") / "jwt-secret"

_local_revoked: dict[str, float] = {}  # jti -> expiry (monotonic-free: epoch seconds)
_lock = threading.Lock()


class TokenStoreDown(AbbanoaError):
    """The revocation list (Redis) cannot be read: refresh tokens are refused meanwhile."""


def secret(settings: Settings) -> str:
    """JWT_SECRET; locally, when unset, a random one kept in .local/jwt-secret (shared by workers)."""
    if settings.jwt_secret:
        return settings.jwt_secret
    if settings.env == "production":
        raise ConfigError("JWT_SECRET must be set in production")
    LOCAL_SECRET_FILE.parent.mkdir(parents=True, exist_ok=True)
    if not LOCAL_SECRET_FILE.exists():
        try:
            with open(LOCAL_SECRET_FILE, "x") as fh:
                fh.write(secrets.token_urlsafe(48))
            LOCAL_SECRET_FILE.chmod(0o600)
        except FileExistsError:
            pass
    return LOCAL_SECRET_FILE.read_text().strip()


def issue(settings: Settings, user: dict[str, Any], kind: str, now: dt.datetime | None = None) -> str:
    """A signed token of `kind` (access | refresh) for the user."""
    now = now or dt.datetime.now(dt.UTC)
    ttl = ACCESS_TTL if kind == "access" else REFRESH_TTL
    claims = {
        "iss": ISSUER,
        "sub": user["username"],
        "uid": int(user["user_id"]),
        "tenant": user["tenant_id"],
        "role": user["role"],
        "type": kind,
        "jti": uuid.uuid4().hex,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    return jwt.encode(claims, secret(settings), algorithm=ALGORITHM)


def decode(settings: Settings, token: str, kind: str) -> dict[str, Any]:
    """The verified claims; AuthError for an expired, tampered, alg=none, wrong-kind or revoked token."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise AuthError("malformed token") from None
    if header.get("alg") != ALGORITHM:
        raise AuthError("token algorithm not accepted")
    try:
        claims = jwt.decode(
            token,
            secret(settings),
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "jti", "sub", "type", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("token expired") from None
    except jwt.PyJWTError:
        raise AuthError("invalid token") from None
    if claims.get("type") != kind:
        raise AuthError(f"not an {kind} token" if kind == "access" else f"not a {kind} token")
    if not isinstance(claims.get("uid"), int) or not isinstance(claims.get("tenant"), str):
        raise AuthError("invalid token")
    if is_revoked(settings, claims["jti"], strict=(kind == "refresh")):
        raise AuthError("token revoked")
    return claims


def revoke(settings: Settings, claims: dict[str, Any]) -> None:
    """Put the token's jti on the revocation list until it would have expired anyway."""
    remaining = max(1, int(claims["exp"] - time.time()) + 1)
    with _lock:
        _local_revoked[claims["jti"]] = time.time() + remaining
        for jti, until in list(_local_revoked.items()):
            if until < time.time():
                del _local_revoked[jti]
    try:
        redis_client(settings).set(settings.redis_key_prefix + REVOKED_KEY.format(jti=claims["jti"]), "1", ex=remaining)
    except redis.RedisError as exc:
        redis_failed(settings, exc)
        log.warning("revocation of %s kept in this process only: Redis unavailable (%s)", claims["jti"], exc)


def is_revoked(settings: Settings, jti: str, strict: bool) -> bool:
    with _lock:
        until = _local_revoked.get(jti)
    if until is not None and until >= time.time():
        return True
    try:
        return bool(redis_client(settings).exists(settings.redis_key_prefix + REVOKED_KEY.format(jti=jti)))
    except redis.RedisError as exc:
        redis_failed(settings, exc)
        if strict:
            raise TokenStoreDown("token revocation list unavailable; try again shortly") from exc
        log.warning("revocation list unavailable, accepting a short-lived access token: %s", exc)
        return False
