"""Carry readings from the warehouse into PostgreSQL: the one path all sync jobs share.

Gather: rows from BigQuery as a DataFrame. Apply, in the caller's transaction: daily
partitions ensured, COPY into a temporary table, one INSERT ... ON CONFLICT upsert (so
duplicates and redeliveries are absorbed), the touched rollup buckets rebuilt, and the
latest value of each series moved forward.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa

from abbanoa.jobs import rollups
from abbanoa.metrics import METRICS
from abbanoa.stores import postgres
from abbanoa.stores.bigquery import Warehouse, param

COLUMNS = ["node_id", "metric", "ts", "value", "ingested_at"]


def fetch(warehouse: Warehouse, where: str, params: list) -> pd.DataFrame:
    """Readings from the warehouse matching a WHERE clause, one row per (node, metric, ts)."""
    frame = warehouse.query_df(
        "SELECT node_id, metric, ts, value, ingested_at FROM `{dataset}.readings` "
        f"WHERE {where} "
        "QUALIFY ROW_NUMBER() OVER (PARTITION BY node_id, metric, ts ORDER BY ingested_at DESC) = 1",
        params,
    )
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    for col in ("ts", "ingested_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame[COLUMNS]


def ingested_since(warehouse: Warehouse, since: dt.datetime, until: dt.datetime) -> pd.DataFrame:
    return fetch(
        warehouse,
        "ingested_at > @since AND ingested_at <= @until",
        [param("since", "TIMESTAMP", since), param("until", "TIMESTAMP", until)],
    )


def upsert(conn: sa.Connection, frame: pd.DataFrame, tz: str, ahead_days: int) -> int:
    """Upsert readings, rebuild their rollup buckets and latest values; returns rows changed."""
    if frame.empty:
        return 0
    frame = frame[frame["metric"].isin(METRICS.keys())]
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


def get_watermark(conn: sa.Connection, name: str) -> dt.datetime | None:
    return conn.execute(sa.text("SELECT value FROM sync_watermarks WHERE name = :n"), {"n": name}).scalar()


def set_watermark(conn: sa.Connection, name: str, value: dt.datetime) -> None:
    conn.execute(
        sa.text(
            "INSERT INTO sync_watermarks (name, value, updated_at) VALUES (:n, :v, now()) "
            "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()"
        ),
        {"n": name, "v": value},
    )
