"""/auth (login, refresh, logout, me) and /users (admin of one's own tenant)."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, g, jsonify, request

from abbanoa.auth import TENANT_ROLES, AuthError, ratelimit, tokens
from abbanoa.auth.passwords import MAX_LENGTH, hash_password, verify_password, weakness
from abbanoa.auth.users import UserCache, token_user
from abbanoa.repository import InvalidParameter, ops
from api.routes import API_PREFIX, route
from api.security import engine, settings, tenant, user_cache
from api.views.common import body_string, json_body

bp = Blueprint("auth", __name__, url_prefix=API_PREFIX + "/auth")
users = Blueprint("users", __name__, url_prefix=API_PREFIX + "/users")

LOGIN_BODY = {
    "type": "object",
    "required": ["username", "password"],
    "properties": {
        "username": {"type": "string", "description": "the username, or username@tenant"},
        "password": {"type": "string"},
        "tenant": {"type": "string", "description": "the tenant (default DEFAULT_TENANT)"},
    },
}
REFRESH_BODY = {"type": "object", "required": ["refresh_token"], "properties": {"refresh_token": {"type": "string"}}}
PASSWORD_BODY = {
    "type": "object",
    "required": ["current_password", "new_password"],
    "properties": {"current_password": {"type": "string"}, "new_password": {"type": "string"}},
}


def _token_pair(user: dict, sid: str | None = None) -> dict:
    s = settings()
    sid = sid or tokens.new_session()
    return {
        "access_token": tokens.issue(s, user, "access", sid=sid),
        "refresh_token": tokens.issue(s, user, "refresh", sid=sid),
        "token_type": "Bearer",
        "expires_in": int(tokens.ACCESS_TTL.total_seconds()),
        "user": {k: v for k, v in user.items() if k != "password_hash"},
    }


def _identity(body: dict) -> tuple[str, str]:
    """(tenant, username) of a login: `tenant` in the body, or `username@tenant`, or DEFAULT_TENANT."""
    username = body_string(body, "username", max_len=129)
    tenant = body_string(body, "tenant", required=False, max_len=64)
    if tenant is None and "@" in username:
        username, _, tenant = username.rpartition("@")
    if not username or len(username) > 64:
        raise InvalidParameter("username", "1-64 characters (optionally followed by @tenant)")
    return tenant or settings().default_tenant, username


def _address() -> str:
    # the socket's peer, or the client named by the TRUSTED_PROXY_HOPS proxies (api/hooks.py)
    return request.remote_addr or "unknown"


@route(bp, "/login", "POST", "Log in: an access and a refresh token", role=None, body=LOGIN_BODY)
def login():
    body = json_body()
    tenant_id, username = _identity(body)
    password = body_string(body, "password", max_len=MAX_LENGTH)
    s = settings()
    ratelimit.check(s, tenant_id, username, _address())
    with engine().connect() as conn:
        user = ops.user_for_login(conn, tenant_id, username)
    # an unknown tenant, an unknown user and a wrong password look the same, and take as long
    ok = verify_password(user["password_hash"] if user else None, password)
    if not ok or not user["active"]:
        ratelimit.failed(s, tenant_id, username, _address())
        raise AuthError("invalid username or password")
    ratelimit.succeeded(s, tenant_id, username, _address())
    with engine().connect() as conn:
        public = ops.get_user(conn, user["tenant_id"], user["user_id"])
    return jsonify(_token_pair({**public, "user_id": user["user_id"]}))


@route(bp, "/refresh", "POST", "Exchange a refresh token for a new pair", role=None, body=REFRESH_BODY)
def refresh():
    body = json_body()
    token = body_string(body, "refresh_token", max_len=4096)
    s = settings()
    claims = tokens.decode(s, token, "refresh")  # a spent one revokes its whole session
    user = token_user(engine().connect, UserCache(), claims)  # the database's word, uncached
    tokens.revoke(s, claims)  # a refresh token is used once
    return jsonify(_token_pair(user, sid=claims["sid"]))


@route(bp, "/logout", "POST", "End the session: its access and refresh tokens are revoked")
def logout():
    s = settings()
    tokens.revoke(s, g.claims)
    tokens.revoke_session(s, g.claims["sid"])  # the session's refresh token, sent or not
    body = request.get_json(silent=True) if request.content_length else None
    if isinstance(body, dict) and isinstance(body.get("refresh_token"), str):
        try:
            claims = tokens.decode(s, body["refresh_token"], "refresh")
        except AuthError:
            claims = None
        if claims and claims["uid"] == g.claims["uid"] and claims["tenant"] == g.claims["tenant"]:
            tokens.revoke(s, claims)
    return jsonify({"revoked": 2})


@route(bp, "/me", "GET", "The authenticated user")
def me():
    return jsonify(g.user)


@route(
    bp,
    "/password",
    "POST",
    "Change one's own password; every other session of the user ends",
    body=PASSWORD_BODY,
)
def change_password():
    body = json_body()
    current = body_string(body, "current_password", max_len=MAX_LENGTH)
    new = body_string(body, "new_password", max_len=MAX_LENGTH)
    s, user = settings(), g.user
    ratelimit.check(s, user["tenant_id"], user["username"], _address())
    with engine().connect() as conn:
        stored = ops.password_hash(conn, user["tenant_id"], user["user_id"])
    if not verify_password(stored, current):
        ratelimit.failed(s, user["tenant_id"], user["username"], _address())
        raise InvalidParameter("current_password", "does not match")
    problem = weakness(new, user["username"])
    if problem:
        raise InvalidParameter("new_password", problem)
    now = dt.datetime.now(dt.UTC)  # tokens carry their issue time to the microsecond (iat_us)
    with engine().begin() as conn:
        ops.set_password(conn, user["tenant_id"], user["user_id"], hash_password(new), now)
    user_cache().forget(user["tenant_id"], user["user_id"])
    tokens.revoke(s, g.claims)
    return jsonify(_token_pair(user, sid=g.claims["sid"]))


USER_BODY = {
    "type": "object",
    "required": ["username", "password", "role"],
    "properties": {
        "username": {"type": "string"},
        "password": {"type": "string"},
        "role": {"type": "string", "enum": list(TENANT_ROLES)},
    },
}
PATCH_BODY = {
    "type": "object",
    "properties": {"role": {"type": "string", "enum": list(TENANT_ROLES)}, "active": {"type": "boolean"}},
}


@route(users, "", "GET", "Users of the tenant", role="admin")
def list_users():
    with engine().connect() as conn:
        return jsonify({"items": ops.list_users(conn, tenant())})


@route(users, "", "POST", "Create a user in the tenant", role="admin", body=USER_BODY, responses=(201,))
def create_user():
    body = json_body()
    username = body_string(body, "username", max_len=64)
    password = body_string(body, "password", max_len=MAX_LENGTH)
    role = body_string(body, "role", max_len=32)
    problem = weakness(password, username)
    if problem:
        raise InvalidParameter("password", problem)
    with engine().begin() as conn:
        user = ops.create_user(conn, tenant(), username, hash_password(password), role)
    return jsonify(user), 201


@route(users, "/<int:user_id>", "PATCH", "Change a user's role or disable/enable them", role="admin", body=PATCH_BODY)
def update_user(user_id: int):
    body = json_body()
    role = body_string(body, "role", required=False, max_len=32)
    active = body.get("active")
    if active is not None and not isinstance(active, bool):
        raise InvalidParameter("active", "must be true or false")
    if role is None and active is None:
        raise InvalidParameter("body", "give role and/or active")
    if user_id == g.user["user_id"] and (active is False or (role is not None and role != "admin")):
        raise InvalidParameter("user_id", "an admin cannot disable or demote themselves")
    with engine().begin() as conn:
        changed = ops.update_user(conn, tenant(), user_id, role=role, active=active)
    user_cache().forget(tenant(), user_id)  # this worker at once; the others within USER_CACHE_S
    return jsonify(changed)
