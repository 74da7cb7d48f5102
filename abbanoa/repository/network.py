"""Districts, network efficiency, water quality, forecasts and the dashboard summary."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from abbanoa.analytics import compliance as quality_compliance
from abbanoa.analytics import water_balance
from abbanoa.metrics import METRICS
from abbanoa.repository.common import InvalidParameter, iso, one_row, overlapping, row_dict
from abbanoa.repository.nodes import require_node

PERIODS = ("hour", "day", "month")
TIME_RANGES = ("1h", "24h", "7d", "30d")
EFFICIENCY_COLUMNS = (
    "period, period_start, inflow_m3, outflow_m3, net_inflow_m3, consumption_m3, losses_m3, mnf_l_s, "
    "night_leakage_l_s, leakage_m3_day, nrw_pct, real_losses_l_conn_day, uarl_l_day, ili, m1a_m3_km_day, "
    "m1b_pct, coverage, hours, expected_hours, partial, details, computed_at"
)


def list_districts(conn: sa.Connection, tenant_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.text(
            "SELECT d.district_id, d.name, d.mains_length_km, d.service_connections, d.private_pipe_km, "
            "d.avg_pressure_m, (SELECT count(*) FROM nodes n WHERE n.district_id = d.district_id "
            "AND n.tenant_id = :t) AS nodes FROM districts d WHERE d.tenant_id = :t ORDER BY d.district_id"
        ),
        {"t": tenant_id},
    ).all()
    return [row_dict(r) for r in rows]


def _require_district(conn: sa.Connection, tenant_id: str, district_id: str) -> dict[str, Any]:
    return one_row(
        conn,
        "SELECT district_id, name FROM districts WHERE tenant_id = :t AND district_id = :d",
        {"t": tenant_id, "d": district_id},
        f"district {district_id!r} not found",
    )


def district_efficiency(
    conn: sa.Connection,
    tenant_id: str,
    district_id: str,
    period: str = "day",
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    limit: int = 1000,
) -> dict[str, Any]:
    """Water balance and IWA/ARERA indicators stored by the network_efficiency job."""
    if period not in PERIODS:
        raise InvalidParameter("period", f"must be one of {', '.join(PERIODS)}")
    district = _require_district(conn, tenant_id, district_id)
    p: dict[str, Any] = {"t": tenant_id, "d": district_id, "period": period, "lim": limit}
    cond = overlapping(p, start, end, "e.period_start")
    rows = conn.execute(
        sa.text(
            f"SELECT {', '.join('e.' + c.strip() for c in EFFICIENCY_COLUMNS.split(','))} "
            "FROM network_efficiency e JOIN districts d ON d.district_id = e.district_id "
            f"WHERE d.tenant_id = :t AND e.district_id = :d AND e.period = :period{cond} "
            "ORDER BY e.period_start DESC LIMIT :lim"
        ),
        p,
    ).all()
    items = [row_dict(r) for r in rows]
    # the range's figures over its complete days: the same function as the dashboard and reports
    summary = water_balance.range_figures([i for i in items if i["period"] == "day"]) if period == "day" else None
    return {**district, "period": period, "items": items, "summary": summary}


def quality(
    conn: sa.Connection,
    tenant_id: str,
    start: dt.date | None = None,
    end: dt.date | None = None,
    node_id: str | None = None,
    limit: int = 1000,
) -> dict[str, Any]:
    """Compliance per node/metric/day, open and recent excursions, and data-quality scores."""
    p: dict[str, Any] = {"t": tenant_id, "lim": limit}
    node_cond = ""
    if node_id is not None:
        node_cond = " AND x.node_id = :n"
        p["n"] = node_id
    day_cond = overlapping(p, start, end, "x.day") + node_cond
    exc_cond = overlapping(p, start, end, "x.start_ts", "x.end_ts") + node_cond
    join = "JOIN nodes n ON n.node_id = x.node_id AND n.tenant_id = :t"
    compliance = conn.execute(
        sa.text(
            f"SELECT x.node_id, x.metric, x.day, x.samples, x.compliant, x.compliance_pct "
            f"FROM quality_compliance x {join} WHERE true{day_cond} ORDER BY x.day DESC, x.node_id, x.metric "
            "LIMIT :lim"
        ),
        p,
    ).all()
    excursions = conn.execute(
        sa.text(
            f"SELECT x.excursion_id, x.node_id, x.metric, x.limit_kind, x.low, x.high, x.start_ts, x.end_ts, "
            f"x.peak_value, x.open FROM quality_excursions x {join} WHERE true{exc_cond} "
            "ORDER BY x.start_ts DESC LIMIT :lim"
        ),
        p,
    ).all()
    data_quality = conn.execute(
        sa.text(
            f"SELECT x.node_id, x.metric, x.day, x.expected, x.received, x.completeness, x.validity, "
            f"x.staleness_s, x.consistency, x.duplicates, x.score FROM data_quality x {join} "
            f"WHERE true{day_cond} ORDER BY x.day DESC, x.node_id, x.metric LIMIT :lim"
        ),
        p,
    ).all()
    # the range's totals from every row (the listing above is limited)
    per_metric = conn.execute(
        sa.text(
            f"SELECT x.metric, sum(x.samples) AS samples, sum(x.compliant) AS compliant FROM quality_compliance x "
            f"{join} WHERE true{day_cond} GROUP BY x.metric"
        ),
        p,
    ).all()
    found = [row_dict(r) for r in excursions]
    return {
        "compliance": [row_dict(r) for r in compliance],
        "excursions": found,
        "data_quality": [row_dict(r) for r in data_quality],
        "summary": quality_compliance.range_compliance([row_dict(r) for r in per_metric], found),
    }


def forecasts(conn: sa.Connection, tenant_id: str, node_id: str, metric: str) -> dict[str, Any]:
    """The newest forecast run of a series (node, or `dma:<district>`), with its accuracy history."""
    if metric not in METRICS:
        raise InvalidParameter("metric", f"unknown metric {metric!r}; known: {', '.join(METRICS)}")
    if node_id.startswith("dma:"):
        _require_district(conn, tenant_id, node_id[4:])
    else:
        require_node(conn, tenant_id, node_id)
    p = {"n": node_id, "m": metric}
    newest = conn.execute(
        sa.text(
            "SELECT model, generated_at FROM forecasts WHERE node_id = :n AND metric = :m "
            "ORDER BY generated_at DESC LIMIT 1"
        ),
        p,
    ).first()
    points: list[dict] = []
    if newest is not None:
        points = [
            row_dict(r)
            for r in conn.execute(
                sa.text(
                    "SELECT forecast_ts AS ts, value, lower_bound AS lower, upper_bound AS upper, confidence "
                    "FROM forecasts WHERE node_id = :n AND metric = :m AND model = :model AND generated_at = :g "
                    "ORDER BY forecast_ts"
                ),
                {**p, "model": newest.model, "g": newest.generated_at},
            ).all()
        ]
    accuracy = conn.execute(
        sa.text(
            "SELECT model, generated_at, points, mae, mape, coverage, scored_at FROM forecast_accuracy "
            "WHERE node_id = :n AND metric = :m ORDER BY generated_at DESC LIMIT 30"
        ),
        p,
    ).all()
    return {
        "node_id": node_id,
        "metric": metric,
        "unit": METRICS[metric].unit,
        "model": newest.model if newest else None,
        "generated_at": iso(newest.generated_at) if newest else None,
        "points": points,
        "accuracy": [row_dict(r) for r in accuracy],
    }


def cached_forecast(conn_factory, cache, tenant_id: str, node_id: str, metric: str) -> dict[str, Any]:
    """The forecast document: Redis `cache:forecast:{node_id}:{metric}` (written by the
    forecast job) when it belongs to this tenant, else PostgreSQL. Carries `source`."""
    if cache is not None:
        from abbanoa.stores.cache import FORECAST

        doc = cache.get_json(cache.key(FORECAST, node_id=node_id, metric=metric))
        if isinstance(doc, dict) and doc.get("tenant_id") == tenant_id and isinstance(doc.get("body"), dict):
            return {**doc["body"], "source": "cache"}
    with conn_factory() as conn:
        return {**forecasts(conn, tenant_id, node_id, metric), "source": "database"}


def dashboard_summary(conn_factory, cache, tenant_id: str, time_range: str, now: dt.datetime) -> dict[str, Any]:
    """System figures: Redis `system:metrics:{tenant}:{range}` first, else computed from PostgreSQL.

    The result carries `source` ("cache" or "database").
    """
    if time_range not in TIME_RANGES:
        raise InvalidParameter("range", f"must be one of {', '.join(TIME_RANGES)}")
    if cache is not None:
        from abbanoa.stores.cache import SYSTEM_METRICS

        doc = cache.get_json(cache.key(SYSTEM_METRICS, tenant_id=tenant_id, time_range=time_range))
        if isinstance(doc, dict) and doc.get("tenant_id", tenant_id) == tenant_id:
            return {**doc, "source": "cache"}
    from abbanoa.summary import system_metrics

    with conn_factory() as conn:
        figures = system_metrics(conn, tenant_id, time_range, now)
    return {**figures, "source": "database"}


def store_topology(conn: sa.Connection, tenant_id: str, geojson: dict[str, Any]) -> int:
    """Replace the tenant's pipes with the LineStrings of a topology GeoJSON; returns how many."""
    import json

    rows = []
    for f in geojson.get("features") or []:
        geometry, props = f.get("geometry") or {}, f.get("properties") or {}
        if geometry.get("type") != "LineString" or not props.get("link_id"):
            continue
        rows.append({"t": tenant_id, "l": str(props["link_id"]), "d": props.get("district_id"),
                     "k": props.get("kind"), "len": props.get("length_m"), "dia": props.get("diameter_mm"),
                     "c": json.dumps(geometry["coordinates"])})  # fmt: skip
    conn.execute(sa.text("DELETE FROM network_pipes WHERE tenant_id = :t"), {"t": tenant_id})
    if rows:
        conn.execute(
            sa.text(
                "INSERT INTO network_pipes (tenant_id, link_id, district_id, kind, length_m, diameter_mm, coordinates) "
                "VALUES (:t, :l, :d, :k, :len, :dia, CAST(:c AS jsonb))"
            ),
            rows,
        )
    return len(rows)


