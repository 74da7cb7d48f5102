"""Every endpoint's happy path against the real PostgreSQL and Redis."""

from __future__ import annotations

import csv
import datetime as dt
import io

from abbanoa.stores.cache import NODE_LATEST, SYSTEM_METRICS
from tests.api.conftest import METRICS_HEADERS, new_anomaly

API = "/api/v1"


def test_nodes_list_shows_only_the_tenants_nodes_with_filters_and_pages(client, auth, data):
    h = auth("viewer").headers
    body = client.get(f"{API}/nodes", headers=h).json
    assert [n["node_id"] for n in body["items"]] == ["N1", "N2"] and body["total"] == 2
    typed = client.get(f"{API}/nodes?type=pressure_logger", headers=h).json
    assert [n["node_id"] for n in typed["items"]] == ["N2"]
    paged = client.get(f"{API}/nodes?limit=1&offset=1", headers=h).json
    assert [n["node_id"] for n in paged["items"]] == ["N2"] and paged["limit"] == 1


def test_node_detail_lists_its_metrics(client, auth, data):
    body = client.get(f"{API}/nodes/N1", headers=auth("viewer").headers).json
    assert body["node_id"] == "N1" and body["district_id"] == "D1" and body["metrics"] == ["flow_rate"]


def test_readings_pick_the_hourly_rollup_and_raw_table(client, auth, data):
    h = auth("viewer").headers
    now = data["now"]
    start = (now - dt.timedelta(hours=3)).isoformat()
    hourly = client.get(
        f"{API}/nodes/N1/readings",
        query_string={"metric": "flow_rate", "from": start, "to": now.isoformat()},
        headers=h,
    ).json
    assert hourly["resolution"] == "1h" and hourly["unit"] == "l/s" and hourly["count"] == 3
    assert hourly["points"][0]["value"] == sum(10.0 + i for i in range(12)) / 12
    raw = client.get(
        f"{API}/nodes/N1/readings",
        query_string={"metric": "flow_rate", "from": start, "to": now.isoformat(), "resolution": "raw"},
        headers=h,
    ).json
    assert raw["count"] == 36 and raw["points"][0]["value"] == 10.0 and not raw["truncated"]


def test_readings_as_csv_with_accept_header(client, auth, data):
    now = data["now"]
    response = client.get(
        f"{API}/nodes/N1/readings",
        query_string={
            "metric": "flow_rate",
            "from": (now - dt.timedelta(hours=3)).isoformat(),
            "to": now.isoformat(),
            "resolution": "5m",
        },
        headers={**auth("viewer").headers, "Accept": "text/csv"},
    )
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert rows and set(rows[0]) == {"ts", "value", "min", "max", "n"} and response.headers["X-Unit"] == "l/s"


def test_latest_comes_from_redis_when_the_key_belongs_to_the_tenant(client, auth, data, cache, app):
    h = auth("viewer").headers
    from_db = client.get(f"{API}/nodes/N1/latest", headers=h).json
    assert from_db["source"] == "database" and from_db["readings"]["flow_rate"]["value"] == 45.0
    cache.set_json(
        cache.key(NODE_LATEST, node_id="N1"),
        {"node_id": "N1", "tenant_id": "abbanoa", "readings": {"flow_rate": {"ts": "x", "value": 46.0, "unit": "l/s"}}},
    )
    from_cache = client.get(f"{API}/nodes/N1/latest", headers=h).json
    assert from_cache["source"] == "cache" and from_cache["readings"]["flow_rate"]["value"] == 46.0
    metrics = client.get("/metrics", headers=METRICS_HEADERS).get_data(as_text=True)
    assert 'abbanoa_api_cache_total{key="node_latest",result="hit"}' in metrics
    assert 'abbanoa_api_cache_total{key="node_latest",result="miss"}' in metrics


def test_latest_ignores_a_cached_document_of_another_tenant(client, auth, data, cache):
    cache.set_json(
        cache.key(NODE_LATEST, node_id="X-N1"),
        {"node_id": "X-N1", "tenant_id": "other", "readings": {"flow_rate": {"ts": "x", "value": 1.0, "unit": "l/s"}}},
    )
    assert client.get(f"{API}/nodes/X-N1/latest", headers=auth("viewer").headers).status_code == 404


def test_dashboard_summary_computed_then_cached(client, auth, data, cache):
    h = auth("viewer").headers
    computed = client.get(f"{API}/dashboard/summary?range=24h", headers=h).json
    assert computed["source"] == "database" and computed["tenant_id"] == "abbanoa"
    assert computed["nodes_total"] == 2 and computed["open_anomalies"]["high"] == 1
    assert computed["readings"] == 36  # N1's 5-minute buckets only, not the other tenant's
    cache.set_json(
        cache.key(SYSTEM_METRICS, tenant_id="abbanoa", time_range="7d"),
        {**computed, "time_range": "7d", "nodes_total": 99},
    )
    cached = client.get(f"{API}/dashboard/summary?range=7d", headers=h).json
    assert cached["source"] == "cache" and cached["nodes_total"] == 99


def test_anomalies_filtered_by_status_severity_and_node(client, auth, data):
    h = auth("viewer").headers
    listed = client.get(f"{API}/anomalies?status=open&severity=high&node=N1", headers=h).json
    assert [a["anomaly_id"] for a in listed["items"]] == [data["anomalies"]["abbanoa"]]
    assert listed["items"][0]["observed_value"] == 80
    assert client.get(f"{API}/anomalies?severity=low", headers=h).json["total"] == 0


