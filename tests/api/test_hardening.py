"""Issue 18 (security hardening): each finding of the outside probe, reproduced as a test."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import time
from pathlib import Path

import openpyxl
import pytest

from abbanoa.auth import PLATFORM_OPERATOR, PLATFORM_TENANT, ratelimit
from abbanoa.auth.users import USER_CACHE_S, UserCache
from api import create_app
from tests.api.conftest import PASSWORD, new_anomaly

API = "/api/v1"
REPO_ROOT = Path(__file__).resolve().parents[2]


def _login(client, user: dict, password: str = PASSWORD, **environ):
    body = {"username": user["username"], "password": password, "tenant": user["tenant_id"]}
    return client.post(f"{API}/auth/login", json=body, environ_base=environ)


def _bearer(response) -> dict:
    return {"Authorization": f"Bearer {response.json['access_token']}"}


# --- 18.1 login rate limits -------------------------------------------------------------


def test_a_forged_x_forwarded_for_does_not_reset_the_login_limit(database, api_db, make_user, data):
    # given the app as gunicorn serves it (api/wsgi.py), no proxy configured (TRUSTED_PROXY_HOPS=0)
    import importlib

    import api.wsgi

    client = importlib.reload(api.wsgi).app.test_client()
    user = make_user("viewer")
    # when a client rotates its own X-Forwarded-For
    codes = []
    for i in range(8):
        response = client.post(
            f"{API}/auth/login",
            json={"username": user["username"], "password": "wrong-guess", "tenant": "abbanoa"},
            headers={"X-Forwarded-For": f"203.0.113.{i}"},
            environ_base={"REMOTE_ADDR": "192.0.2.200"},
        )
        codes.append(response.status_code)
    # then the header is ignored: the sixth attempt is refused, and so is the right password
    assert codes == [401] * 5 + [429] * 3
    right = client.post(
        f"{API}/auth/login",
        json={"username": user["username"], "password": PASSWORD, "tenant": "abbanoa"},
        headers={"X-Forwarded-For": "198.51.100.1"},
        environ_base={"REMOTE_ADDR": "192.0.2.200"},
    )
    assert right.status_code == 429


def test_with_one_trusted_proxy_the_client_is_the_address_it_appended(database, api_db, make_user, data):
    app = create_app(database.with_(trusted_proxy_hops=1))
    client = app.test_client()
    user = make_user("viewer")
    for _ in range(5):
        assert _login(client, user, "wrong-guess", REMOTE_ADDR="10.0.0.1").status_code == 401
    # the proxy (10.0.0.1) named 192.0.2.7 before: that pair is limited; another client is not
    forwarded = {"X-Forwarded-For": "192.0.2.99"}
    body = {"username": user["username"], "password": PASSWORD, "tenant": "abbanoa"}
    assert client.post(f"{API}/auth/login", json=body, headers=forwarded).status_code == 200
    assert app.wsgi_app.__class__.__name__ == "ProxyFix" and app.wsgi_app.x_for == 1
    assert create_app(database).wsgi_app.__class__.__name__ != "ProxyFix"


def test_an_account_guessed_from_many_addresses_backs_off_even_for_the_right_password(client, make_user, data):
    user = make_user("viewer")
    for i in range(ratelimit.ACCOUNT_FREE):
        assert _login(client, user, "wrong-guess", REMOTE_ADDR=f"198.51.100.{i}").status_code == 401
    refused = _login(client, user, REMOTE_ADDR="198.51.100.200")
    assert refused.status_code == 429 and "account" in refused.json["error"]["message"]
    assert 0 < int(refused.headers["Retry-After"]) <= ratelimit.ACCOUNT_BASE_S + 1
    assert [ratelimit.account_backoff_s(n) for n in (9, 10, 11, 12, 30)] == [0, 30, 60, 120, 900]


def test_one_address_spraying_many_usernames_is_limited(client, make_user, data):
    users = [make_user("viewer") for _ in range(6)]
    codes = [
        _login(client, users[i % 6], "wrong-guess", REMOTE_ADDR="192.0.2.50").status_code
        for i in range(ratelimit.ADDRESS_MAX_FAILURES)
    ]
    assert set(codes) == {401}  # 20 failures over 6 usernames: below every per-user limit
    fresh = make_user("viewer")
    assert _login(client, fresh, REMOTE_ADDR="192.0.2.50").status_code == 429
    assert _login(client, fresh, REMOTE_ADDR="192.0.2.51").status_code == 200


# --- 18.2 platform jobs -----------------------------------------------------------------


def test_a_tenant_admin_cannot_run_jobs_and_sees_no_platform_figures(client, auth, data):
    admin = auth("admin")
    for name in ("cache_refresh", "anomaly_detection", "etl_init", "weekly_cleanup"):
        response = client.post(f"{API}/jobs/{name}/run", headers=admin.headers)
        assert response.status_code == 403, name
    runs = client.get(f"{API}/jobs", headers=admin.headers).json["items"]
    assert {r["job_name"] for r in runs} >= {"realtime_sync", "cache_refresh"}
    assert all(r["rows_processed"] is None and r["error"] is None for r in runs)
    platform = auth(PLATFORM_OPERATOR, PLATFORM_TENANT)
    full = client.get(f"{API}/jobs", headers=platform.headers).json["items"]
    assert {r["rows_processed"] for r in full} >= {72} and "boom" in {r["error"] for r in full}
    # and the platform operator is no tenant's admin
    assert client.get(f"{API}/users", headers=platform.headers).status_code == 403
    assert client.get(f"{API}/nodes", headers=platform.headers).json["total"] == 0


def test_run_now_publishes_to_the_jobs_topic_and_the_run_is_followed_by_its_message_id(
    client, auth, data, pubsub_project, settings
):
    from functions_framework import create_app as function_app

    from abbanoa.jobs import schedule
    from abbanoa.stores import pubsub

    topic = schedule.job("cache_refresh").topic
    pubsub.ensure_topic(topic, settings)
    sub = pubsub.subscriber(settings)
    subscription = sub.subscription_path(settings.gcp_project, f"run-now-test-{time.time_ns()}")
    sub.create_subscription(request={"name": subscription, "topic": pubsub.topic_path(topic, settings)}, timeout=10)
    try:
        platform = auth(PLATFORM_OPERATOR, PLATFORM_TENANT)
        started = time.perf_counter()
        queued = client.post(f"{API}/jobs/cache_refresh/run", headers=platform.headers)
        assert queued.status_code == 202, queued.json
        assert time.perf_counter() - started < 10  # published, not run, in the API process
        message_id = queued.json["message_id"]
        assert queued.json["topic"] == topic and queued.json["run"] == f"{API}/jobs?event={message_id}"
        # nothing ran here: no job_runs row for that message yet
        assert client.get(queued.json["run"], headers=platform.headers).json["items"] == []
        pulled = sub.pull(request={"subscription": subscription, "max_messages": 5}, timeout=10)
        (received,) = [m for m in pulled.received_messages if m.message.message_id == message_id]
        assert json.loads(received.message.data)["job"] == "cache_refresh"
        # the function receives the push as production delivers it and records the run
        main = str(REPO_ROOT / "functions" / "main.py")
        push = {
            "subscription": subscription,
            "message": {
                "data": base64.b64encode(received.message.data).decode(),
                "messageId": message_id,
                "publishTime": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "attributes": dict(received.message.attributes),
            },
        }
        delivered = (
            function_app("job_pubsub", main, "cloudevent")
            .test_client()
            .post(f"/projects/{settings.gcp_project}/topics/{topic}", json=push)
        )
        assert delivered.status_code == 200
        (run,) = client.get(queued.json["run"], headers=platform.headers).json["items"]
        assert run["job_name"] == "cache_refresh" and run["status"] == "succeeded" and run["event_id"] == message_id
    finally:
        sub.delete_subscription(request={"subscription": subscription}, timeout=10)
        sub.close()


# --- 18.3 the dashboard's hybrid mode re-checks the user --------------------------------


def test_hybrid_mode_refuses_a_user_disabled_or_demoted_through_the_api_within_the_cache_time(
    client, auth, data, api_db, settings
):
    from dashboard.data import HybridSource, LoginFailed, Unavailable

    assert USER_CACHE_S == 10.0  # the API's promise, and the dashboard's
    admin, operator = auth("admin"), auth("operator")
    source = HybridSource(settings, operator.user, operator.access)
    source.users = UserCache(ttl=1.0)  # the 10 s, shortened for the test
    anomaly_id = new_anomaly(api_db)
    assert source.anomalies()["total"] >= 1
    # demoted to viewer through the API: acknowledging is refused once the entry expires
    client.patch(f"{API}/users/{operator.user['user_id']}", json={"role": "viewer"}, headers=admin.headers)
    time.sleep(1.1)
    with pytest.raises(Unavailable, match="operator role"):
        source.acknowledge(anomaly_id)
    # disabled: reads are refused too
    client.patch(f"{API}/users/{operator.user['user_id']}", json={"active": False}, headers=admin.headers)
    time.sleep(1.1)
    with pytest.raises(LoginFailed, match="user disabled"):
        source.anomalies()
    with pytest.raises(LoginFailed):
        source.summary("24h")


def test_hybrid_mode_refuses_a_session_logged_out_through_the_api(client, auth, data, settings):
    from dashboard.data import HybridSource, LoginFailed

    viewer = auth("viewer")
    source = HybridSource(settings, viewer.user, viewer.access)
    assert isinstance(source.nodes(), list)
    client.post(f"{API}/auth/logout", headers=viewer.headers)
    with pytest.raises(LoginFailed, match="revoked"):
        source.nodes()


# --- 18.4 exports -----------------------------------------------------------------------


def test_formula_cells_are_neutralised_in_csv_and_excel_reports():
    from abbanoa.reports import district, safe

    evil = '=HYPERLINK("http://evil.example/x","pwn")'
    assert [safe.cell(v) for v in (evil, "+1", "-x", "@SUM(A1)", "\tA", "\rA", "N1", -3.5, None)] == [
        "'" + evil,
        "'+1",
        "'-x",
        "'@SUM(A1)",
        "'\tA",
        "'\rA",
        "N1",
        -3.5,
        None,
    ]
    report = district.ReportData(
        district={"district_id": "D1", "name": evil},
        start=dt.date(2026, 11, 1),
        end=dt.date(2026, 11, 2),
        efficiency=[],
        anomalies=[{"anomaly_id": 1, "severity": "high", "node_id": evil, "anomaly_type": "@cmd"}],
    )
    book = openpyxl.load_workbook(io.BytesIO(district.to_excel(report)))
    cells = [c for ws in book.worksheets for r in ws.iter_rows() for c in r if c.value is not None]
    assert evil in [c.value for c in cells]
    assert all(c.data_type != "f" for c in cells)


def test_a_hostile_node_id_cannot_inject_a_content_disposition_parameter(client, auth, data, api_db):
    from abbanoa.reports.safe import content_disposition

    header = content_disposition('x"; filename=evil.exe; a="_flow_rate_1h.csv')
    assert header == (
        'attachment; filename="x___filename_evil.exe__a___flow_rate_1h.csv"; '
        "filename*=UTF-8''x%22%3B%20filename%3Devil.exe%3B%20a%3D%22_flow_rate_1h.csv"
    )
    response = client.get(
        f"{API}/nodes/N1/readings?metric=flow_rate", headers={**auth("viewer").headers, "Accept": "text/csv"}
    )
    assert response.headers["Content-Disposition"] == content_disposition("N1_flow_rate_1h.csv")


# --- 18.5 tokens ------------------------------------------------------------------------


def test_replaying_a_rotated_refresh_token_revokes_its_whole_family(client, auth, data):
    login = auth("viewer")
    renewed = client.post(f"{API}/auth/refresh", json={"refresh_token": login.refresh})
    assert renewed.status_code == 200
    replay = client.post(f"{API}/auth/refresh", json={"refresh_token": login.refresh})
    assert replay.status_code == 401 and "session revoked" in replay.json["error"]["message"]
    # the successor pair is dead too
    assert client.post(f"{API}/auth/refresh", json={"refresh_token": renewed.json["refresh_token"]}).status_code == 401
    assert client.get(f"{API}/auth/me", headers=_bearer(renewed)).status_code == 401


def test_logout_without_the_refresh_token_still_revokes_it(client, auth, data):
    login = auth("viewer")
    assert client.post(f"{API}/auth/logout", headers=login.headers).status_code == 200
    refused = client.post(f"{API}/auth/refresh", json={"refresh_token": login.refresh})
    assert refused.status_code == 401 and refused.json["error"]["message"] == "token revoked"


def test_changing_ones_password_ends_the_other_sessions_only(client, make_user, data):
    user = make_user("operator")
    here, elsewhere = _login(client, user), _login(client, user)
    new_password = "a different passphrase for winter"
    wrong = client.post(
        f"{API}/auth/password",
        json={"current_password": "not-it-at-all", "new_password": new_password},
        headers=_bearer(here),
    )
    assert wrong.status_code == 400 and wrong.json["error"]["field"] == "current_password"
    weak = client.post(
        f"{API}/auth/password",
        json={"current_password": PASSWORD, "new_password": "password1234"},
        headers=_bearer(here),
    )
    assert weak.status_code == 400 and weak.json["error"]["field"] == "new_password"
    changed = client.post(
        f"{API}/auth/password", json={"current_password": PASSWORD, "new_password": new_password}, headers=_bearer(here)
    )
    assert changed.status_code == 200, changed.json
    assert client.get(f"{API}/auth/me", headers=_bearer(changed)).status_code == 200
    assert client.get(f"{API}/auth/me", headers=_bearer(elsewhere)).status_code == 401
    gone = client.post(f"{API}/auth/refresh", json={"refresh_token": elsewhere.json["refresh_token"]})
    assert gone.status_code == 401
    assert _login(client, user).status_code == 401
    assert _login(client, user, new_password).status_code == 200


def test_a_password_change_voids_the_tokens_issued_earlier_in_the_same_second():
    from abbanoa.auth.users import AuthError, token_user

    second = 1_800_000_000
    cache = UserCache()
    row = {"user_id": 7, "username": "jane", "active": True, "role": "operator", "tenant_id": "t1"}
    cache.put("t1", 7, {**row, "tokens_valid_after": second + 0.5})
    claims = {"tenant": "t1", "uid": 7, "sub": "jane", "iat": second}

    def no_database():
        raise AssertionError("the cached row is used")

    with pytest.raises(AuthError):  # issued at .1, the change at .5 of the same second
        token_user(no_database, cache, {**claims, "iat_us": (second * 10 + 1) * 100_000})
    with pytest.raises(AuthError):  # a token without iat_us counts from the start of its second
        token_user(no_database, cache, claims)
    assert token_user(no_database, cache, {**claims, "iat_us": (second * 10 + 6) * 100_000})["username"] == "jane"


# --- 18.6 passwords ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short-one", "at least 12"),
        ("jane.doe.operator", "username"),
        ("aaaaaaaaaaaaaaaa", "repeated"),
        ("abababababababab", "repeated"),
        ("password1234", "common"),
        ("qwertyuiop123", "common"),
        ("iloveyou2024!", "common"),
    ],
)
def test_weak_passwords_are_refused_with_the_reason(client, auth, data, password, reason):
    response = client.post(
        f"{API}/users",
        json={"username": "jane.doe", "password": password, "role": "viewer"},
        headers=auth("admin").headers,
    )
    assert response.status_code == 400 and response.json["error"]["field"] == "password"
    assert reason in response.json["error"]["message"]


# --- 18.7 usernames per tenant ----------------------------------------------------------


def test_usernames_are_per_tenant_and_login_names_the_tenant(client, auth, make_user, data):
    make_user("viewer", "other", username="shared.name")
    admin = auth("admin", "abbanoa")
    body = {"username": "shared.name", "password": PASSWORD, "role": "viewer"}
    created = client.post(f"{API}/users", json=body, headers=admin.headers)
    assert created.status_code == 201 and created.json["tenant_id"] == "abbanoa"  # no "already taken"
    for credentials, tenant in (
        ({"username": "shared.name", "tenant": "other"}, "other"),
        ({"username": "shared.name@other"}, "other"),
        ({"username": "shared.name"}, "abbanoa"),  # DEFAULT_TENANT
    ):
        response = client.post(f"{API}/auth/login", json={**credentials, "password": PASSWORD})
        assert response.status_code == 200 and response.json["user"]["tenant_id"] == tenant
    # no oracle: an unknown tenant reads exactly like a wrong password
    for credentials in ({"username": "shared.name@nope"}, {"username": "nobody@other"}):
        response = client.post(f"{API}/auth/login", json={**credentials, "password": PASSWORD})
        assert response.status_code == 401 and response.json["error"]["message"] == "invalid username or password"


# --- 18.8 hostile JSON ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/auth/login", "/auth/refresh", "/users", "/auth/password"])
def test_deeply_nested_json_answers_400_on_every_body(client, auth, data, path):
    nested = "[" * 5000 + "]" * 5000
    headers = {**auth("admin").headers, "Content-Type": "application/json"}
    response = client.post(f"{API}{path}", data=nested, headers=headers)
    assert response.status_code == 400 and response.json["error"]["field"] == "body"
    inside = '{"username": ' + "[" * 5000 + "]" * 5000 + "}"
    assert client.post(f"{API}{path}", data=inside, headers=headers).status_code == 400


# --- 18.10 /metrics ---------------------------------------------------------------------


def test_metrics_need_the_metrics_token_and_are_refused_when_none_is_set(client, database, api_db):
    from tests.api.conftest import METRICS_HEADERS, METRICS_TOKEN

    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer not-the-token"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer ünïcode"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Basic {METRICS_TOKEN}"}).status_code == 401
    assert client.get("/metrics", headers=METRICS_HEADERS).status_code == 200
    unset = create_app(database).test_client()
    assert unset.get("/metrics", headers=METRICS_HEADERS).status_code == 401


@pytest.fixture(scope="module")
def api_url(database, api_db):
    """The API served over real HTTP (werkzeug in a thread), for the dashboard's HTTP checks."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, create_app(database), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.mark.parametrize("mode", ["fallback", "api"])
def test_fallback_and_api_modes_recheck_the_user_at_the_api_before_serving_cached_views(
    auth, data, settings, api_url, mode
):
    import requests

    from dashboard.data import LoginFailed, make_source

    admin, viewer = auth("admin"), auth("viewer")
    source = make_source(settings.with_(api_url=api_url, dashboard_data_mode=mode), viewer.access, viewer.user)
    source.check_user()  # an active user passes
    # disabled through the API that the dashboard talks to
    changed = requests.patch(
        f"{api_url}{API}/users/{viewer.user['user_id']}", json={"active": False}, headers=admin.headers, timeout=10
    )
    assert changed.status_code == 200
    source.check_user()  # within USER_CACHE_S of the last check: not asked again
    source.checked_at -= USER_CACHE_S  # the 10 s have passed
    with pytest.raises(LoginFailed):
        source.check_user()
