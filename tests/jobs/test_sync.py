"""The data path warehouse -> PostgreSQL -> Redis, against the real emulator and database."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
import sqlalchemy as sa

from abbanoa.jobs import realtime_sync
from abbanoa.jobs.runner import run_job
from abbanoa.repository import sync_state
from abbanoa.stores.bigquery import Warehouse

from .conftest import reading, series

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def pg_rows(db):
    with db.connect() as conn:
        return sorted(
            (n, m, t, v) for n, m, t, v in conn.execute(sa.text("SELECT node_id, metric, ts, value FROM readings"))
        )


def wh_rows(settings):
    rows = Warehouse(settings).query_rows("SELECT node_id, metric, ts, value FROM `{dataset}.readings`")
    return sorted({(r["node_id"], r["metric"], r["ts"], r["value"]) for r in rows})


def hourly(db, node_id, metric):
    with db.connect() as conn:
        return {
            b: (n, avg)
            for b, n, avg in conn.execute(
                sa.text(
                    "SELECT bucket, n, avg_value FROM readings_1h WHERE node_id = :n AND metric = :m ORDER BY bucket"
                ),
                {"n": node_id, "m": metric},
            )
        }


def test_sync_after_load_makes_postgres_hold_exactly_the_warehouse_rows(jobs_settings, registry, cache):
    wh = Warehouse(jobs_settings)
    start = NOW - dt.timedelta(hours=6)
    wh.load_rows("readings", series("FM1", "flow_rate", start, 72, value=lambda i: 10 + i % 7))
    wh.load_rows("readings", series("P1", "pressure", start, 72, value=lambda i: 3 + (i % 3) / 10))

    record = run_job("realtime_sync", jobs_settings, now=NOW)

    assert record.status == "succeeded"
    assert pg_rows(registry) == wh_rows(jobs_settings)
    assert len(pg_rows(registry)) == 144
    latest = cache.get_json(cache.key("node:{node_id}:latest", node_id="FM1"))
    assert latest["tenant_id"] == "t1"
    assert latest["readings"]["flow_rate"]["value"] == 10 + 71 % 7
    assert latest["readings"]["flow_rate"]["unit"] == "l/s"
    with registry.connect() as conn:
        n_5m = conn.execute(sa.text("SELECT sum(n) FROM readings_5m WHERE node_id = 'FM1'")).scalar()
    assert n_5m == 72


def test_running_each_job_twice_changes_nothing(jobs_settings, registry, cache):
    wh = Warehouse(jobs_settings)
    wh.load_rows("readings", series("FM1", "flow_rate", NOW - dt.timedelta(days=2), 500, value=lambda i: i % 13))

    def snapshot():
        with registry.connect() as conn:
            return [
                conn.execute(sa.text(f"SELECT count(*), COALESCE(sum(value), 0) FROM {t}")).one()
                if t in ("readings", "latest_readings")
                else conn.execute(sa.text(f"SELECT count(*), COALESCE(sum(sum_value), 0) FROM {t}")).one()
                for t in ("readings", "latest_readings", "readings_5m", "readings_1h", "readings_1d")
            ] + [conn.execute(sa.text("SELECT value FROM sync_watermarks ORDER BY name")).all()]

    for job in ("etl_init", "realtime_sync", "daily_sync", "cache_refresh", "weekly_cleanup"):
        run_job(job, jobs_settings, now=NOW)
        first = snapshot()
        run_job(job, jobs_settings, now=NOW)
        assert snapshot() == first, job
    assert first[0][0] == 500


def test_late_reading_for_yesterday_is_picked_up_and_its_rollups_corrected(jobs_settings, registry):
    wh = Warehouse(jobs_settings)
    yesterday = dt.datetime(2026, 11, 19, 10, 0, tzinfo=dt.UTC)
    wh.load_rows("readings", series("P1", "pressure", yesterday, 12, value=lambda i: 3.0))
    run_job("realtime_sync", jobs_settings, now=NOW)
    assert hourly(registry, "P1", "pressure")[yesterday] == (12, 3.0)

    # a logger that was offline delivers a reading for yesterday 10:02:30, today
    late = reading("P1", "pressure", yesterday + dt.timedelta(minutes=2, seconds=30), 4.3, NOW)
    wh.load_rows("readings", [late])
    record = run_job("realtime_sync", jobs_settings, now=NOW + dt.timedelta(minutes=5))

    assert record.rows == 1
    n, avg = hourly(registry, "P1", "pressure")[yesterday]
    assert n == 13
    assert avg == pytest.approx((12 * 3.0 + 4.3) / 13)
    with registry.connect() as conn:
        daily = conn.execute(
            sa.text("SELECT n, max_value FROM readings_1d WHERE node_id = 'P1' AND bucket = :b"),
            {"b": dt.datetime(2026, 11, 18, 23, 0, tzinfo=dt.UTC)},  # 19 Nov 00:00 in Rome (CET)
        ).one()
    assert daily == (13, 4.3)


def test_crash_between_load_and_commit_loses_and_doubles_nothing(jobs_settings, registry, monkeypatch):
    wh = Warehouse(jobs_settings)
    wh.load_rows("readings", series("FM1", "flow_rate", NOW - dt.timedelta(hours=2), 24))

    def crash(*args, **kwargs):
        raise RuntimeError("instance killed before commit")

    monkeypatch.setattr(sync_state, "set_watermark", crash)
    with pytest.raises(RuntimeError, match="killed"):
        run_job("realtime_sync", jobs_settings, now=NOW)
    assert pg_rows(registry) == []
    monkeypatch.undo()

    run_job("realtime_sync", jobs_settings, now=NOW)
    run_job("realtime_sync", jobs_settings, now=NOW)

    assert pg_rows(registry) == wh_rows(jobs_settings)
    with registry.connect() as conn:
        runs = conn.execute(sa.text("SELECT status FROM job_runs ORDER BY run_id")).scalars().all()
    assert runs == ["failed", "succeeded", "succeeded"]


def test_two_concurrent_runs_of_one_job_one_runs_one_is_skipped(jobs_settings, registry, monkeypatch):
    entered, release = threading.Event(), threading.Event()
    original = realtime_sync.registry_sync.sync_if_changed

    def slow(*args, **kwargs):
        entered.set()
        release.wait(30)
        return original(*args, **kwargs)

    monkeypatch.setattr(realtime_sync.registry_sync, "sync_if_changed", slow)
    results = {}
    first = threading.Thread(target=lambda: results.setdefault("first", run_job("realtime_sync", jobs_settings)))
    first.start()
    assert entered.wait(30)
    results["second"] = run_job("realtime_sync", jobs_settings)
    release.set()
    first.join(30)

    assert results["second"].status == "skipped"
    assert results["first"].status == "succeeded"
    with registry.connect() as conn:
        statuses = sorted(conn.execute(sa.text("SELECT status FROM job_runs")).scalars())
    assert statuses == ["skipped", "succeeded"]


def test_a_running_row_left_by_a_dead_run_does_not_block_the_next_run(jobs_settings, registry):
    # a run whose process died an hour into a one-hour lease: its lock died with it
    with registry.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO job_runs (job_name, status, started_at) "
                "VALUES ('cache_refresh', 'running', now() - interval '2 minutes')"
            )
        )
    record = run_job("cache_refresh", jobs_settings)
    assert record.status == "succeeded"
    with registry.connect() as conn:
        first = conn.execute(sa.text("SELECT status, error FROM job_runs ORDER BY run_id LIMIT 1")).one()
    assert first.status == "failed"
    assert "died before finishing" in first.error


def test_daily_sync_repairs_differences_both_ways(jobs_settings, registry):
    wh = Warehouse(jobs_settings)
    start = NOW - dt.timedelta(days=1)
    wh.load_rows("readings", series("FM1", "flow_rate", start, 48, value=lambda i: 20.0))
    run_job("realtime_sync", jobs_settings, now=NOW)
    with registry.begin() as conn:
        # one row lost in PostgreSQL, one row there that the warehouse never had, one value changed
        conn.execute(sa.text("DELETE FROM readings WHERE node_id = 'FM1' AND ts = :t"), {"t": start})
        conn.execute(
            sa.text("INSERT INTO readings (node_id, metric, ts, value) VALUES ('FM1', 'flow_rate', :t, 99)"),
            {"t": start + dt.timedelta(minutes=2)},
        )
        conn.execute(
            sa.text("UPDATE readings SET value = 21 WHERE node_id = 'FM1' AND ts = :t"),
            {"t": start + dt.timedelta(minutes=50)},
        )

    record = run_job("daily_sync", jobs_settings, now=NOW)

    assert record.details["node_metric_days_repaired"] >= 1
    assert pg_rows(registry) == wh_rows(jobs_settings)
    assert hourly(registry, "FM1", "flow_rate")[start] == (12, 20.0)


def test_daily_rollup_of_a_daylight_saving_day_has_25_hours(jobs_settings, registry):
    wh = Warehouse(jobs_settings)
    local_midnight = dt.datetime(2026, 10, 24, 22, 0, tzinfo=dt.UTC)  # 25 Oct 00:00 CEST
    wh.load_rows("readings", series("P1", "pressure", local_midnight, 26, step=dt.timedelta(hours=1)))
    run_job("realtime_sync", jobs_settings, now=NOW)
    with registry.connect() as conn:
        days = conn.execute(sa.text("SELECT bucket, n FROM readings_1d WHERE node_id = 'P1' ORDER BY bucket")).all()
    assert days[0] == (local_midnight, 25)  # 25 Oct lasted 25 hours in Rome
    assert days[1] == (dt.datetime(2026, 10, 25, 23, 0, tzinfo=dt.UTC), 1)


def test_weekly_cleanup_drops_whole_expired_partitions(jobs_settings, registry):
    old = NOW - dt.timedelta(days=jobs_settings.retention_raw_days + 3)
    Warehouse(jobs_settings).load_rows(
        "readings", series("P1", "pressure", old, 3, ingested_at=NOW - dt.timedelta(hours=1))
    )
    Warehouse(jobs_settings).load_rows("readings", series("P1", "pressure", NOW - dt.timedelta(hours=1), 3))
    run_job("realtime_sync", jobs_settings, now=NOW)

    record = run_job("weekly_cleanup", jobs_settings, now=NOW)

    assert "readings_p" + old.strftime("%Y%m%d") in record.details["partitions_dropped"]
    with registry.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM readings")).scalar() == 3
        # aggregates are kept longer than raw readings
        assert (
            conn.execute(
                sa.text("SELECT count(*) FROM readings_1d WHERE bucket < :c"), {"c": NOW - dt.timedelta(days=100)}
            ).scalar()
            == 1
        )


def test_a_chunked_import_sharing_one_ingestion_time_is_copied_whole_and_not_refetched(jobs_settings, registry):
    # given an import whose first chunk is committed when the sync runs
    wh = Warehouse(jobs_settings)
    ingested = NOW - dt.timedelta(minutes=3)
    start = NOW - dt.timedelta(hours=4)
    rows = series("FM1", "flow_rate", start, 48, value=lambda i: 7.0 + i, ingested_at=ingested)
    wh.load_rows("readings", rows[:30])
    first = run_job("realtime_sync", jobs_settings, now=NOW)

    # when its second chunk, with the same ingested_at, commits before the next sync
    wh.load_rows("readings", rows[30:])
    second = run_job("realtime_sync", jobs_settings, now=NOW + dt.timedelta(minutes=5))
    third = run_job("realtime_sync", jobs_settings, now=NOW + dt.timedelta(minutes=10))

    # then every row is in PostgreSQL once, and an unchanged batch is not fetched again
    assert (first.details["fetched"], second.details["fetched"], third.details["fetched"]) == (30, 48, 0)
    assert pg_rows(registry) == wh_rows(jobs_settings)
    assert len(pg_rows(registry)) == 48
    assert sum(n for n, _ in hourly(registry, "FM1", "flow_rate").values()) == 48
