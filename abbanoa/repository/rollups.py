"""Incremental rollups: recompute only the 5-minute, hourly and daily buckets that a set
of changed readings touches. The daily bucket is the start of the Europe/Rome local day,
so a daylight-saving day is a 23- or 25-hour bucket.

Two ways to call it, in the caller's transaction:
- `refresh(conn, [(node_id, metric, ts_from, ts_to), ...])`: every bucket overlapping each
  closed range is rebuilt (the contract other branches use);
- bulk callers put the changed keys into the temporary table `touched (node_id, metric,
  ts)` (`create_touched`) and call `refresh(conn)`.
The buckets are deleted and rebuilt from `readings`, so inserts, updates and deletions
upstream all come out right. Under TimescaleDB the rollups are continuous aggregates (views
the database refreshes itself, sql/0021): `refresh` then writes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import sqlalchemy as sa

# rollup table -> (bucket expression over a column, upper bound on the bucket's width)
ROLLUPS: dict[str, tuple[str, str]] = {
    "readings_5m": ("date_bin('5 minutes', {col}, TIMESTAMPTZ '2000-01-01 00:00:00+00')", "5 minutes"),
    "readings_1h": ("date_trunc('hour', {col}, 'UTC')", "1 hour"),
    "readings_1d": ("date_trunc('day', {col}, :tz)", "25 hours"),
}


def maintained_by_database(conn: sa.Connection) -> bool:
    """True when the rollups are views (TimescaleDB continuous aggregates), not tables."""
    return bool(
        conn.execute(
            sa.text("SELECT EXISTS (SELECT 1 FROM pg_class WHERE oid = to_regclass('readings_5m') AND relkind = 'v')")
        ).scalar()
    )


def create_touched(conn: sa.Connection) -> None:
    """The temporary table of changed keys, dropped at commit."""
    conn.exec_driver_sql(
        "CREATE TEMP TABLE IF NOT EXISTS touched (node_id text, metric text, ts timestamptz) ON COMMIT DROP"
    )


def refresh(
    conn: sa.Connection,
    touched: Iterable[tuple[str, str, dt.datetime, dt.datetime]] | None = None,
    *,
    tz: str | None = None,
) -> dict[str, int]:
    """Rebuild every bucket touched (the given ranges, else the rows of the `touched` table);
    returns buckets written per table."""
    if isinstance(touched, str):
        raise TypeError("refresh(conn, touched, tz=...): touched is a list of (node_id, metric, from, to)")
    if maintained_by_database(conn):
        return {table: 0 for table in ROLLUPS}
    if tz is None:
        from abbanoa.settings import get_settings

        tz = get_settings().timezone
    if touched is not None:
        ranges = [{"n": n, "m": m, "a": a, "b": b} for n, m, a, b in touched]
        create_touched(conn)
        if ranges:
            # one point per 5-minute bucket of each range reaches every 5m, 1h and 1d bucket
            conn.execute(
                sa.text(
                    "INSERT INTO touched SELECT :n, :m, g FROM generate_series("
                    "date_bin('5 minutes', CAST(:a AS timestamptz), TIMESTAMPTZ '2000-01-01 00:00:00+00'), "
                    "CAST(:b AS timestamptz), interval '5 minutes') g"
                ),
                ranges,
            )
        written = _refresh_touched(conn, tz)
        conn.exec_driver_sql("DROP TABLE touched")
        return written
    return _refresh_touched(conn, tz)


def _refresh_touched(conn: sa.Connection, tz: str) -> dict[str, int]:
    written = {}
    for table, (expr, width) in ROLLUPS.items():
        bucket_of_touched = expr.format(col="t.ts")
        bucket_of_reading = expr.format(col="r.ts")
        conn.execute(
            sa.text(
                f"CREATE TEMP TABLE buckets ON COMMIT DROP AS "
                f"SELECT DISTINCT t.node_id, t.metric, {bucket_of_touched} AS bucket FROM touched t"
            ),
            {"tz": tz},
        )
        lo, hi = conn.exec_driver_sql("SELECT min(bucket), max(bucket) FROM buckets").one()
        if lo is None:
            conn.exec_driver_sql("DROP TABLE buckets")
            continue
        conn.exec_driver_sql("ANALYZE buckets")
        conn.exec_driver_sql(
            f"DELETE FROM {table} x USING buckets b "
            "WHERE x.node_id = b.node_id AND x.metric = b.metric AND x.bucket = b.bucket"
        )
        result = conn.execute(
            sa.text(
                f"INSERT INTO {table} (node_id, metric, bucket, n, sum_value, min_value, max_value, avg_value) "
                f"SELECT r.node_id, r.metric, b.bucket, count(*), sum(r.value), min(r.value), max(r.value), "
                f"avg(r.value) FROM buckets b JOIN readings r ON r.node_id = b.node_id "
                f"AND r.metric = b.metric AND r.ts >= b.bucket AND r.ts < b.bucket + interval '{width}' "
                f"AND {bucket_of_reading} = b.bucket "
                # constant bounds let the planner prune readings partitions (and chunks)
                f"AND r.ts >= :lo AND r.ts < CAST(:hi AS timestamptz) + interval '{width}' "
                f"GROUP BY r.node_id, r.metric, b.bucket"
            ),
            {"tz": tz, "lo": lo, "hi": hi},
        )
        written[table] = result.rowcount
        conn.exec_driver_sql("DROP TABLE buckets")
    return written
