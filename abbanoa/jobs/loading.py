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

from abbanoa.repository import sync_state
from abbanoa.repository.readings_upsert import COLUMNS
from abbanoa.stores.bigquery import Warehouse, array_param, param

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


def get_watermark(conn: sa.Connection, name: str) -> dt.datetime | None:
    return sync_state.get_watermark(conn, name)


def set_watermark(conn: sa.Connection, name: str, value: dt.datetime) -> None:
    sync_state.set_watermark(conn, name, value)
