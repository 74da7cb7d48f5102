"""JWT access/refresh tokens (HS256 pinned) and their revocation list in Redis.

Revocation: `revoked:{jti}` in Redis with TTL = the token's remaining life, plus an
in-process copy. Every token carries its session's id (`sid`, made at login and kept by
refresh): `revoked-session:{sid}` voids the whole family at once (logout, or the replay of
a refresh token already spent, which only a thief or a bug can send).

When Redis is down a token cannot be checked against other workers' revocations: access
tokens (15 minutes) are then accepted unless revoked in this process, and refresh tokens
(7 days) are refused (TokenStoreDown -> 503) - the safe side for the long-lived token,
availability for the short one.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
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
REVOKED_SESSION_KEY = "revoked-session:{sid}"
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


def new_session() -> str:
    return uuid.uuid4().hex


def issue(
    settings: Settings, user: dict[str, Any], kind: str, now: dt.datetime | None = None, sid: str | None = None
) -> str:
    """A signed token of `kind` (access | refresh) for the user, in session `sid` (new if None)."""
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
        "sid": sid or new_session(),
        "iat": int(now.timestamp()),
        # the issue time to the microsecond: a password change voids the tokens issued
        # before it, including those of the same second (iat has whole seconds)
        "iat_us": int(now.timestamp() * 1_000_000),
        "exp": int((now + ttl).timestamp()),
    }
    return jwt.encode(claims, secret(settings), algorithm=ALGORITHM)


# Verified signatures, per secret and token string: the same bytes under the same key give
# the same claims, so the HMAC and PyJWT's per-character segment checks run once per token
# and worker (they were a third of a cached request's CPU, bench/bench_api_summary.py).
# Expiry, kind and revocation are still checked on every request.
_VERIFIED_MAX = 4096
_verified: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()


def verify(settings: Settings, token: str) -> dict[str, Any]:
    """The claims of a token signed by us and not expired (AuthError otherwise); no revocation check."""
    key = (secret(settings), token)
    with _lock:
        claims = _verified.get(key)
        if claims is not None:
            _verified.move_to_end(key)
    if claims is not None:
        if time.time() >= claims["exp"]:  # PyJWT's rule: expired once now >= exp (leeway 0)
            raise AuthError("token expired")
        return dict(claims)
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise AuthError("malformed token") from None
    if header.get("alg") != ALGORITHM:
        raise AuthError("token algorithm not accepted")
    try:
        claims = jwt.decode(
            token,
            key[0],
            algorithms=[ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "iat", "jti", "sid", "sub", "type", "iss"]},
        )
    except jwt.ExpiredSignatureError:
        raise AuthError("token expired") from None
    except jwt.PyJWTError:
        raise AuthError("invalid token") from None
    if not isinstance(claims.get("uid"), int) or not isinstance(claims.get("tenant"), str):
        raise AuthError("invalid token")
    if not isinstance(claims["exp"], int | float):
        raise AuthError("invalid token")
    with _lock:
        _verified[key] = claims
        while len(_verified) > _VERIFIED_MAX:
            _verified.popitem(last=False)
    return dict(claims)


def decode(settings: Settings, token: str, kind: str) -> dict[str, Any]:
    """The verified claims; AuthError for an expired, tampered, alg=none, wrong-kind or revoked token."""
    return decode_and_get(settings, token, kind)[0]


def decode_and_get(
    settings: Settings, token: str, kind: str, fetch: Callable[[dict], list[str]] | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """decode(), and the Redis keys that `fetch(claims)` names read in the same round trip as
    the revocation check: (claims, {key: value or None when absent}); {} when Redis is down. The values are
    read before the user's row and role are checked: the caller must not use them unless
    those checks pass."""
    claims = verify(settings, token)
    if claims.get("type") != kind:
        raise AuthError(f"not an {kind} token" if kind == "access" else f"not a {kind} token")
    keys = fetch(claims) if fetch is not None else []
    revoked, fetched = _revocation(settings, claims["jti"], kind == "refresh", claims["sid"], keys)
    if revoked == "token" and kind == "refresh":
        # a spent refresh token presented again: its family is compromised (RFC 9700 4.14.2)
        revoke_session(settings, claims["sid"])
        log.warning("refresh token %s replayed: session %s revoked", claims["jti"], claims["sid"])
        raise AuthError("refresh token already used: session revoked")
    if revoked:
        raise AuthError("token revoked")
    return claims, fetched


def revoke_session(settings: Settings, sid: str) -> None:
    """Void every token of the session (it lives at most REFRESH_TTL: no token outlives the mark)."""
    _revoke_key(settings, REVOKED_SESSION_KEY.format(sid=sid), int(REFRESH_TTL.total_seconds()) + 1)


def revoke(settings: Settings, claims: dict[str, Any]) -> None:
    """Put the token's jti on the revocation list until it would have expired anyway."""
    remaining = max(1, int(claims["exp"] - time.time()) + 1)
    _revoke_key(settings, REVOKED_KEY.format(jti=claims["jti"]), remaining)


def _revoke_key(settings: Settings, key: str, ttl_s: int) -> None:
    with _lock:
        _local_revoked[key] = time.time() + ttl_s
        for old, until in list(_local_revoked.items()):
            if until < time.time():
                del _local_revoked[old]
    try:
        redis_client(settings).set(settings.redis_key_prefix + key, "1", ex=ttl_s)
    except redis.RedisError as exc:
        redis_failed(settings, exc)
        log.warning("revocation %s kept in this process only: Redis unavailable (%s)", key, exc)


def is_revoked(settings: Settings, jti: str, strict: bool, sid: str | None = None) -> str | None:
    """ "session" when the token's session is revoked, "token" when the token itself is, else None."""
    return _revocation(settings, jti, strict, sid, [])[0]


def _revocation(
    settings: Settings, jti: str, strict: bool, sid: str | None, fetch: list[str]
) -> tuple[str | None, dict[str, str]]:
    """is_revoked's answer, and the values of the (full) Redis keys `fetch`, in one pipeline."""
    keys = {"token": REVOKED_KEY.format(jti=jti)}
    if sid:
        keys = {"session": REVOKED_SESSION_KEY.format(sid=sid), **keys}
    now = time.time()
    with _lock:
        for what, key in keys.items():
            if _local_revoked.get(key, 0.0) >= now:
                return what, {}
    try:
        pipe = redis_client(settings).pipeline(transaction=False)
        for key in keys.values():
            pipe.exists(settings.redis_key_prefix + key)
        for key in fetch:
            pipe.get(key)
        found = pipe.execute()
    except redis.RedisError as exc:
        redis_failed(settings, exc)
        if strict:
            raise TokenStoreDown("token revocation list unavailable; try again shortly") from exc
        log.warning("revocation list unavailable, accepting a short-lived access token: %s", exc)
        return None, {}
    revoked = next((what for what, hit in zip(keys, found, strict=False) if hit), None)
    values = dict(zip(fetch, found[len(keys) :], strict=True))  # None: the key does not exist
    return revoked, values
