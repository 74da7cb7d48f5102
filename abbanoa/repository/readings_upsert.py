"""Readings into PostgreSQL, the apply half of every sync (realtime, daily, initial load):
daily partitions ensured, COPY into a temporary table, one INSERT ... ON CONFLICT upsert (so
duplicates and redeliveries are absorbed), the touched rollup buckets rebuilt, and the
latest value of each series moved forward; all in the caller's transaction."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa

from abbanoa.metrics import METRICS
from abbanoa.repository import retention, rollups
from abbanoa.stores import postgres

COLUMNS = ["node_id", "metric", "ts", "value", "ingested_at"]


def upsert(conn: sa.Connection, frame: pd.DataFrame, tz: str, ahead_days: int) -> int:
    """Upsert readings, rebuild their rollup buckets and latest values; returns rows changed."""
    if frame.empty:
        return 0
    frame = frame[frame["metric"].isin(METRICS.keys())]
    # a partition for each UTC day present (not every day between the oldest and newest:
    # one stray old reading must not create years of empty partitions)
    for day in sorted(frame["ts"].dt.floor("D").unique()):
        day = pd.Timestamp(day).to_pydatetime()
        retention.ensure_partitions(conn, day, day)
    now = dt.datetime.now(dt.UTC)
    retention.ensure_partitions(conn, now, now + dt.timedelta(days=ahead_days))
    conn.exec_driver_sql(
        "CREATE TEMP TABLE incoming (node_id text, metric text, ts timestamptz, value double precision,"
        " ingested_at timestamptz) ON COMMIT DROP"
    )
    postgres.copy_rows(conn, "incoming", COLUMNS, records(frame))
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


def records(frame: pd.DataFrame):
    ts = frame["ts"].dt.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    ing = frame["ingested_at"].dt.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
    return zip(frame["node_id"], frame["metric"], ts, frame["value"].astype(float), ing, strict=True)
