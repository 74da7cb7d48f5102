"""/auth (login, refresh, logout, me) and /users (admin of one's own tenant)."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from abbanoa.auth import AuthError, ratelimit, tokens
from abbanoa.auth.passwords import MIN_LENGTH, hash_password, verify_password
from abbanoa.repository import InvalidParameter, NotFound, ops
from api.routes import API_PREFIX, route
from api.security import engine, settings, tenant, user_cache
from api.views.common import body_string, json_body

bp = Blueprint("auth", __name__, url_prefix=API_PREFIX + "/auth")
users = Blueprint("users", __name__, url_prefix=API_PREFIX + "/users")

LOGIN_BODY = {
    "type": "object",
    "required": ["username", "password"],
    "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
}
REFRESH_BODY = {"type": "object", "required": ["refresh_token"], "properties": {"refresh_token": {"type": "string"}}}


def _token_pair(user: dict) -> dict:
    s = settings()
    return {
        "access_token": tokens.issue(s, user, "access"),
        "refresh_token": tokens.issue(s, user, "refresh"),
        "token_type": "Bearer",
        "expires_in": int(tokens.ACCESS_TTL.total_seconds()),
        "user": {k: v for k, v in user.items() if k != "password_hash"},
    }


@route(bp, "/login", "POST", "Log in: an access and a refresh token", role=None, body=LOGIN_BODY)
def login():
    body = json_body()
    username = body_string(body, "username", max_len=64)
    password = body_string(body, "password")
    address = request.remote_addr or "unknown"
    s = settings()
    ratelimit.check(s, username, address)
    with engine().connect() as conn:
        user = ops.user_for_login(conn, username)
    ok = verify_password(user["password_hash"] if user else None, password)
    if not ok or not user["active"]:
        ratelimit.failed(s, username, address)
        raise AuthError("invalid username or password")
    ratelimit.succeeded(s, username, address)
    with engine().connect() as conn:
        public = ops.get_user(conn, user["tenant_id"], user["user_id"])
    return jsonify(_token_pair({**public, "user_id": user["user_id"]}))


@route(bp, "/refresh", "POST", "Exchange a refresh token for a new pair", role=None, body=REFRESH_BODY)
def refresh():
    body = json_body()
    token = body_string(body, "refresh_token", max_len=4096)
    s = settings()
    claims = tokens.decode(s, token, "refresh")
    with engine().connect() as conn:
        try:
            user = ops.get_user(conn, claims["tenant"], claims["uid"])
        except NotFound:
            raise AuthError("user no longer exists") from None
    if not user["active"]:
        raise AuthError("user disabled")
    tokens.revoke(s, claims)  # a refresh token is used once
    return jsonify(_token_pair(user))


@route(bp, "/logout", "POST", "Revoke the access token (and the refresh token if given)")
def logout():
    s = settings()
    tokens.revoke(s, g.claims)
    revoked = 1
    body = request.get_json(silent=True)
    if isinstance(body, dict) and isinstance(body.get("refresh_token"), str):
        try:
            claims = tokens.decode(s, body["refresh_token"], "refresh")
        except AuthError:
            claims = None
        if claims and claims["uid"] == g.claims["uid"]:
            tokens.revoke(s, claims)
            revoked += 1
    return jsonify({"revoked": revoked})


@route(bp, "/me", "GET", "The authenticated user")
def me():
    return jsonify(g.user)


USER_BODY = {
    "type": "object",
    "required": ["username", "password", "role"],
    "properties": {
        "username": {"type": "string"},
        "password": {"type": "string"},
        "role": {"type": "string", "enum": ["viewer", "operator", "admin"]},
    },
}
PATCH_BODY = {
    "type": "object",
    "properties": {"role": {"type": "string", "enum": ["viewer", "operator", "admin"]}, "active": {"type": "boolean"}},
}


@route(users, "", "GET", "Users of the tenant", role="admin")
def list_users():
    with engine().connect() as conn:
        return jsonify({"items": ops.list_users(conn, tenant())})


@route(users, "", "POST", "Create a user in the tenant", role="admin", body=USER_BODY, responses=(201,))
def create_user():
    body = json_body()
    username = body_string(body, "username", max_len=64)
    password = body_string(body, "password")
    role = body_string(body, "role", max_len=16)
    if len(password) < MIN_LENGTH:
        raise InvalidParameter("password", f"at least {MIN_LENGTH} characters")
    with engine().begin() as conn:
        user = ops.create_user(conn, tenant(), username, hash_password(password), role)
    return jsonify(user), 201


@route(users, "/<int:user_id>", "PATCH", "Change a user's role or disable/enable them", role="admin", body=PATCH_BODY)
def update_user(user_id: int):
    body = json_body()
    role = body_string(body, "role", required=False, max_len=16)
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
