"""PostgreSQL and Redis (own instances on their own ports, tests/faults/own_services.py)
stopped mid-job and mid-request: nothing lost or doubled, the run recorded failed (by
the next run when PostgreSQL itself was gone) or degraded, and the API answering a
clear 503 while the database is down and recovering without a restart."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import sqlalchemy as sa

from abbanoa import faults
from abbanoa import settings as settings_module
from abbanoa.auth.passwords import hash_password
from abbanoa.jobs import latest
from abbanoa.jobs.runner import run_job
from abbanoa.repository import ops
from abbanoa.stores import postgres
from abbanoa.stores.bigquery import Warehouse
from api import create_app
from tests.jobs.conftest import series

from .conftest import exact_copy

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
API = "/api/v1"
PASSWORD = "correct horse battery staple"
ANSWER_BOUND_S = 10  # a request while the database is down: a 503 within this


def seed_registry(eng) -> None:
    """Tenant t1, district D1 with meters FM1 (+1) and FM2 (-1), a pressure logger P1."""
    with eng.begin() as conn:
        conn.execute(sa.text("INSERT INTO tenants VALUES ('t1', 'Tenant one') ON CONFLICT DO NOTHING"))
        conn.execute(sa.text("INSERT INTO districts (district_id, tenant_id, name) VALUES ('D1', 't1', 'D one')"))
        conn.execute(
            sa.text(
                "INSERT INTO nodes (node_id, tenant_id, name, node_type, district_id) VALUES "
                "('FM1', 't1', 'inlet', 'flow_meter', 'D1'), ('FM2', 't1', 'outlet', 'flow_meter', 'D1'), "
                "('P1', 't1', 'logger', 'pressure_logger', 'D1')"
            )
        )
        conn.execute(sa.text("INSERT INTO district_meters VALUES ('D1', 'FM1', 1), ('D1', 'FM2', -1)"))


def statuses(eng, job):
    with eng.connect() as conn:
        return (
            conn.execute(sa.text("SELECT status FROM job_runs WHERE job_name = :j ORDER BY run_id"), {"j": job})
            .scalars()
            .all()
        )


def stop_at(monkeypatch, stage: str, stop) -> list[str]:
    """Stop a store when the job reaches `stage` (the named points of abbanoa/faults.py)."""
    reached = []

    def hook(name):
        if name == stage and not reached:
            reached.append(name)
            stop()

    monkeypatch.setattr(faults, "stage", hook)
    return reached


@pytest.fixture
def own_jobs_settings(jobs_settings, own_pg):
    """A warehouse dataset of the test's own and the own PostgreSQL, registry seeded."""
    settings = jobs_settings.with_(database_url=own_pg.settings.database_url)
    settings_module.reset_settings(settings)
    seed_registry(postgres.engine(settings))
    return settings


def test_postgresql_stopped_mid_realtime_sync_the_next_run_marks_it_failed_and_copies_all(
    own_jobs_settings, own_pg, monkeypatch
):
    settings = own_jobs_settings
    eng = postgres.engine(settings)
    wh = Warehouse(settings)
    start = NOW - dt.timedelta(days=2)
    wh.load_rows("readings", series("FM1", "flow_rate", start, 600, value=lambda i: 10 + i % 7, ingested_at=NOW))
    reached = stop_at(monkeypatch, "realtime_sync:page_upserted", own_pg.stop)

    with pytest.raises(sa.exc.DBAPIError):  # the job's next statement finds the server gone
        run_job("realtime_sync", settings)
    assert reached
    own_pg.start()
    assert statuses(eng, "realtime_sync") == ["running"]  # the failure could not be recorded
    monkeypatch.undo()

    record = run_job("realtime_sync", settings)

    assert record.status == "succeeded"
    assert statuses(eng, "realtime_sync") == ["failed", "succeeded"]
    assert exact_copy(eng, wh) == (600, 0, 0)


def test_redis_stopped_mid_cache_refresh_is_degraded_and_the_next_run_refills_it(
    own_jobs_settings, own_redis, monkeypatch
):
    settings = own_jobs_settings.with_(redis_url=own_redis.url)
    eng = postgres.engine(settings)
    wh = Warehouse(settings)
    wh.load_rows("readings", series("P1", "pressure", NOW - dt.timedelta(hours=2), 24, ingested_at=NOW))
    assert run_job("realtime_sync", settings).status == "succeeded"
    # Redis dies after the system metrics were written, before the latest readings
    count_latest = latest.count_latest

    def stopping(ctx):
        own_redis.stop()
        return count_latest(ctx)

    monkeypatch.setattr(latest, "count_latest", stopping)
    started = time.monotonic()
    degraded = run_job("cache_refresh", settings)
    took = time.monotonic() - started
    monkeypatch.undo()
    own_redis.start()
    time.sleep(5.1)  # the cache's back-off after a failure (stores/cache.py _RETRY_AFTER_S)
    again = run_job("cache_refresh", settings)

    assert degraded.status == "degraded" and took < 30
    written, wanted = degraded.details["system_metrics_keys"], degraded.rows + degraded.details["keys_not_written"]
    assert 0 < written < wanted and degraded.details["latest_keys"] == 0
    assert f"Redis took {written} of {wanted} keys" in degraded.error
    assert again.status == "succeeded" and again.rows == wanted
    assert statuses(eng, "cache_refresh") == ["degraded", "succeeded"]


