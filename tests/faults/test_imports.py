"""Imports that commit late, correct earlier values, carry absurd times or a 10 MB line."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from abbanoa.ingest import staging
from abbanoa.ingest.importer import import_paths
from abbanoa.jobs.runner import run_job
from abbanoa.stores.bigquery import Warehouse

from .conftest import exact_copy

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def readings_file(path, rows):
    path.write_text(
        "timestamp,node_id,metric,value,unit\n"
        + "".join(f"{ts:%Y-%m-%dT%H:%M:%SZ},{n},{m},{v},{u}\n" for ts, n, m, v, u in rows)
    )
    return path


def pressure(start, count, value=3.0):
    return [(start + dt.timedelta(minutes=5 * i), "P1", "pressure", value + i / 100, "bar") for i in range(count)]


def test_an_import_committing_after_a_newer_one_was_synced_is_copied_whatever_its_age(
    jobs_settings, registry, tmp_path
):
    # given a slow import that started an hour ago with readings from 10 days back, and a
    # quick one started now that is synced before the slow one commits
    quick = readings_file(tmp_path / "quick.csv", pressure(NOW - dt.timedelta(hours=1), 6))
    slow = readings_file(tmp_path / "slow.csv", pressure(NOW - dt.timedelta(days=10), 12, value=4.0))
    import_paths([quick], jobs_settings, "t1", now=NOW)
    run_job("realtime_sync", jobs_settings, now=NOW + dt.timedelta(minutes=1))

    # when the slow import commits (its ingested_at is its start time) and the sync runs
    import_paths([slow], jobs_settings, "t1", now=NOW - dt.timedelta(hours=1))
    record = run_job("realtime_sync", jobs_settings, now=NOW + dt.timedelta(minutes=6))
    again = run_job("realtime_sync", jobs_settings, now=NOW + dt.timedelta(minutes=11))

    # then its rows are in PostgreSQL, once, with their rollups; and not fetched again
    assert record.details["late_batches_fetched"] == 1
    assert again.details["fetched"] == 0
    assert exact_copy(registry, Warehouse(jobs_settings)) == (18, 0, 0)


def test_corrections_replace_values_audited_and_flow_through_sync_and_rollups(jobs_settings, registry, tmp_path):
    start = NOW - dt.timedelta(days=2)
    first = readings_file(tmp_path / "day.csv", pressure(start, 12))
    import_paths([first], jobs_settings, "t1", now=NOW)
    run_job("realtime_sync", jobs_settings, now=NOW + dt.timedelta(minutes=1))
    corrected = [(ts, n, m, (9.5 if i % 4 == 0 else v), u) for i, (ts, n, m, v, u) in enumerate(pressure(start, 12))]
    again = readings_file(tmp_path / "day-corrected.csv", corrected)

    # re-sent without --corrections: duplicates, values kept
    plain = import_paths([again], jobs_settings, "t1", now=NOW + dt.timedelta(minutes=2))
    assert (plain.loaded, plain.duplicates) == (0, 12)

    # with --corrections: three values replaced, audited, synced, rollups rebuilt
    fixed = import_paths(
        [again], jobs_settings, "t1", now=NOW + dt.timedelta(minutes=3), corrections=True, corrected_by="field-team"
    )
    run_job("realtime_sync", jobs_settings, now=NOW + dt.timedelta(minutes=6))

    assert (fixed.files[0].corrected, fixed.loaded, fixed.duplicates) == (3, 3, 9)
    with registry.connect() as conn:
        audit = conn.execute(
            sa.text("SELECT ts, old_value, new_value, corrected_by FROM reading_corrections ORDER BY ts")
        ).all()
        hour_avg = conn.execute(
            sa.text("SELECT avg_value FROM readings_1h WHERE node_id = 'P1' AND bucket = :b"), {"b": start}
        ).scalar()
    assert [(a.old_value, a.new_value, a.corrected_by) for a in audit] == [
        (3.0, 9.5, "field-team"),
        (3.04, 9.5, "field-team"),
        (3.08, 9.5, "field-team"),
    ]
    assert hour_avg == pytest.approx(sum(r[3] for r in corrected) / 12)
    assert exact_copy(registry, Warehouse(jobs_settings)) == (12, 0, 0)


def test_a_1900_reading_is_too_old_and_etl_init_walks_only_days_with_data(jobs_settings, registry, tmp_path):
    rows = pressure(NOW - dt.timedelta(hours=2), 3) + [
        (dt.datetime(1900, 1, 1, tzinfo=dt.UTC), "P1", "pressure", 3.0, "bar"),
        (dt.datetime(1990, 6, 1, tzinfo=dt.UTC), "P1", "pressure", 3.0, "bar"),
    ]
    summary = import_paths([readings_file(tmp_path / "clock.csv", rows)], jobs_settings, "t1", now=NOW)
    assert summary.quarantined == {"too_old": 2}

    # a reading from 2001 that reached the warehouse some other way: one day to walk, not 9,000
    Warehouse(jobs_settings).load_rows(
        "readings",
        [
            {
                "ts": dt.datetime(2001, 3, 1, tzinfo=dt.UTC),
                "node_id": "P1",
                "metric": "pressure",
                "value": 3.3,
                "unit": "bar",
                "ingested_at": NOW,
                "source": "legacy",
            }
        ],
    )
    record = run_job("etl_init", jobs_settings, now=NOW + dt.timedelta(minutes=1))
    assert record.details["days"] == 2
    assert exact_copy(registry, Warehouse(jobs_settings)) == (4, 0, 0)


def test_a_10_mb_line_is_quarantined_in_both_stores_alike(jobs_settings, registry, tmp_path):
    path = tmp_path / "big.csv"
    path.write_text(
        "timestamp,node_id,metric,value,unit\n"
        "2026-11-20T10:00:00Z,P1,pressure,3.1,bar\n"
        + '"'
        + "x" * 10_000_000
        + "\n2026-11-20T10:05:00Z,P1,pressure,3.2,bar\n"
    )

    summary = import_paths([path], jobs_settings, "t1", now=NOW)

    assert summary.loaded >= 1 and sum(summary.quarantined.values()) >= 1
    with registry.connect() as conn:
        pg = conn.execute(sa.text("SELECT count(*), max(length(raw)) FROM quarantine")).one()
    wh = Warehouse(jobs_settings).query_rows("SELECT count(*) AS n FROM `{dataset}.quarantine`")[0]["n"]
    assert pg[0] == wh == sum(summary.quarantined.values())
    assert pg[1] < 10_000


def test_a_warehouse_failure_before_the_quarantine_merge_leaves_neither_quarantine_with_the_file(
    jobs_settings, registry, tmp_path, monkeypatch
):
    path = readings_file(tmp_path / "bad.csv", [(NOW, "NOBODY", "pressure", 3.0, "bar")])
    original = staging.Staging.merge_into

    def failing(self, target, *args, **kwargs):
        if target == "quarantine":
            raise RuntimeError("warehouse went away")
        return original(self, target, *args, **kwargs)

    monkeypatch.setattr(staging.Staging, "merge_into", failing)
    with pytest.raises(RuntimeError):
        import_paths([path], jobs_settings, "t1", now=NOW)

    with registry.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM quarantine")).scalar() == 0
    assert Warehouse(jobs_settings).query_rows("SELECT count(*) AS n FROM `{dataset}.quarantine`")[0]["n"] == 0
