"""Anomalies of one tenant: filtered listing, acknowledge and resolve (who and when)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from abbanoa.repository.common import InvalidParameter, one_row, page, row_dict

STATUSES = ("open", "acknowledged", "resolved")
SEVERITIES = ("low", "medium", "high", "critical")
COLUMNS = (
    "anomaly_id, node_id, district_id, metric, anomaly_type, severity, status, score, observed_value, "
    "expected_value, start_ts, end_ts, details, acknowledged_by, acknowledged_at, resolved_by, resolved_at, "
    "created_at, updated_at"
)


def list_anomalies(
    conn: sa.Connection,
    tenant_id: str,
    status: str | None = None,
    severity: str | None = None,
    anomaly_type: str | None = None,
    node_id: str | None = None,
    district_id: str | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> dict[str, Any]:
    where = ["tenant_id = :t"]
    p: dict[str, Any] = {"t": tenant_id, "limit": limit, "offset": offset}
    for column, key, value in (
        ("status", "st", status),
        ("severity", "sev", severity),
        ("anomaly_type", "ty", anomaly_type),
        ("node_id", "n", node_id),
        ("district_id", "d", district_id),
    ):
        if value is not None:
            where.append(f"{column} = :{key}")
            p[key] = value
    if start is not None:
        where.append("end_ts >= :start")
        p["start"] = start
    if end is not None:
        where.append("start_ts < :end")
        p["end"] = end
    cond = " AND ".join(where)
    total = conn.execute(sa.text(f"SELECT count(*) FROM anomalies WHERE {cond}"), p).scalar()
    rows = conn.execute(
        sa.text(
            f"SELECT {COLUMNS} FROM anomalies WHERE {cond} ORDER BY start_ts DESC, anomaly_id DESC "
            "LIMIT :limit OFFSET :offset"
        ),
        p,
    ).all()
    return page(limit, offset, total, with_localisation(conn, tenant_id, [row_dict(r) for r in rows]))


def with_localisation(conn: sa.Connection, tenant_id: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each anomaly with `localisation`: its ranked places, area and method (issue 20), [] if none."""
    from abbanoa.repository.localisation import localisations_for

    found = localisations_for(conn, tenant_id, [item["anomaly_id"] for item in items])
    return [dict(item, localisation=found.get(item["anomaly_id"], [])) for item in items]


def get_anomaly(conn: sa.Connection, tenant_id: str, anomaly_id: int) -> dict[str, Any]:
    return one_row(
        conn,
        f"SELECT {COLUMNS} FROM anomalies WHERE tenant_id = :t AND anomaly_id = :a",
        {"t": tenant_id, "a": anomaly_id},
        f"anomaly {anomaly_id} not found",
    )


def acknowledge(conn: sa.Connection, tenant_id: str, anomaly_id: int, username: str, now: dt.datetime) -> dict:
    """open -> acknowledged (by, at). Acknowledging a resolved anomaly is refused."""
    current = get_anomaly(conn, tenant_id, anomaly_id)
    if current["status"] == "resolved":
        raise InvalidParameter("status", "anomaly is already resolved")
    if current["status"] == "open":
        conn.execute(
            sa.text(
                "UPDATE anomalies SET status = 'acknowledged', acknowledged_by = :u, acknowledged_at = :now, "
                "updated_at = :now WHERE tenant_id = :t AND anomaly_id = :a"
            ),
            {"u": username, "now": now, "t": tenant_id, "a": anomaly_id},
        )
    return get_anomaly(conn, tenant_id, anomaly_id)


def resolve(conn: sa.Connection, tenant_id: str, anomaly_id: int, username: str, now: dt.datetime) -> dict:
    """open/acknowledged -> resolved (by, at); resolving twice keeps the first resolution."""
    current = get_anomaly(conn, tenant_id, anomaly_id)
    if current["status"] != "resolved":
        conn.execute(
            sa.text(
                "UPDATE anomalies SET status = 'resolved', resolved_by = :u, resolved_at = :now, "
                "acknowledged_by = COALESCE(acknowledged_by, :u), acknowledged_at = COALESCE(acknowledged_at, :now), "
                "updated_at = :now WHERE tenant_id = :t AND anomaly_id = :a"
            ),
            {"u": username, "now": now, "t": tenant_id, "a": anomaly_id},
        )
    return get_anomaly(conn, tenant_id, anomaly_id)
