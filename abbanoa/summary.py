"""System metrics per tenant and time range: the figures behind `system:metrics:{...}`.

Computed from stored data only; a figure that cannot be computed (no data in the range,
no efficiency results yet) is None, and the API / dashboard say so.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from abbanoa.analytics import water_balance

TIME_RANGES: dict[str, dt.timedelta] = {
    "1h": dt.timedelta(hours=1),
    "24h": dt.timedelta(hours=24),
    "7d": dt.timedelta(days=7),
    "30d": dt.timedelta(days=30),
}
# A node is stale when its newest reading is older than this.
STALE_AFTER = dt.timedelta(hours=1)
SEVERITIES = ("low", "medium", "high", "critical")
STATUSES = ("open", "acknowledged", "resolved")
TIMEZONE = "Europe/Rome"


def balance_days(conn: sa.Connection, tenant_id: str, start: dt.datetime, now: dt.datetime, tz: str = TIMEZONE):
    """The complete local days of a range: those that start on or after the local day of
    `start` and are complete by `now`; when there is none (a range shorter than a day), the
    newest complete day. Returns (day rows per district, first day, last day)."""
    zone = ZoneInfo(tz)
    first = start.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0).astimezone(dt.UTC)
    cols = (
        "e.district_id, e.period_start, e.net_inflow_m3, e.outflow_m3, e.losses_m3, e.consumption_m3, "
        "e.mnf_l_s, e.leakage_m3_day, e.real_losses_l_conn_day, e.ili, e.m1a_m3_km_day, e.hours, e.partial"
    )
    base = (
        f"SELECT {cols} FROM network_efficiency e JOIN districts d ON d.district_id = e.district_id "
        "WHERE d.tenant_id = :t AND e.period = 'day' AND NOT e.partial AND e.period_start < :now "
    )
    p = {"t": tenant_id, "first": first, "now": now}
    rows = [dict(r._mapping) for r in conn.execute(sa.text(base + "AND e.period_start >= :first"), p)]
    if not rows:
        newest = conn.execute(
            sa.text(
                "SELECT max(e.period_start) FROM network_efficiency e "
                "JOIN districts d ON d.district_id = e.district_id WHERE d.tenant_id = :t AND e.period = 'day' "
                "AND NOT e.partial AND e.period_start < :now"
            ),
            p,
        ).scalar()
        if newest is not None:
            rows = [
                dict(r._mapping) for r in conn.execute(sa.text(base + "AND e.period_start = :n"), {**p, "n": newest})
            ]
    return rows


def tenant_balance(rows: list[dict], tz: str = TIMEZONE) -> dict[str, Any]:
    """The tenant's water balance over its complete days: water_balance.range_figures per
    district, volumes summed, M1b over the sums (one definition with the Efficiency view)."""
    by_district: dict[str, list[dict]] = {}
    for r in rows:
        by_district.setdefault(r["district_id"], []).append(r)
    figures = [water_balance.range_figures(v) for v in by_district.values()]
    if not figures:
        return {"days": 0, "first_day": None, "last_day": None, "input_m3": None, "losses_m3": None,
                "consumption_m3": None, "nrw_pct": None, "m1b_pct": None, "districts": 0}  # fmt: skip

    def total(key):
        values = [f[key] for f in figures if f[key] is not None]
        return sum(values) if values else None

    inflow, losses = total("input_m3"), total("losses_m3")
    billed = total("consumption_m3") if all(f["consumption_m3"] is not None for f in figures) else None
    zone = ZoneInfo(tz)
    days = sorted({r["period_start"] for r in rows})
    return {
        "days": len(days),
        "first_day": days[0].astimezone(zone).date().isoformat(),
        "last_day": days[-1].astimezone(zone).date().isoformat(),
        "input_m3": inflow,
        "losses_m3": losses,
        "consumption_m3": billed,
        "nrw_pct": 100.0 * (inflow - billed) / inflow if billed is not None and inflow else None,
        "m1b_pct": 100.0 * losses / inflow if losses is not None and inflow else None,
        "districts": len(figures),
    }


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
    # anomalies that overlap the range, by status and (open ones) by severity
    counted = conn.execute(
        sa.text(
            "SELECT status, severity, count(*) AS n FROM anomalies WHERE tenant_id = :t "
            "AND end_ts >= :start AND start_ts < :now GROUP BY status, severity"
        ),
        p,
    ).all()
    anomalies = {s: sum(r.n for r in counted if r.severity == s and r.status == "open") for s in SEVERITIES}
    by_status = {s: sum(r.n for r in counted if r.status == s) for s in STATUSES}
    balance = tenant_balance(balance_days(conn, tenant_id, start, now))
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
        "anomalies_by_status": by_status,
        # losses of the range's complete local days (balance.first_day .. last_day)
        "losses_m3": balance["losses_m3"],
        "balance": balance,
        "newest_reading": freshest.isoformat() if freshest else None,
        "generated_at": now.isoformat(),
    }


def refresh_cache(engine, cache, now: dt.datetime, ttl_s: int = 2 * 3600, ranges=tuple(TIME_RANGES)) -> int:
    """Recompute and cache every tenant's system figures for every range (`system:metrics:...`);
    called by the jobs that change them (network efficiency, detection) so the Overview is
    as fresh as the data. Returns the keys written (0 when Redis is down)."""
    from abbanoa.stores.cache import SYSTEM_METRICS

    items = {}
    with engine.connect() as conn:
        tenants = list(conn.execute(sa.text("SELECT tenant_id FROM tenants ORDER BY tenant_id")).scalars())
        for tenant_id in tenants:
            for time_range in ranges:
                items[cache.key(SYSTEM_METRICS, tenant_id=tenant_id, time_range=time_range)] = system_metrics(
                    conn, tenant_id, time_range, now
                )
    return cache.set_many_json(items, ttl_s=ttl_s) if items else 0
