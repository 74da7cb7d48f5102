"""System metrics per tenant and time range: the figures behind `system:metrics:{...}`.

Computed from stored data only; a figure that cannot be computed (no data in the range,
no efficiency results yet) is None, and the API / dashboard say so.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

TIME_RANGES: dict[str, dt.timedelta] = {
    "1h": dt.timedelta(hours=1),
    "24h": dt.timedelta(hours=24),
    "7d": dt.timedelta(days=7),
    "30d": dt.timedelta(days=30),
}
# A node is stale when its newest reading is older than this.
STALE_AFTER = dt.timedelta(hours=1)
SEVERITIES = ("low", "medium", "high", "critical")


def system_metrics(conn: sa.Connection, tenant_id: str, time_range: str, now: dt.datetime) -> dict[str, Any]:
    """The tenant's system figures over the last `time_range` ending at `now`."""
    if time_range not in TIME_RANGES:
        raise ValueError(f"time_range must be one of {', '.join(TIME_RANGES)}")
    start = now - TIME_RANGES[time_range]
    # short ranges read the 5-minute rollup, long ones the hourly one
    rollup, seconds = ("readings_5m", 300) if time_range in ("1h", "24h") else ("readings_1h", 3600)
    p = {"t": tenant_id, "start": start, "now": now, "stale": now - STALE_AFTER}

    nodes = conn.execute(
        sa.text(
            "SELECT count(*) AS total, "
            "count(*) FILTER (WHERE l.newest >= :stale) AS active, "
            "count(*) FILTER (WHERE l.newest < :stale OR l.newest IS NULL) AS stale "
            "FROM nodes n LEFT JOIN (SELECT node_id, max(ts) AS newest FROM latest_readings "
            "GROUP BY node_id) l ON l.node_id = n.node_id WHERE n.tenant_id = :t AND n.active"
        ),
        p,
    ).one()
    readings = conn.execute(
        sa.text(
            f"SELECT COALESCE(sum(r.n), 0) FROM {rollup} r JOIN nodes n ON n.node_id = r.node_id "
            "WHERE n.tenant_id = :t AND r.bucket >= :start AND r.bucket < :now"
        ),
        p,
    ).scalar()
    # Net district inflow volume: the flow of every district meter, signed by direction.
    inflow = conn.execute(
        sa.text(
            f"SELECT sum(m.direction * r.avg_value * {seconds}) / 1000.0 AS m3, count(*) AS buckets "
            f"FROM district_meters m JOIN districts d ON d.district_id = m.district_id "
            f"JOIN {rollup} r ON r.node_id = m.node_id AND r.metric = 'flow_rate' "
            "WHERE d.tenant_id = :t AND r.bucket >= :start AND r.bucket < :now"
        ),
        p,
    ).one()
    anomalies = dict(
        conn.execute(
            sa.text(
                "SELECT severity, count(*) FROM anomalies WHERE tenant_id = :t AND status <> 'resolved' "
                "GROUP BY severity"
            ),
            p,
        ).all()
    )
    losses = conn.execute(
        sa.text(
            "SELECT sum(e.losses_m3), count(*) FROM network_efficiency e "
            "JOIN districts d ON d.district_id = e.district_id "
            "WHERE d.tenant_id = :t AND e.period = 'day' "
            "AND e.period_start >= CAST(:start AS timestamptz) - interval '1 day' "
            "AND e.period_start < :now"
        ),
        p,
    ).one()
    freshest = conn.execute(
        sa.text("SELECT max(l.ts) FROM latest_readings l JOIN nodes n ON n.node_id = l.node_id WHERE n.tenant_id = :t"),
        p,
    ).scalar()
    return {
        "tenant_id": tenant_id,
        "time_range": time_range,
        "from": start.isoformat(),
        "to": now.isoformat(),
        "nodes_total": nodes.total,
        "nodes_active": nodes.active,
        "nodes_stale": nodes.stale,
        "readings": int(readings),
        "total_inflow_m3": round(inflow.m3, 3) if inflow.buckets else None,
        "open_anomalies": {s: int(anomalies.get(s, 0)) for s in SEVERITIES},
        "open_anomalies_total": int(sum(anomalies.values())),
        "losses_m3": round(losses[0], 3) if losses[1] and losses[0] is not None else None,
        "newest_reading": freshest.isoformat() if freshest else None,
        "generated_at": now.isoformat(),
    }