def test_operator_acknowledges_then_resolves_an_anomaly_with_who_and_when(client, auth, data, api_db):
    op = auth("operator")
    anomaly_id = new_anomaly(api_db)
    acked = client.post(f"{API}/anomalies/{anomaly_id}/acknowledge", headers=op.headers).json
    assert acked["status"] == "acknowledged" and acked["acknowledged_by"] == op.user["username"]
    assert acked["acknowledged_at"]
    resolved = client.post(f"{API}/anomalies/{anomaly_id}/resolve", headers=op.headers).json
    assert resolved["status"] == "resolved" and resolved["resolved_by"] == op.user["username"]
    again = client.post(f"{API}/anomalies/{anomaly_id}/acknowledge", headers=op.headers)
    assert again.status_code == 400 and again.json["error"]["field"] == "status"


def test_districts_and_their_efficiency(client, auth, data):
    h = auth("viewer").headers
    districts = client.get(f"{API}/districts", headers=h).json["items"]
    assert [(d["district_id"], d["nodes"]) for d in districts] == [("D1", 2)]
    eff = client.get(f"{API}/districts/D1/efficiency?period=day", headers=h).json
    assert eff["district_id"] == "D1" and eff["items"][0]["inflow_m3"] == 1000.0 and eff["items"][0]["nrw_pct"] == 25.0


def test_quality_shows_only_the_tenants_rows(client, auth, data):
    body = client.get(f"{API}/quality", headers=auth("viewer").headers).json
    assert [r["node_id"] for r in body["compliance"]] == ["N1"]
    assert [r["node_id"] for r in body["data_quality"]] == ["N1"] and body["excursions"] == []


def test_forecast_returns_the_newest_run(client, auth, data):
    body = client.get(f"{API}/forecasts/N1/flow_rate", headers=auth("viewer").headers).json
    assert body["model"] == "seasonal" and [p["value"] for p in body["points"]] == [11.0, 12.0]
    assert body["source"] == "database"


def test_forecast_is_served_from_the_jobs_cache_for_its_own_tenant_only(client, auth, data, cache):
    # given the forecast job's cached document for N1 (tenant abbanoa), marked so it shows
    key = cache.key("cache:forecast:{node_id}:{metric}", node_id="N1", metric="flow_rate")
    stored = client.get(f"{API}/forecasts/N1/flow_rate", headers=auth("viewer").headers).json
    body = {k: v for k, v in stored.items() if k != "source"} | {"model": "from-cache"}
    assert cache.set_json(key, {"tenant_id": "abbanoa", "body": body}, ttl_s=60)
    # when N1's forecast is asked for, then it comes from Redis
    got = client.get(f"{API}/forecasts/N1/flow_rate", headers=auth("viewer").headers).json
    assert got["source"] == "cache" and got["model"] == "from-cache" and got["points"] == stored["points"]
    # and a cached document of another tenant is never served: PostgreSQL answers (and scopes)
    assert cache.set_json(key, {"tenant_id": "other", "body": body}, ttl_s=60)
    got = client.get(f"{API}/forecasts/N1/flow_rate", headers=auth("viewer").headers).json
    assert got["source"] == "database" and got["model"] == "seasonal"
    cache.delete(key)


def test_jobs_list_for_operators(client, auth, data):
    items = client.get(f"{API}/jobs", headers=auth("operator").headers).json["items"]
    assert {r["job_name"] for r in items} == {"realtime_sync", "cache_refresh"}


def test_run_now_of_an_unknown_job_is_404_for_the_platform_operator(client, auth, data):
    from abbanoa.auth import PLATFORM_OPERATOR, PLATFORM_TENANT

    platform = auth(PLATFORM_OPERATOR, PLATFORM_TENANT)
    assert client.post(f"{API}/jobs/no_such_job/run", headers=platform.headers).status_code == 404


def test_admin_creates_promotes_and_disables_a_user_of_their_tenant(client, auth):
    admin = auth("admin")
    created = client.post(
        f"{API}/users",
        json={"username": "new.viewer", "password": "a-long-password-1", "role": "viewer"},
        headers=admin.headers,
    )
    assert created.status_code == 201 and created.json["tenant_id"] == "abbanoa"
    user_id = created.json["user_id"]
    promoted = client.patch(f"{API}/users/{user_id}", json={"role": "operator"}, headers=admin.headers).json
    assert promoted["role"] == "operator"
    login = client.post(
        f"{API}/auth/login", json={"username": "new.viewer", "password": "a-long-password-1", "tenant": "abbanoa"}
    )
    assert login.status_code == 200 and login.json["user"]["role"] == "operator"
    token = login.json["access_token"]
    client.patch(f"{API}/users/{user_id}", json={"active": False}, headers=admin.headers)
    assert client.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    names = [u["username"] for u in client.get(f"{API}/users", headers=admin.headers).json["items"]]
    assert "new.viewer" in names


def test_me_health_ready_metrics_and_openapi(client, auth):
    login = auth("viewer")
    assert client.get(f"{API}/auth/me", headers=login.headers).json["username"] == login.user["username"]
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["database"] == "ok" and ready.json["redis"] == "ok"
    metrics = client.get("/metrics", headers=METRICS_HEADERS).get_data(as_text=True)
    assert 'abbanoa_api_requests_total{method="GET",route="/api/v1/auth/me",status="200"}' in metrics
    assert "abbanoa_api_request_seconds_bucket" in metrics
    assert client.get(f"{API}/openapi.json").json["openapi"].startswith("3.")


def test_security_headers_and_cors_from_settings(database, api_db):
    from api import create_app

    app = create_app(database.with_(cors_origins=("https://dash.example",)))
    client = app.test_client()
    allowed = client.get("/healthz", headers={"Origin": "https://dash.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://dash.example"
    assert allowed.headers["X-Content-Type-Options"] == "nosniff" and allowed.headers["X-Frame-Options"] == "DENY"
    other = client.get("/healthz", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
