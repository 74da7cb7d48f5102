"""Registry copy by the 5-minute sync, the rollup contract for callers outside the sync,
and a resumable initial load."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from abbanoa.jobs import loading
from abbanoa.jobs.runner import run_job
from abbanoa.repository import readings_upsert, rollups
from abbanoa.stores.bigquery import Warehouse

from .conftest import series

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def test_realtime_sync_copies_a_node_added_in_the_warehouse_and_caches_its_latest_reading(jobs_settings, db, cache):
    # given a district and its new meter only in the warehouse registry, with readings
    wh = Warehouse(jobs_settings)
    changed = NOW - dt.timedelta(hours=1)
    wh.load_rows("districts", [{"dma_id": "D9", "tenant_id": "t9", "name": "Nine", "updated_at": changed}])
    wh.load_rows(
        "nodes",
        [
            {"node_id": "N9", "tenant_id": "t9", "name": "inlet nine", "node_type": "flow_meter",
             "latitude": 39.2, "longitude": 9.1, "dma_id": "D9", "updated_at": changed},
        ],
    )  # fmt: skip
    wh.load_rows("district_meters", [{"dma_id": "D9", "node_id": "N9", "direction": 1, "updated_at": changed}])
    wh.load_rows("readings", series("N9", "flow_rate", NOW - dt.timedelta(minutes=30), 6, value=lambda i: 5.0 + i))

    # when the 5-minute sync runs (twice: the second finds nothing new in the registry)
    first = run_job("realtime_sync", jobs_settings, now=NOW)
    second = run_job("realtime_sync", jobs_settings, now=NOW)

    # then PostgreSQL holds the registry and Redis the node's latest value under its tenant
    assert first.details["registry_rows"] == 3
    assert second.details["registry_rows"] == 0
    with db.connect() as conn:
        node = conn.execute(sa.text("SELECT tenant_id, name, district_id FROM nodes WHERE node_id = 'N9'")).one()
        meter = conn.execute(sa.text("SELECT direction FROM district_meters WHERE node_id = 'N9'")).scalar()
    assert tuple(node) == ("t9", "inlet nine", "D9")
    assert meter == 1
    doc = cache.get_json(cache.key("node:{node_id}:latest", node_id="N9"))
    assert doc["tenant_id"] == "t9"
    assert doc["readings"]["flow_rate"]["value"] == 10.0


def test_refresh_of_a_touched_range_rebuilds_its_hourly_and_daily_buckets(jobs_settings, registry):
    # given readings written to PostgreSQL by someone other than the sync
    start = dt.datetime(2026, 11, 19, 10, 0, tzinfo=dt.UTC)
    with registry.begin() as conn:
        conn.execute(sa.text("SELECT ensure_readings_partitions(:a, :b)"), {"a": start, "b": start})
        conn.execute(
            sa.text("INSERT INTO readings (node_id, metric, ts, value) VALUES ('P1', 'pressure', :t, :v)"),
            [{"t": start + dt.timedelta(minutes=10 * i), "v": 2.0 + i} for i in range(9)],
        )
        # when the caller names the range it touched
        written = rollups.refresh(conn, [("P1", "pressure", start, start + dt.timedelta(minutes=80))])
    # then the buckets of that range hold the readings' aggregates
    assert written["readings_1h"] == 2
    with registry.connect() as conn:
        hours = conn.execute(
            sa.text("SELECT bucket, n, sum_value FROM readings_1h WHERE node_id = 'P1' ORDER BY bucket")
        ).all()
        day = conn.execute(sa.text("SELECT bucket, n, max_value FROM readings_1d WHERE node_id = 'P1'")).one()
    assert [tuple(h) for h in hours] == [
        (start, 6, sum(2.0 + i for i in range(6))),
        (start + dt.timedelta(hours=1), 3, sum(2.0 + i for i in range(6, 9))),
    ]
    assert tuple(day) == (dt.datetime(2026, 11, 18, 23, 0, tzinfo=dt.UTC), 9, 10.0)


def test_an_interrupted_initial_load_resumes_where_it_stopped_and_copies_each_row_once(
    jobs_settings, registry, monkeypatch
):
    # given three days of history in the warehouse
    wh = Warehouse(jobs_settings)
    first_day = dt.datetime(2026, 11, 17, 0, 0, tzinfo=dt.UTC)
    rows = series("FM1", "flow_rate", first_day, 72, step=dt.timedelta(hours=1), ingested_at=first_day)
    wh.load_rows("readings", rows)

    # when the load dies while copying the second day
    original, calls = readings_upsert.upsert, []

    def dies_on_second_day(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("instance killed")
        return original(*args, **kwargs)

    monkeypatch.setattr(readings_upsert, "upsert", dies_on_second_day)
    with pytest.raises(RuntimeError, match="killed"):
        run_job("etl_init", jobs_settings, now=NOW)
    with registry.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM readings")).scalar() == 24
        assert loading.get_watermark(conn, "etl_init") == first_day + dt.timedelta(days=1)
    monkeypatch.undo()

    # then the rerun starts at the second day and the result is exactly the warehouse's
    record = run_job("etl_init", jobs_settings, now=NOW)
    assert record.watermark_before == first_day + dt.timedelta(days=1)
    assert record.details["days"] == 2
    with registry.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*), count(DISTINCT ts) FROM readings")).one() == (72, 72)
        assert conn.execute(sa.text("SELECT sum(n) FROM readings_1h")).scalar() == 72
        assert loading.get_watermark(conn, "realtime_sync") == first_day


def test_the_realtime_sync_after_etl_init_fetches_nothing_again(jobs_settings, registry):
    wh = Warehouse(jobs_settings)
    wh.load_rows(
        "readings",
        series("FM1", "flow_rate", NOW - dt.timedelta(hours=3), 24, ingested_at=NOW - dt.timedelta(minutes=5)),
    )

    run_job("etl_init", jobs_settings, now=NOW)
    after = run_job("realtime_sync", jobs_settings, now=NOW + dt.timedelta(minutes=1))

    assert after.details["fetched"] == 0
    with registry.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM readings")).scalar() == 24
