"""Authentication: argon2id passwords, HS256 JWTs with revocation, roles, login rate limit."""

from __future__ import annotations

from abbanoa.errors import AbbanoaError

# The one definition of roles. Tenant roles: each includes the ones before it.
TENANT_ROLES = ("viewer", "operator", "admin")
# The platform operator runs and watches the platform's jobs; not tied to any tenant's data:
# such a user belongs to the reserved PLATFORM_TENANT, which holds no nodes or districts.
PLATFORM_OPERATOR = "platform_operator"
PLATFORM_TENANT = "_platform"
ROLES = (*TENANT_ROLES, PLATFORM_OPERATOR)


class AuthError(AbbanoaError):
    """Missing, malformed, expired, tampered or revoked credentials (HTTP 401)."""


class Forbidden(AbbanoaError):
    """Authenticated, but the role is too low (HTTP 403)."""


class RateLimited(AbbanoaError):
    """Too many failed logins for this username and address (HTTP 429)."""

    def __init__(self, message: str, retry_after_s: int):
        super().__init__(message)
        self.retry_after_s = retry_after_s


def role_allows(role: str, required: str) -> bool:
    """viewer < operator < admin within a tenant. platform_operator: job control, plus what
    an operator may do, which for it reaches only PLATFORM_TENANT (no data); never admin."""
    if role not in ROLES or required not in ROLES:
        return False
    if role == PLATFORM_OPERATOR:
        return required in (PLATFORM_OPERATOR, "viewer", "operator")
    if required == PLATFORM_OPERATOR:
        return False
    return TENANT_ROLES.index(role) >= TENANT_ROLES.index(required)


def redis_client(settings):
    """The shared Redis client, or redis.ConnectionError while Redis is marked down
    (the cache's short back-off, so a dead Redis costs one timeout, not one per request)."""
    import redis

    from abbanoa.stores import cache as cache_module

    if not cache_module.Cache(settings)._usable():
        raise redis.ConnectionError("redis marked down")
    return cache_module.client(settings)


def redis_failed(settings, exc: Exception) -> None:
    from abbanoa.stores import cache as cache_module

    cache_module.Cache(settings)._failed(exc)