def pipes(conn: sa.Connection, tenant_id: str) -> list[dict[str, Any]]:
    """The tenant's pipes: link_id, district_id, kind, length_m, diameter_mm, coordinates [[lon, lat]].

    From a loaded topology (network_pipes); else from the districts' imported hydraulic
    models (network_models: a pipe joins the two junctions whose `pipes_at` list it, drawn
    between their fitted positions); else none."""
    rows = conn.execute(
        sa.text(
            "SELECT link_id, district_id, kind, length_m, diameter_mm, coordinates FROM network_pipes "
            "WHERE tenant_id = :t ORDER BY link_id"
        ),
        {"t": tenant_id},
    ).all()
    if rows:
        return [row_dict(r) for r in rows]
    out = []
    for m in conn.execute(
        sa.text("SELECT district_id, positions, pipes_at FROM network_models WHERE tenant_id = :t ORDER BY 1"),
        {"t": tenant_id},
    ):
        ends: dict[str, list[str]] = {}
        for junction, links in (m.pipes_at or {}).items():
            for link in links:
                ends.setdefault(link, []).append(junction)
        for link, junctions in sorted(ends.items()):
            placed = [m.positions[j] for j in junctions if j in (m.positions or {})]
            if len(placed) == 2:
                out.append({"link_id": link, "district_id": m.district_id, "kind": "pipe", "length_m": None,
                            "diameter_mm": None, "coordinates": [[lon, lat] for lat, lon in placed]})  # fmt: skip
    return out
