"""The daily sync's per-node-day repairs in PostgreSQL: the per-day counts compared with
the warehouse, a node-day deleted (its rollups rebuilt), latest values recomputed. The
upsert itself is readings_upsert.py."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa

from abbanoa.repository import rollups


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
