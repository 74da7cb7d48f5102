"""Nodes, readings (raw or rollups) and latest values of one tenant."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from abbanoa.metrics import METRICS
from abbanoa.repository.common import InvalidParameter, iso, one_row, overlapping, page, row_dict
from abbanoa.stores.cache import NODE_LATEST

NODE_COLUMNS = "n.node_id, n.name, n.node_type, n.latitude, n.longitude, n.district_id, n.active"
# resolution -> (table, time column, longest range served in one response)
RESOLUTIONS: dict[str, tuple[str, str, dt.timedelta]] = {
    "raw": ("readings", "ts", dt.timedelta(days=31)),
    "5m": ("readings_5m", "bucket", dt.timedelta(days=93)),
    "1h": ("readings_1h", "bucket", dt.timedelta(days=731)),
    "1d": ("readings_1d", "bucket", dt.timedelta(days=3660)),
}
MAX_POINTS = 10_000  # points per response; `truncated` tells when more exist


def list_nodes(
    conn: sa.Connection,
    tenant_id: str,
    district_id: str | None = None,
    node_type: str | None = None,
    active: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    where = ["n.tenant_id = :t"]
    p: dict[str, Any] = {"t": tenant_id, "limit": limit, "offset": offset}
    if district_id is not None:
        where.append("n.district_id = :d")
        p["d"] = district_id
    if node_type is not None:
        where.append("n.node_type = :ty")
        p["ty"] = node_type
    if active is not None:
        where.append("n.active = :a")
        p["a"] = active
    cond = " AND ".join(where)
    total = conn.execute(sa.text(f"SELECT count(*) FROM nodes n WHERE {cond}"), p).scalar()
    rows = conn.execute(
        sa.text(f"SELECT {NODE_COLUMNS} FROM nodes n WHERE {cond} ORDER BY n.node_id LIMIT :limit OFFSET :offset"),
        p,
    ).all()
    return page(limit, offset, total, [row_dict(r) for r in rows])


def get_node(conn: sa.Connection, tenant_id: str, node_id: str) -> dict[str, Any]:
    node = one_row(
        conn,
        f"SELECT {NODE_COLUMNS} FROM nodes n WHERE n.tenant_id = :t AND n.node_id = :n",
        {"t": tenant_id, "n": node_id},
        f"node {node_id!r} not found",
    )
    node["metrics"] = sorted(
        conn.execute(sa.text("SELECT metric FROM latest_readings WHERE node_id = :n"), {"n": node_id}).scalars()
    )
    return node


def require_node(conn: sa.Connection, tenant_id: str, node_id: str) -> None:
    """NotFound unless the node is the tenant's."""
    one_row(
        conn,
        "SELECT node_id FROM nodes WHERE tenant_id = :t AND node_id = :n",
        {"t": tenant_id, "n": node_id},
        f"node {node_id!r} not found",
    )


def get_readings(
    conn: sa.Connection,
    tenant_id: str,
    node_id: str,
    metric: str,
    start: dt.datetime,
    end: dt.datetime,
    resolution: str = "1h",
    max_points: int = MAX_POINTS,
) -> dict[str, Any]:
    """Readings of one node and metric in [start, end) at a resolution (raw or a rollup)."""
    if metric not in METRICS:
        raise InvalidParameter("metric", f"unknown metric {metric!r}; known: {', '.join(METRICS)}")
    if resolution not in RESOLUTIONS:
        raise InvalidParameter("resolution", f"must be one of {', '.join(RESOLUTIONS)}")
    table, col, span = RESOLUTIONS[resolution]
    if end <= start:
        raise InvalidParameter("to", "must be after 'from'")
    if end - start > span:
        raise InvalidParameter("to", f"range longer than {span.days} days at resolution {resolution}")
    if resolution == "raw":
        select = "r.ts AS ts, r.value AS value"
    else:
        select = f"r.{col} AS ts, r.avg_value AS value, r.min_value AS min, r.max_value AS max, r.n AS n"
    rows = conn.execute(
        sa.text(
            f"SELECT {select} FROM {table} r JOIN nodes n ON n.node_id = r.node_id "
            f"WHERE n.tenant_id = :t AND r.node_id = :n AND r.metric = :m "
            f"AND r.{col} >= :start AND r.{col} < :end ORDER BY r.{col} LIMIT :lim"
        ),
        {"t": tenant_id, "n": node_id, "m": metric, "start": start, "end": end, "lim": max_points + 1},
    ).all()
    if not rows:
        require_node(conn, tenant_id, node_id)  # unknown node -> 404; known node -> empty series
    truncated = len(rows) > max_points
    points = [row_dict(r) for r in rows[:max_points]]
    return {
        "node_id": node_id,
        "metric": metric,
        "unit": METRICS[metric].unit,
        "resolution": resolution,
        "from": iso(start),
        "to": iso(end),
        "points": points,
        "count": len(points),
        "truncated": truncated,
    }


def get_latest(conn_factory, cache, tenant_id: str, node_id: str) -> dict[str, Any]:
    """Latest value per metric: Redis `node:{id}:latest` first (its tenant checked), else PostgreSQL.

    `conn_factory` is a callable returning a context-managed connection, so a cache hit
    never touches the database. The result's `source` is "cache" or "database".
    """
    if cache is not None:
        doc = cache.get_json(cache.key(NODE_LATEST, node_id=node_id))
        if isinstance(doc, dict) and doc.get("tenant_id") == tenant_id and isinstance(doc.get("readings"), dict):
            return {"node_id": node_id, "source": "cache", "readings": doc["readings"]}
    with conn_factory() as conn:
        require_node(conn, tenant_id, node_id)
        rows = conn.execute(
            sa.text(
                "SELECT l.metric, l.ts, l.value FROM latest_readings l JOIN nodes n ON n.node_id = l.node_id "
                "WHERE n.tenant_id = :t AND l.node_id = :n ORDER BY l.metric"
            ),
            {"t": tenant_id, "n": node_id},
        ).all()
    readings = {
        r.metric: {"ts": iso(r.ts), "value": r.value, "unit": METRICS[r.metric].unit if r.metric in METRICS else None}
        for r in rows
    }
    return {"node_id": node_id, "source": "database", "readings": readings}


def quarantine(
    conn: sa.Connection, tenant_id: str, start: dt.datetime | None = None, end: dt.datetime | None = None, limit=500
) -> dict[str, Any]:
    """Rows the importer set aside for this tenant, newest first, with their reason, and the
    count per reason (all rows of the range, not only the listed ones)."""
    p: dict[str, Any] = {"t": tenant_id, "lim": limit}
    cond = "tenant_id = :t" + overlapping(p, start, end, "quarantined_at")
    counts = dict(conn.execute(sa.text(f"SELECT reason, count(*) FROM quarantine WHERE {cond} GROUP BY 1"), p).all())
    rows = conn.execute(
        sa.text(
            f"SELECT quarantined_at AS received_at, source, line_no, reason, detail, raw FROM quarantine "
            f"WHERE {cond} ORDER BY quarantined_at DESC, quarantine_id DESC LIMIT :lim"
        ),
        p,
    ).all()
    return {"by_reason": {k: int(v) for k, v in counts.items()}, "total": int(sum(counts.values())),
            "items": [row_dict(r) for r in rows]}  # fmt: skip
