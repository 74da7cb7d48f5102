"""Readings as the scheduled jobs read them (every tenant, active nodes): a raw window, the
hourly rollup, the newest reading of each series, and the registry the detectors need.

Series come back as plain DataFrames (node_id, metric, ts, value), read in bulk (bulk.py)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa

from abbanoa.repository.bulk import epoch_us, read_frame

SERIES_COLUMNS = ["node_id", "metric", "ts", "value"]
_TYPES = {"node_id": "str", "metric": "str", "value": "float64"}


def raw_window(conn: sa.Connection, since: dt.datetime, until: dt.datetime) -> pd.DataFrame:
    """Raw readings of active nodes with since <= ts <= until."""
    return read_frame(
        conn,
        f"SELECT r.node_id, r.metric, {epoch_us('r.ts')}, r.value FROM readings r"
        " JOIN nodes n ON n.node_id = r.node_id AND n.active WHERE r.ts >= :since AND r.ts <= :until",
        SERIES_COLUMNS,
        _TYPES,
        times=["ts"],
        since=since,
        until=until,
    )


def hourly_means(
    conn: sa.Connection,
    since: dt.datetime,
    until: dt.datetime,
    nodes: list[str] | None = None,
    metric: str | None = None,
    shard: tuple[int, int] | None = None,
) -> pd.DataFrame:
    """Hourly means (ts = start of the hour) of active nodes with since <= hour < until;
    optionally only `nodes`, one `metric`, or the series of shard (i, k) of k (by node)."""
    where = ["h.bucket >= :since", "h.bucket < :until"]
    params: dict = {"since": since, "until": until}
    if nodes is not None:
        where.append("h.node_id = ANY(:nodes)")
        params["nodes"] = list(nodes)
    if metric is not None:
        where.append("h.metric = :metric")
        params["metric"] = metric
    if shard is not None:
        where.append("mod(abs(hashtext(h.node_id)), :k) = :i")
        params.update(i=shard[0], k=shard[1])
    return read_frame(
        conn,
        f"SELECT h.node_id, h.metric, {epoch_us('h.bucket')}, h.avg_value FROM readings_1h h"
        " JOIN nodes n ON n.node_id = h.node_id AND n.active WHERE " + " AND ".join(where),
        SERIES_COLUMNS,
        _TYPES,
        times=["ts"],
        **params,
    )


def usual_intervals(conn: sa.Connection, since: dt.datetime, until: dt.datetime) -> pd.DataFrame:
    """Each series' mean reporting interval (s) over [since, until), from the hourly counts."""
    return read_frame(
        conn,
        "SELECT h.node_id, h.metric,"
        " extract(epoch FROM max(h.bucket) - min(h.bucket) + interval '1 hour') / sum(h.n)"
        " FROM readings_1h h JOIN nodes n ON n.node_id = h.node_id AND n.active"
        " WHERE h.bucket >= :since AND h.bucket < :until GROUP BY h.node_id, h.metric",
        ["node_id", "metric", "interval_s"],
        {"node_id": "str", "metric": "str", "interval_s": "float64"},
        since=since,
        until=until,
    )


def latest(conn: sa.Connection, until: dt.datetime) -> pd.DataFrame:
    """The newest reading (at or before `until`) of every series of active nodes."""
    return read_frame(
        conn,
        f"SELECT l.node_id, l.metric, {epoch_us('l.ts')}, l.value FROM latest_readings l"
        " JOIN nodes n ON n.node_id = l.node_id AND n.active WHERE l.ts <= :until",
        SERIES_COLUMNS,
        _TYPES,
        times=["ts"],
        until=until,
    )


def registry(conn: sa.Connection) -> dict[str, pd.DataFrame]:
    """nodes (tenant, district), districts, district meters and per-node thresholds."""

    def frame(sql: str, columns: list[str]) -> pd.DataFrame:
        return pd.DataFrame(conn.execute(sa.text(sql)).all(), columns=columns)

    return {
        "nodes": frame("SELECT node_id, tenant_id, district_id FROM nodes", ["node_id", "tenant_id", "district_id"]),
        "districts": frame("SELECT district_id, tenant_id FROM districts", ["district_id", "tenant_id"]),
        "meters": frame(
            "SELECT district_id, node_id, direction FROM district_meters", ["district_id", "node_id", "direction"]
        ),
        "thresholds": frame(
            "SELECT node_id, metric, low, high, sensitivity FROM node_thresholds",
            ["node_id", "metric", "low", "high", "sensitivity"],
        ),
    }


def least_node_sensitivity(conn: sa.Connection) -> float | None:
    """The lowest per-node sensitivity configured (node_thresholds), if any."""
    value = conn.execute(sa.text("SELECT min(sensitivity) FROM node_thresholds")).scalar()
    return float(value) if value else None


def active_nodes(conn: sa.Connection) -> int:
    return int(conn.execute(sa.text("SELECT count(*) FROM nodes WHERE active")).scalar())
