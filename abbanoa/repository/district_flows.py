"""Gather the district boundary meters and their hourly flow rollups: the input of the
water balance (network_efficiency) and of the demand forecast (demand_forecast)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa


def meter_hours(conn: sa.Connection, start: dt.datetime, end: dt.datetime) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(meters: district_id, node_id, direction; hours: node_id, bucket UTC, avg_value l/s, n) in [start, end)."""
    meters = pd.read_sql_query(sa.text("SELECT district_id, node_id, direction FROM district_meters"), conn)
    hours = pd.read_sql_query(
        sa.text(
            "SELECT r.node_id, r.bucket, r.avg_value, r.n FROM readings_1h r "
            "WHERE r.metric = 'flow_rate' AND r.node_id IN (SELECT node_id FROM district_meters) "
            "AND r.bucket >= :a AND r.bucket < :b"
        ),
        conn,
        params={"a": start, "b": end},
    )
    if not hours.empty:
        hours["bucket"] = pd.to_datetime(hours["bucket"], utc=True)
    return meters, hours
