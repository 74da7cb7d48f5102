"""Writing readings into PostgreSQL: partitions ensured, COPY into a temporary table, one
INSERT ... ON CONFLICT upsert, the touched rollups rebuilt, latest values moved forward;
and the per-node-day repairs of the daily sync."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa

from abbanoa.repository import rollups
from abbanoa.stores import postgres

COLUMNS = ["node_id", "metric", "ts", "value", "ingested_at"]


def upsert(conn: sa.Connection, frame: pd.DataFrame, tz: str, ahead_days: int) -> int:
    """Upsert readings, rebuild their rollup buckets and latest values; returns rows changed."""
    if frame.empty:
        return 0
    # a partition for each UTC day present (not every day between the oldest and newest:
    # one stray old reading must not create years of empty partitions)
    for day in sorted(frame["ts"].dt.floor("D").unique()):
        conn.execute(sa.text("SELECT ensure_readings_partitions(:a, :a)"), {"a": pd.Timestamp(day).to_pydatetime()})
    conn.execute(
        sa.text("SELECT ensure_readings_partitions(now(), now() + make_interval(days => :d))"),
        {"d": ahead_days},
    )
    conn.exec_driver_sql(
        "CREATE TEMP TABLE incoming (node_id text, metric text, ts timestamptz, value double precision,"
        " ingested_at timestamptz) ON COMMIT DROP"
    )
    postgres.copy_rows(conn, "incoming", COLUMNS, _records(frame))
    rollups.create_touched(conn)
    # only rows inserted or changed touch their buckets: a redelivered batch rebuilds nothing
    changed = conn.exec_driver_sql(
        "WITH up AS (INSERT INTO readings (node_id, metric, ts, value, ingested_at) "
        "SELECT DISTINCT ON (node_id, metric, ts) node_id, metric, ts, value, ingested_at FROM incoming "
        "ORDER BY node_id, metric, ts, ingested_at DESC "
        "ON CONFLICT (node_id, metric, ts) DO UPDATE SET value = EXCLUDED.value, "
        "ingested_at = EXCLUDED.ingested_at WHERE readings.value IS DISTINCT FROM EXCLUDED.value "
        "RETURNING node_id, metric, ts) "
        "INSERT INTO touched SELECT node_id, metric, ts FROM up"
    ).rowcount
    rollups.refresh(conn, tz=tz)
    update_latest(conn, "incoming")
    conn.exec_driver_sql("DROP TABLE incoming")
    conn.exec_driver_sql("DROP TABLE touched")
    return changed


def update_latest(conn: sa.Connection, source: str) -> None:
    """Move latest_readings forward from the newest row per series in `source`."""
    conn.exec_driver_sql(
        "INSERT INTO latest_readings (node_id, metric, ts, value) "
        f"SELECT DISTINCT ON (node_id, metric) node_id, metric, ts, value FROM {source} "
        "ORDER BY node_id, metric, ts DESC "
        "ON CONFLICT (node_id, metric) DO UPDATE SET ts = EXCLUDED.ts, value = EXCLUDED.value "
        "WHERE EXCLUDED.ts >= latest_readings.ts"
    )


def _records(frame: pd.DataFrame):
    ts = frame["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    ing = frame["ingested_at"].dt.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    return zip(frame["node_id"], frame["metric"], ts, frame["value"].astype(float), ing, strict=True)


def day_counts(conn: sa.Connection, tz: str, start: dt.datetime, now: dt.datetime) -> pd.DataFrame:
    """Readings count and value sum per node, metric and local day in [start, now]."""
    return pd.read_sql_query(
        sa.text(
            "SELECT node_id, metric, (ts AT TIME ZONE :tz)::date AS day, count(*) AS n, sum(value) AS s "
            "FROM readings WHERE ts >= :start AND ts <= :now GROUP BY 1, 2, 3"
        ),
        conn,
        params={"tz": tz, "start": start, "now": now},
    )


def delete_node_range(conn: sa.Connection, node_id: str, start: dt.datetime, end: dt.datetime, tz: str) -> int:
    """Delete a node's readings in [start, end) and rebuild the rollups they were in; returns rows deleted."""
    rollups.create_touched(conn)
    gone = conn.execute(
        sa.text("DELETE FROM readings WHERE node_id = :n AND ts >= :a AND ts < :b RETURNING node_id, metric, ts"),
        {"n": node_id, "a": start, "b": end},
    ).all()
    if gone:
        conn.execute(sa.text("INSERT INTO touched VALUES (:n, :m, :t)"), [{"n": n, "m": m, "t": t} for n, m, t in gone])
        rollups.refresh(conn, tz=tz)
    conn.exec_driver_sql("DROP TABLE touched")
    return len(gone)


def fix_latest(conn: sa.Connection, node_id: str) -> None:
    """Recompute the node's latest values from readings (a deleted newest row must not linger)."""
    conn.execute(sa.text("DELETE FROM latest_readings WHERE node_id = :n"), {"n": node_id})
    conn.execute(
        sa.text(
            "INSERT INTO latest_readings (node_id, metric, ts, value) "
            "SELECT DISTINCT ON (metric) node_id, metric, ts, value FROM readings WHERE node_id = :n "
            "ORDER BY metric, ts DESC"
        ),
        {"n": node_id},
    )