@pytest.fixture
def own_api(own_pg, base_settings):
    settings = own_pg.settings
    with postgres.engine(settings).begin() as conn:
        ops.ensure_tenant(conn, "abbanoa")
        user = ops.create_user(conn, "abbanoa", "faults-viewer", hash_password(PASSWORD), "viewer")
        conn.execute(sa.text("INSERT INTO districts (district_id, tenant_id, name) VALUES ('D1', 'abbanoa', 'Centro')"))
    app = create_app(settings)
    app.config["TESTING"] = True
    mid_request: list = []  # actions run once each, inside the next requests

    @app.before_request
    def inject():
        if mid_request:
            mid_request.pop(0)()

    client = app.test_client()
    login = client.post(f"{API}/auth/login", json={"username": user["username"], "password": PASSWORD})
    assert login.status_code == 200, login.json
    return mid_request, client, {"Authorization": f"Bearer {login.json['access_token']}"}


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_the_api_answers_503_while_postgresql_is_down_and_recovers_without_a_restart(own_api, own_pg):
    _, client, headers = own_api
    assert client.get(f"{API}/districts", headers=headers).status_code == 200

    own_pg.stop()
    down, down_s = timed(lambda: client.get(f"{API}/districts", headers=headers))
    ready, _ = timed(lambda: client.get("/readyz"))
    login, login_s = timed(
        lambda: client.post(f"{API}/auth/login", json={"username": "faults-viewer", "password": PASSWORD})
    )
    own_pg.start()
    back, back_s = timed(lambda: client.get(f"{API}/districts", headers=headers))

    assert down.status_code == 503 and down.json["error"]["code"] == "unavailable", down.json
    assert down_s < ANSWER_BOUND_S and login_s < ANSWER_BOUND_S
    assert ready.status_code == 503
    assert login.status_code == 503, login.json
    assert back.status_code == 200 and [d["district_id"] for d in back.json["items"]] == ["D1"], back.json
    assert back_s < ANSWER_BOUND_S


def test_postgresql_stopped_mid_request_answers_503_and_the_next_request_succeeds(own_api, own_pg):
    mid_request, client, headers = own_api
    stopping = []
    mid_request.append(lambda: (stopping.append("stopped"), own_pg.stop()))  # the outage begins in the request
    cut, cut_s = timed(lambda: client.get(f"{API}/districts", headers=headers))
    own_pg.start()
    back = client.get(f"{API}/districts", headers=headers)

    assert stopping == ["stopped"]
    assert cut.status_code == 503 and cut_s < ANSWER_BOUND_S, cut.json
    assert back.status_code == 200, back.json


def test_redis_stopped_mid_request_the_api_answers_from_postgresql(own_pg, own_redis):
    settings = own_pg.settings.with_(redis_url=own_redis.url)
    with postgres.engine(settings).begin() as conn:
        ops.ensure_tenant(conn, "abbanoa")
        user = ops.create_user(conn, "abbanoa", "faults-redis-viewer", hash_password(PASSWORD), "viewer")
        conn.execute(sa.text("INSERT INTO districts (district_id, tenant_id, name) VALUES ('D1', 'abbanoa', 'Centro')"))
    app = create_app(settings)
    mid_request: list = []

    @app.before_request
    def inject():
        if mid_request:
            mid_request.pop(0)()

    client = app.test_client()
    login = client.post(f"{API}/auth/login", json={"username": user["username"], "password": PASSWORD})
    headers = {"Authorization": f"Bearer {login.json['access_token']}"}
    mid_request.append(own_redis.stop)

    cut, cut_s = timed(lambda: client.get(f"{API}/districts", headers=headers))
    after, _ = timed(lambda: client.get(f"{API}/districts", headers=headers))
    own_redis.start()

    assert login.status_code == 200, login.json
    assert not mid_request  # the outage did begin inside the request
    assert cut.status_code == 200 and cut_s < ANSWER_BOUND_S, cut.json
    assert after.status_code == 200 and [d["district_id"] for d in after.json["items"]] == ["D1"]
