"""API fixtures (the Flask tutorial's shape): app, client, a data set in two tenants, and
an `auth` helper that logs in a user of a given role and tenant and returns its headers."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from abbanoa.auth.passwords import hash_password
from abbanoa.repository import ops
from abbanoa.stores import postgres
from api import create_app
from tests.conftest import drop_session_keys, empty_tables

NOW = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
PASSWORD = "correct horse battery staple"
METRICS_TOKEN = "metrics-token-of-the-api-tests"
METRICS_HEADERS = {"Authorization": f"Bearer {METRICS_TOKEN}"}
_HASH = hash_password(PASSWORD)
_names = itertools.count()


@pytest.fixture(scope="module")
def api_db(database):
    """The session database, emptied (and this session's Redis keys removed) after each test
    module: the API tests read a data set seeded once per module, and tests that change
    data create their own rows."""
    eng = postgres.engine(database)
    yield eng
    empty_tables(eng)
    drop_session_keys(database)


@pytest.fixture(scope="module")
def app(database, api_db):
    app = create_app(database.with_(metrics_token=METRICS_TOKEN))
    app.config["TESTING"] = True
    return app


@pytest.fixture(scope="module")
def client(app):
    return app.test_client()


def _insert(conn, table: str, rows: list[dict]) -> None:
    if rows:
        cols = list(rows[0])
        conn.execute(
            sa.text(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})"), rows
        )


@pytest.fixture(scope="module")
def data(api_db):
    """Tenants `abbanoa` (district D1, nodes N1 flow meter and N2 pressure logger) and `other`
    (district X1, node X-N1), each with readings, rollups, latest values, an anomaly,
    efficiency, quality and forecast rows; plus two job runs."""
    with api_db.begin() as conn:
        for tenant in ("abbanoa", "other"):
            ops.ensure_tenant(conn, tenant)
        _insert(
            conn,
            "districts",
            [
                {"district_id": "D1", "tenant_id": "abbanoa", "name": "Cagliari centro", "mains_length_km": 12.5},
                {"district_id": "X1", "tenant_id": "other", "name": "Other district", "mains_length_km": 3.0},
            ],
        )
        _insert(
            conn,
            "nodes",
            [
                {
                    "node_id": "N1",
                    "tenant_id": "abbanoa",
                    "name": "Inlet",
                    "node_type": "flow_meter",
                    "district_id": "D1",
                },
                {
                    "node_id": "N2",
                    "tenant_id": "abbanoa",
                    "name": "P",
                    "node_type": "pressure_logger",
                    "district_id": "D1",
                },
                {"node_id": "X-N1", "tenant_id": "other", "name": "X", "node_type": "flow_meter", "district_id": "X1"},
            ],
        )
        _insert(
            conn,
            "district_meters",
            [
                {"district_id": "D1", "node_id": "N1", "direction": 1},
                {"district_id": "X1", "node_id": "X-N1", "direction": 1},
            ],
        )
        raw, r5, r1h = [], [], []
        for node, base in (("N1", 10.0), ("X-N1", 99.0)):
            for i in range(36):  # 3 hours of 5-minute readings ending at NOW
                ts = NOW - dt.timedelta(hours=3) + dt.timedelta(minutes=5 * i)
                raw.append({"node_id": node, "metric": "flow_rate", "ts": ts, "value": base + i})
                r5.append(
                    {
                        "node_id": node,
                        "metric": "flow_rate",
                        "bucket": ts,
                        "n": 1,
                        "sum_value": base + i,
                        "min_value": base + i,
                        "max_value": base + i,
                        "avg_value": base + i,
                    }
                )
            for h in range(3):
                vals = [base + i for i in range(h * 12, h * 12 + 12)]
                r1h.append(
                    {
                        "node_id": node,
                        "metric": "flow_rate",
                        "bucket": NOW - dt.timedelta(hours=3 - h),
                        "n": 12,
                        "sum_value": sum(vals),
                        "min_value": min(vals),
                        "max_value": max(vals),
                        "avg_value": sum(vals) / 12,
                    }
                )
        _insert(conn, "readings", raw)
        _insert(conn, "readings_5m", r5)
        _insert(conn, "readings_1h", r1h)
        _insert(
            conn,
            "latest_readings",
            [
                {"node_id": "N1", "metric": "flow_rate", "ts": NOW - dt.timedelta(minutes=5), "value": 45.0},
                {"node_id": "N2", "metric": "pressure", "ts": NOW - dt.timedelta(minutes=5), "value": 3.2},
                {"node_id": "X-N1", "metric": "flow_rate", "ts": NOW - dt.timedelta(minutes=5), "value": 134.0},
            ],
        )
        anomaly_ids = {}
        for tenant, node, district in (("abbanoa", "N1", "D1"), ("other", "X-N1", "X1")):
            anomaly_ids[tenant] = conn.execute(
                sa.text(
                    "INSERT INTO anomalies (tenant_id, node_id, district_id, metric, anomaly_type, severity, "
                    "start_ts, end_ts, observed_value, expected_value) VALUES (:t, :n, :d, 'flow_rate', 'burst', "
                    "'high', :s, :e, 80, 20) RETURNING anomaly_id"
                ),
                {
                    "t": tenant,
                    "n": node,
                    "d": district,
                    "s": NOW - dt.timedelta(hours=2),
                    "e": NOW - dt.timedelta(hours=1),
                },
            ).scalar()
        day = (NOW - dt.timedelta(days=1)).replace(hour=0)
        _insert(
            conn,
            "network_efficiency",
            [
                {
                    "district_id": d,
                    "period": "day",
                    "period_start": day,
                    "inflow_m3": v,
                    "losses_m3": v / 4,
                    "nrw_pct": 25.0,
                }
                for d, v in (("D1", 1000.0), ("X1", 50.0))
            ],
        )
        _insert(
            conn,
            "quality_compliance",
            [
                {
                    "node_id": n,
                    "metric": "chlorine",
                    "day": day.date(),
                    "samples": 288,
                    "compliant": 280,
                    "compliance_pct": 97.2,
                }
                for n in ("N1", "X-N1")
            ],
        )
        _insert(
            conn,
            "data_quality",
            [
                {
                    "node_id": n,
                    "metric": "flow_rate",
                    "day": day.date(),
                    "expected": 288,
                    "received": 280,
                    "score": 95.0,
                }
                for n in ("N1", "X-N1")
            ],
        )
        _insert(
            conn,
            "forecasts",
            [
                {
                    "node_id": n,
                    "metric": "flow_rate",
                    "model": "seasonal",
                    "generated_at": NOW,
                    "forecast_ts": NOW + dt.timedelta(hours=h),
                    "value": 10.0 + h,
                    "lower_bound": 5.0 + h,
                    "upper_bound": 15.0 + h,
                }
                for n in ("N1", "X-N1")
                for h in (1, 2)
            ],
        )
        _insert(
            conn,
            "job_runs",
            [
                {
                    "job_name": "realtime_sync",
                    "trigger": "scheduler",
                    "status": "succeeded",
                    "started_at": NOW,
                    "finished_at": NOW,
                    "rows_processed": 72,
                    "error": None,
                },
                {
                    "job_name": "cache_refresh",
                    "trigger": "scheduler",
                    "status": "failed",
                    "started_at": NOW,
                    "finished_at": NOW,
                    "rows_processed": 0,
                    "error": "boom",
                },
            ],
        )
    return {"anomalies": anomaly_ids, "now": NOW}


def new_anomaly(eng, tenant: str = "abbanoa", node: str = "N1") -> int:
    """A fresh open anomaly (for tests that change its status)."""
    with eng.begin() as conn:
        return conn.execute(
            sa.text(
                "INSERT INTO anomalies (tenant_id, node_id, metric, anomaly_type, severity, start_ts, end_ts) "
                "VALUES (:t, :n, 'pressure', 'pressure_drop', 'medium', :s, :s) RETURNING anomaly_id"
            ),
            {"t": tenant, "n": node, "s": NOW - dt.timedelta(days=2)},
        ).scalar()


@pytest.fixture(scope="module")
def make_user(api_db):
    def make(role: str, tenant: str = "abbanoa", username: str | None = None, active: bool = True) -> dict:
        username = username or f"{tenant}-{role}-{next(_names)}"
        with api_db.begin() as conn:
            ops.ensure_tenant(conn, tenant)
            user = ops.create_user(conn, tenant, username, _HASH, role)
            if not active:
                user = ops.update_user(conn, tenant, user["user_id"], active=False)
        return user

    return make


@pytest.fixture(scope="module")
def auth(client, make_user):
    """auth(role, tenant) -> headers with a fresh access token of a new user of that role."""

    def login(role: str = "viewer", tenant: str = "abbanoa") -> dict:
        user = make_user(role, tenant)
        response = client.post(
            "/api/v1/auth/login", json={"username": user["username"], "password": PASSWORD, "tenant": tenant}
        )
        assert response.status_code == 200, response.json
        body = response.json
        return Login(
            {"Authorization": f"Bearer {body['access_token']}"},
            body["access_token"],
            body["refresh_token"],
            body["user"],
        )

    return login


@dataclass
class Login:
    headers: dict
    access: str
    refresh: str
    user: dict
