"""Weekly cleanup (Sunday 03:00): retention by dropping whole readings partitions,
rollups kept longer, old job runs / quarantine / processed events purged, ANALYZE."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from abbanoa.jobs import rollups
from abbanoa.jobs.base import JobContext, JobOutcome

ROLLUP_TABLES = ("readings_5m", "readings_1h", "readings_1d")


def expired_partitions(partitions: list[tuple[str, dt.datetime]], cutoff: dt.datetime) -> list[str]:
    """Names of the partitions whose whole range ends at or before the cutoff."""
    return [name for name, ends_at in partitions if ends_at <= cutoff]


def run(ctx: JobContext) -> JobOutcome:
    s = ctx.settings
    raw_cutoff = ctx.now - dt.timedelta(days=s.retention_raw_days)
    rollup_cutoff = ctx.now - dt.timedelta(days=s.retention_rollup_days)
    log_cutoff = ctx.now - dt.timedelta(days=s.retention_log_days)
    details: dict = {}
    with ctx.engine.begin() as conn:
        partitions = conn.execute(
            sa.text("SELECT partition_name, ends_at FROM readings_partitions ORDER BY starts_at")
        ).all()
        dropped = expired_partitions([(n, e) for n, e in partitions], raw_cutoff)
        for name in dropped:
            # names come from the catalogue and match readings_pYYYYMMDD
            conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}"')
        details["partitions_dropped"] = dropped
        # continuous aggregates (TimescaleDB) have their own retention policy (sql/0021)
        tables = () if rollups.maintained_by_database(conn) else ROLLUP_TABLES
        details["rollup_rows_deleted"] = {
            table: conn.execute(sa.text(f"DELETE FROM {table} WHERE bucket < :c"), {"c": rollup_cutoff}).rowcount
            for table in tables
        }
        details["job_runs_deleted"] = conn.execute(
            sa.text("DELETE FROM job_runs WHERE started_at < :c AND status <> 'running'"), {"c": log_cutoff}
        ).rowcount
        details["quarantine_deleted"] = conn.execute(
            sa.text("DELETE FROM quarantine WHERE quarantined_at < :c"), {"c": log_cutoff}
        ).rowcount
        details["processed_events_deleted"] = conn.execute(
            sa.text("DELETE FROM processed_events WHERE processed_at < :c"), {"c": log_cutoff}
        ).rowcount
        details["partitions_created"] = conn.execute(
            sa.text("SELECT ensure_readings_partitions(:a, :b)"),
            {"a": ctx.now, "b": ctx.now + dt.timedelta(days=s.partitions_ahead_days)},
        ).scalar()
    with ctx.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
    rows = len(details["partitions_dropped"]) + sum(details["rollup_rows_deleted"].values())
    rows += details["job_runs_deleted"] + details["quarantine_deleted"] + details["processed_events_deleted"]
    return JobOutcome(rows=rows, details=details)
