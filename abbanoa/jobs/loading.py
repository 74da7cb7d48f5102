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
from abbanoa.repository import sync_state
from abbanoa.stores import postgres
from abbanoa.stores.bigquery import Warehouse, array_param, param

COLUMNS = ["node_id", "metric", "ts", "value", "ingested_at"]
PAGE_ROWS = 50_000


def _sql(where: str) -> str:
    # the newest version of each reading wins: a correction is a newer row for the same key
    return (
        "SELECT node_id, metric, ts, value, ingested_at FROM `{dataset}.readings` "
        f"WHERE {where} "
        "QUALIFY ROW_NUMBER() OVER (PARTITION BY node_id, metric, ts ORDER BY ingested_at DESC) = 1"
    )


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    for col in ("ts", "ingested_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame[COLUMNS]


def fetch(warehouse: Warehouse, where: str, params: list) -> pd.DataFrame:
    """Readings from the warehouse matching a WHERE clause, one row per (node, metric, ts)."""
    return _typed(warehouse.query_df(_sql(where), params))


def fetch_pages(warehouse: Warehouse, where: str, params: list, page_rows: int = PAGE_ROWS):
    """The same, a page of at most `page_rows` at a time (memory bounded by a page)."""
    for frame in warehouse.query_frames(_sql(where), params, page_rows=page_rows):
        if not frame.empty:
            yield _typed(frame)


def ingested_since(warehouse: Warehouse, since: dt.datetime, until: dt.datetime) -> pd.DataFrame:
    return fetch(
        warehouse,
        "ingested_at > @since AND ingested_at <= @until",
        [param("since", "TIMESTAMP", since), param("until", "TIMESTAMP", until)],
    )


def ingested_since_pages(warehouse: Warehouse, since: dt.datetime, until: dt.datetime):
    return fetch_pages(
        warehouse,
        "ingested_at > @since AND ingested_at <= @until",
        [param("since", "TIMESTAMP", since), param("until", "TIMESTAMP", until)],
    )


def ingested_in_pages(warehouse: Warehouse, times: list[dt.datetime]):
    """Pages of the readings of these ingestion batches (the import ledger's late ones)."""
    return fetch_pages(warehouse, "ingested_at IN UNNEST(@times)", [array_param("times", "TIMESTAMP", times)])


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
    return sync_state.get_watermark(conn, name)


def set_watermark(conn: sa.Connection, name: str, value: dt.datetime) -> None:
    sync_state.set_watermark(conn, name, value)
