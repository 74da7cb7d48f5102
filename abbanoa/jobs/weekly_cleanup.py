"""Weekly cleanup (Sunday 03:00): retention by dropping whole readings partitions,
rollups kept longer, old job runs / quarantine / processed events purged, ANALYZE.

Gather (the partitions) -> decide (which have expired, which rollups the job deletes
itself) -> apply (repository/retention.py)."""

from __future__ import annotations

import datetime as dt

from abbanoa.jobs.base import JobContext, JobOutcome
from abbanoa.repository import retention, rollups

ROLLUP_TABLES = retention.ROLLUP_TABLES


def expired_partitions(partitions: list[tuple[str, dt.datetime]], cutoff: dt.datetime) -> list[str]:
    """Names of the partitions whose whole range ends at or before the cutoff."""
    return [name for name, ends_at in partitions if ends_at <= cutoff]


def run(ctx: JobContext) -> JobOutcome:
    s = ctx.settings
    raw_cutoff = ctx.now - dt.timedelta(days=s.retention_raw_days)
    rollup_cutoff = ctx.now - dt.timedelta(days=s.retention_rollup_days)
    log_cutoff = ctx.now - dt.timedelta(days=s.retention_log_days)
    with ctx.engine.begin() as conn:
        dropped = expired_partitions(retention.readings_partitions(conn), raw_cutoff)
        # continuous aggregates (TimescaleDB) have their own retention policy (sql/0021)
        tables = () if rollups.maintained_by_database(conn) else ROLLUP_TABLES
        retention.drop_partitions(conn, dropped)
        details: dict = {
            "partitions_dropped": dropped,
            "rollup_rows_deleted": retention.delete_rollups_before(conn, tables, rollup_cutoff),
        }
        logs = retention.delete_logs_before(conn, log_cutoff)
        details.update({f"{table}_deleted": n for table, n in logs.items()})
        details["partitions_created"] = retention.ensure_partitions(
            conn, ctx.now, ctx.now + dt.timedelta(days=s.partitions_ahead_days)
        )
    retention.analyze(ctx.engine)
    rows = len(dropped) + sum(details["rollup_rows_deleted"].values()) + sum(logs.values())
    return JobOutcome(rows=rows, details=details)
