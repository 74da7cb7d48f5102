"""What the weekly cleanup removes and keeps ahead: readings partitions (whole days),
rollup rows, old job runs, quarantine rows and processed events, partitions to come."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

ROLLUP_TABLES = ("readings_5m", "readings_1h", "readings_1d")
# table -> its time column, for the operational logs purged after RETENTION_LOG_DAYS
LOG_TABLES = {
    "job_runs": "started_at",
    "quarantine": "quarantined_at",
    "processed_events": "processed_at",
}


def readings_partitions(conn: sa.Connection) -> list[tuple[str, dt.datetime]]:
    """(partition name, end of its range), oldest first."""
    rows = conn.execute(sa.text("SELECT partition_name, ends_at FROM readings_partitions ORDER BY starts_at")).all()
    return [(r.partition_name, r.ends_at) for r in rows]


def drop_partitions(conn: sa.Connection, names: list[str]) -> None:
    for name in names:
        # names come from the catalogue and match readings_pYYYYMMDD
        conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}"')


def delete_rollups_before(conn: sa.Connection, tables: tuple[str, ...], cutoff: dt.datetime) -> dict[str, int]:
    """Rollup rows whose bucket is before `cutoff`, per table: rows deleted."""
    return {
        table: conn.execute(sa.text(f"DELETE FROM {table} WHERE bucket < :c"), {"c": cutoff}).rowcount
        for table in tables
    }


def delete_logs_before(conn: sa.Connection, cutoff: dt.datetime) -> dict[str, int]:
    """Job runs (finished), quarantine rows and processed events older than `cutoff`."""
    running = {"job_runs": " AND status <> 'running'"}
    return {
        table: conn.execute(
            sa.text(f"DELETE FROM {table} WHERE {column} < :c{running.get(table, '')}"), {"c": cutoff}
        ).rowcount
        for table, column in LOG_TABLES.items()
    }


def ensure_partitions(conn: sa.Connection, start: dt.datetime, end: dt.datetime) -> int:
    """Create the daily readings partitions missing in [start, end]; returns how many."""
    return conn.execute(sa.text("SELECT ensure_readings_partitions(:a, :b)"), {"a": start, "b": end}).scalar()


def analyze(engine) -> None:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
