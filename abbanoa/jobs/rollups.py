"""Incremental rollups: recompute only the 5-minute, hourly and daily buckets that a set
of changed readings touches. The daily bucket is the start of the Europe/Rome local day,
so a daylight-saving day is a 23- or 25-hour bucket.

Callers put the changed keys into a temporary table `touched (node_id, metric, ts)` in
their transaction and call `refresh(conn, tz)`; the buckets are deleted and rebuilt from
`readings`, so inserts, updates and deletions upstream all come out right.
"""

from __future__ import annotations

import sqlalchemy as sa

# rollup table -> (bucket expression over a column, upper bound on the bucket's width)
ROLLUPS: dict[str, tuple[str, str]] = {
    "readings_5m": ("date_bin('5 minutes', {col}, TIMESTAMPTZ '2000-01-01 00:00:00+00')", "5 minutes"),
    "readings_1h": ("date_trunc('hour', {col}, 'UTC')", "1 hour"),
    "readings_1d": ("date_trunc('day', {col}, :tz)", "25 hours"),
}


def create_touched(conn: sa.Connection) -> None:
    """The temporary table of changed keys, dropped at commit."""
    conn.exec_driver_sql(
        "CREATE TEMP TABLE IF NOT EXISTS touched (node_id text, metric text, ts timestamptz) ON COMMIT DROP"
    )


def refresh(conn: sa.Connection, tz: str) -> dict[str, int]:
    """Rebuild every bucket touched by the rows in `touched`; returns buckets written per table."""
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
