"""Roles, tenant isolation, tokens (tampering, expiry, alg=none, logout), rate limit, validation."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time

import jwt
import pytest
import sqlalchemy as sa

from abbanoa.auth import tokens
from tests.api.conftest import PASSWORD, new_anomaly

API = "/api/v1"

READ_ROUTES = [
    "/nodes",
    "/nodes/N1",
    "/nodes/N1/readings?metric=flow_rate",
    "/nodes/N1/latest",
    "/dashboard/summary",
    "/anomalies",
    "/districts",
    "/districts/D1/efficiency",
    "/quality",
    "/forecasts/N1/flow_rate",
    "/auth/me",
]


@pytest.mark.parametrize("path", READ_ROUTES)
def test_every_read_route_needs_a_token(client, data, path):
    response = client.get(API + path)
    assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_each_role_gets_exactly_its_permissions(client, auth, data, api_db):
    viewer, operator, admin = auth("viewer"), auth("operator"), auth("admin")
    anomaly_id = new_anomaly(api_db)
    for login in (viewer, operator, admin):
        for path in READ_ROUTES:
            assert client.get(API + path, headers=login.headers).status_code == 200, path
    # operator: anomaly workflow and job runs; not for viewers
    assert client.post(f"{API}/anomalies/{anomaly_id}/acknowledge", headers=viewer.headers).status_code == 403
    assert client.get(f"{API}/jobs", headers=viewer.headers).status_code == 403
    assert client.post(f"{API}/anomalies/{anomaly_id}/acknowledge", headers=operator.headers).status_code == 200
    assert client.get(f"{API}/jobs", headers=operator.headers).status_code == 200
    # admin: users and run-now; not for operators
    for login, expected in ((viewer, 403), (operator, 403), (admin, 200)):
        assert client.get(f"{API}/users", headers=login.headers).status_code == expected
    assert client.post(f"{API}/jobs/nope/run", headers=operator.headers).status_code == 403
    assert client.post(f"{API}/anomalies/{anomaly_id}/resolve", headers=admin.headers).status_code == 200


def test_another_tenants_ids_answer_404_on_every_route_that_takes_one(client, auth, data, make_user):
    h = auth("admin", "abbanoa").headers
    other_anomaly = data["anomalies"]["other"]
    other_user = make_user("viewer", "other")["user_id"]
    probes = [
        ("GET", "/nodes/X-N1"),
        ("GET", "/nodes/X-N1/readings?metric=flow_rate"),
        ("GET", "/nodes/X-N1/latest"),
        ("GET", "/districts/X1/efficiency"),
        ("GET", "/forecasts/X-N1/flow_rate"),
        ("GET", "/forecasts/dma:X1/flow_rate"),
        ("POST", f"/anomalies/{other_anomaly}/acknowledge"),
        ("POST", f"/anomalies/{other_anomaly}/resolve"),
        ("PATCH", f"/users/{other_user}"),
    ]
    for method, path in probes:
        response = client.open(API + path, method=method, headers=h, json={"role": "admin"})
        assert response.status_code == 404, (method, path, response.json)
    # filters naming another tenant's objects return nothing of theirs
    assert client.get(f"{API}/nodes?district=X1", headers=h).json["total"] == 0
    assert client.get(f"{API}/anomalies?node=X-N1", headers=h).json["total"] == 0
    assert client.get(f"{API}/quality?node=X-N1", headers=h).json["compliance"] == []
    # and the other tenant's admin sees its own node
    assert client.get(f"{API}/nodes/X-N1", headers=auth("viewer", "other").headers).status_code == 200


def _b64(obj) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def test_tampered_expired_and_alg_none_tokens_are_refused(client, auth, data, settings):
    login = auth("viewer")
    header, payload, signature = login.access.split(".")
    claims = jwt.decode(login.access, options={"verify_signature": False})
    escalated = ".".join([header, _b64({**claims, "role": "admin", "tenant": "other"}), signature])
    unsigned = ".".join([_b64({"alg": "none", "typ": "JWT"}), _b64(claims), ""])
    wrong_key = jwt.encode(claims, "not-the-secret-" * 4, algorithm="HS256")
    expired = tokens.issue(settings, login.user, "access", now=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=16))
    for token, reason in (
        (escalated, "invalid token"),
        (unsigned, "token algorithm not accepted"),
        (wrong_key, "invalid token"),
        (expired, "token expired"),
        (login.refresh, "not an access token"),
        ("garbage", "malformed token"),
    ):
        response = client.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401 and response.json["error"]["message"] == reason


def test_logout_revokes_the_access_and_refresh_tokens(client, auth, data, settings):
    login = auth("viewer")
    out = client.post(f"{API}/auth/logout", headers=login.headers, json={"refresh_token": login.refresh})
    assert out.json == {"revoked": 2}
    assert client.get(f"{API}/auth/me", headers=login.headers).json["error"]["message"] == "token revoked"
    refused = client.post(f"{API}/auth/refresh", json={"refresh_token": login.refresh})
    assert refused.status_code == 401
    jti = jwt.decode(login.access, options={"verify_signature": False})["jti"]
    from abbanoa.stores import cache as cache_module

    ttl = cache_module.client(settings).ttl(settings.redis_key_prefix + f"revoked:{jti}")
    assert 0 < ttl <= tokens.ACCESS_TTL.total_seconds() + 1


def test_refresh_gives_a_new_pair_and_the_old_refresh_token_is_spent(client, auth, data):
    login = auth("operator")
    renewed = client.post(f"{API}/auth/refresh", json={"refresh_token": login.refresh})
    assert renewed.status_code == 200 and renewed.json["user"]["role"] == "operator"
    new_headers = {"Authorization": f"Bearer {renewed.json['access_token']}"}
    assert client.get(f"{API}/auth/me", headers=new_headers).status_code == 200
    assert client.post(f"{API}/auth/refresh", json={"refresh_token": login.refresh}).status_code == 401


def test_login_is_rate_limited_per_username_and_address(client, make_user, data):
    user = make_user("viewer")
    for _ in range(5):
        bad = client.post(f"{API}/auth/login", json={"username": user["username"], "password": "wrong-guess"})
        assert bad.status_code == 401
    blocked = client.post(f"{API}/auth/login", json={"username": user["username"], "password": PASSWORD})
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    other_address = client.post(
        f"{API}/auth/login",
        json={"username": user["username"], "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.9.8.7"},
    )
    assert other_address.status_code == 200


def test_unknown_user_and_disabled_user_cannot_log_in(client, make_user, data):
    disabled = make_user("viewer", active=False)
    for username in ("nobody-here", disabled["username"]):
        response = client.post(f"{API}/auth/login", json={"username": username, "password": PASSWORD})
        assert response.status_code == 401 and response.json["error"]["message"] == "invalid username or password"


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/nodes/N1/readings?metric=flow_rate&from=yesterday", "from"),
        ("/nodes/N1/readings?metric=flow_rate&to=2024-13-01T00:00:00Z", "to"),
        ("/nodes/N1/readings?metric=flow_rate&from=2024-05-01T00:00:00", "from"),
        ("/nodes/N1/readings?metric=salinity", "metric"),
        ("/nodes/N1/readings", "metric"),
        ("/nodes/N1/readings?metric=flow_rate&from=2024-05-02&to=2024-05-01", "to"),
        ("/nodes/N1/readings?metric=flow_rate&from=2020-01-01&to=2024-01-01&resolution=raw", "to"),
        ("/nodes/N1/readings?metric=flow_rate&resolution=2m", "resolution"),
        ("/nodes?limit=0", "limit"),
        ("/nodes?limit=abc", "limit"),
        ("/nodes?offset=-1", "offset"),
        ("/nodes?active=maybe", "active"),
        ("/anomalies?status=closed", "status"),
        ("/anomalies?from=2024-05-02&to=2024-05-01", "to"),
        ("/dashboard/summary?range=2y", "range"),
        ("/districts/D1/efficiency?period=week", "period"),
        ("/forecasts/N1/salinity", "metric"),
    ],
)
def test_bad_parameters_answer_400_naming_the_field(client, auth, data, path, field):
    response = client.get(API + path, headers=auth("viewer").headers)
    assert response.status_code == 400, response.json
    assert response.json["error"]["field"] == field and "Traceback" not in response.get_data(as_text=True)


def test_bad_bodies_answer_400_and_unknown_routes_404_in_json(client, auth, data):
    admin = auth("admin")
    assert client.post(f"{API}/auth/login", data="not json").json["error"]["field"] == "body"
    assert client.post(f"{API}/auth/login", json={"username": 3, "password": "x"}).json["error"]["field"] == "username"
    short = client.post(
        f"{API}/users", json={"username": "u1", "password": "short", "role": "viewer"}, headers=admin.headers
    )
    assert short.status_code == 400 and short.json["error"]["field"] == "password"
    role = client.post(
        f"{API}/users", json={"username": "u1", "password": PASSWORD, "role": "god"}, headers=admin.headers
    )
    assert role.json["error"]["field"] == "role"
    self_demote = client.patch(f"{API}/users/{admin.user['user_id']}", json={"role": "viewer"}, headers=admin.headers)
    assert self_demote.status_code == 400
    missing = client.get(f"{API}/nope")
    assert missing.status_code == 404 and missing.json["error"]["code"] == "not_found"
    assert client.delete(f"{API}/nodes").status_code == 405


def test_nul_characters_and_out_of_range_ids_never_reach_the_database_as_errors(client, auth, data):
    h = auth("operator").headers
    assert client.get(f"{API}/nodes?district=a%00b", headers=h).json["error"]["field"] == "district"
    assert client.get(f"{API}/nodes/N%001", headers=h).status_code == 400
    assert client.post(f"{API}/anomalies/{2**70}/resolve", headers=h).status_code == 404
    login = client.post(f"{API}/auth/login", json={"username": "a\x00b", "password": "x"})
    assert login.status_code == 400 and login.json["error"]["field"] == "username"


def test_a_user_disabled_through_the_api_is_refused_at_once_and_one_changed_elsewhere_within_the_cache_time(
    app, client, make_user, api_db
):
    from api.security import UserCache

    def login(user) -> dict:
        body = client.post(f"{API}/auth/login", json={"username": user["username"], "password": PASSWORD}).json
        return {"Authorization": f"Bearer {body['access_token']}"}

    admin, victim = make_user("admin"), make_user("viewer")
    headers, admin_headers = login(victim), login(admin)
    app.extensions["abbanoa_users"] = UserCache(ttl=3.0)  # the 10 s of production, shortened
    assert client.get(f"{API}/auth/me", headers=headers).status_code == 200  # now cached in this worker
    # disabled directly in the database (another worker, a script): still served from the cache for now
    with api_db.begin() as conn:
        conn.execute(sa.text("UPDATE users SET active = false WHERE user_id = :u"), {"u": victim["user_id"]})
    assert client.get(f"{API}/auth/me", headers=headers).status_code == 200
    # once the same cache entry has expired, the database's word holds
    time.sleep(3.1)
    assert client.get(f"{API}/auth/me", headers=headers).status_code == 401
    # re-enabled, then disabled through the API: refused at the very next request
    with api_db.begin() as conn:
        conn.execute(sa.text("UPDATE users SET active = true WHERE user_id = :u"), {"u": victim["user_id"]})
    app.extensions["abbanoa_users"] = UserCache()
    assert client.get(f"{API}/auth/me", headers=headers).status_code == 200
    patch = client.patch(f"{API}/users/{victim['user_id']}", json={"active": False}, headers=admin_headers)
    assert patch.status_code == 200, patch.json
    assert client.get(f"{API}/auth/me", headers=headers).status_code == 401


def test_a_cached_summary_is_one_redis_round_trip_and_a_revocation_from_elsewhere_stops_it_at_once(
    client, auth, data, cache, settings, monkeypatch
):
    import redis

    from abbanoa.stores import cache as cache_module

    login = auth("viewer")
    key = cache.key(cache_module.SYSTEM_METRICS, tenant_id="abbanoa", time_range="30d")
    cache.set_json(key, {"tenant_id": "abbanoa", "time_range": "30d", "nodes_total": 7})
    client.get(f"{API}/dashboard/summary?range=30d", headers=login.headers)  # the user row is now cached
    trips = []
    real = redis.client.Pipeline.execute
    monkeypatch.setattr(redis.client.Pipeline, "execute", lambda self, *a, **k: trips.append(1) or real(self, *a, **k))
    real_get = redis.Redis.get

    def get(self, *a, **k):  # a pipeline's get only queues; a client's get is a round trip
        if not isinstance(self, redis.client.Pipeline):
            trips.append(2)
        return real_get(self, *a, **k)

    monkeypatch.setattr(redis.Redis, "get", get)
    served = client.get(f"{API}/dashboard/summary?range=30d", headers=login.headers)
    assert served.json["source"] == "cache" and served.json["nodes_total"] == 7
    assert trips == [1]  # revocation check and the figures in one pipeline
    # another worker revokes the token: only Redis knows; the next request is refused
    jti = jwt.decode(login.access, options={"verify_signature": False})["jti"]
    cache_module.client(settings).set(settings.redis_key_prefix + f"revoked:{jti}", "1", ex=60)
    refused = client.get(f"{API}/dashboard/summary?range=30d", headers=login.headers)
    assert refused.status_code == 401 and refused.json["error"]["message"] == "token revoked"


def test_a_verified_token_is_refused_once_it_expires(client, auth, data, monkeypatch):
    login = auth("viewer")
    headers = login.headers
    assert client.get(f"{API}/auth/me", headers=headers).status_code == 200  # verified, remembered
    later = jwt.decode(login.access, options={"verify_signature": False})["exp"] + 1
    monkeypatch.setattr(tokens.time, "time", lambda: later)
    refused = client.get(f"{API}/auth/me", headers=headers)
    assert refused.status_code == 401 and refused.json["error"]["message"] == "token expired"
