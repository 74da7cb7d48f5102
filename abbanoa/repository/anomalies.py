"""Anomalies of one tenant: filtered listing, acknowledge, resolve, reopen, assign, comment,
their history (who did what when), and the system's own workflow step (auto-resolve after the
condition cleared, leak estimates: rules in abbanoa.analytics.incidents)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa

from abbanoa.analytics import incidents
from abbanoa.repository.common import InvalidParameter, one_row, page, row_dict

STATUSES = ("open", "acknowledged", "resolved")
SEVERITIES = ("low", "medium", "high", "critical")
COLUMNS = (
    "anomaly_id, node_id, district_id, metric, anomaly_type, severity, status, score, observed_value, "
    "expected_value, start_ts, end_ts, details, acknowledged_by, acknowledged_at, resolved_by, resolved_at, "
    "created_at, updated_at, assigned_to, resolution, estimated_flow_l_s, estimated_volume_m3"
)
SYSTEM = "system"


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
        record_event(conn, tenant_id, anomaly_id, username, "acknowledge", now)
    return get_anomaly(conn, tenant_id, anomaly_id)


def resolve(
    conn: sa.Connection, tenant_id: str, anomaly_id: int, username: str, now: dt.datetime, reason: str | None = None
) -> dict:
    """open/acknowledged -> resolved (by, at, reason); resolving twice keeps the first resolution."""
    current = get_anomaly(conn, tenant_id, anomaly_id)
    if current["status"] != "resolved":
        conn.execute(
            sa.text(
                "UPDATE anomalies SET status = 'resolved', resolved_by = :u, resolved_at = :now, resolution = :r, "
                "acknowledged_by = COALESCE(acknowledged_by, :u), acknowledged_at = COALESCE(acknowledged_at, :now), "
                "updated_at = :now WHERE tenant_id = :t AND anomaly_id = :a"
            ),
            {"u": username, "now": now, "t": tenant_id, "a": anomaly_id, "r": reason or f"resolved by {username}"},
        )
        action = "auto_resolve" if username == SYSTEM else "resolve"
        record_event(conn, tenant_id, anomaly_id, username, action, now, reason)
    return get_anomaly(conn, tenant_id, anomaly_id)


def reopen(conn: sa.Connection, tenant_id: str, anomaly_id: int, username: str, now: dt.datetime, note=None) -> dict:
    """resolved -> open (the resolution is kept in the history, cleared on the row)."""
    current = get_anomaly(conn, tenant_id, anomaly_id)
    if current["status"] != "resolved":
        raise InvalidParameter("status", "only a resolved anomaly can be reopened")
    conn.execute(
        sa.text(
            "UPDATE anomalies SET status = 'open', resolved_by = NULL, resolved_at = NULL, resolution = NULL, "
            "acknowledged_by = NULL, acknowledged_at = NULL, updated_at = :now WHERE tenant_id = :t AND anomaly_id = :a"
        ),
        {"now": now, "t": tenant_id, "a": anomaly_id},
    )
    record_event(conn, tenant_id, anomaly_id, username, "reopen", now, note)
    return get_anomaly(conn, tenant_id, anomaly_id)


def assign(conn: sa.Connection, tenant_id: str, anomaly_id: int, username: str, assignee: str, now: dt.datetime):
    """Give the anomaly an owner: a user of the same tenant."""
    get_anomaly(conn, tenant_id, anomaly_id)
    known = conn.execute(
        sa.text("SELECT 1 FROM users WHERE tenant_id = :t AND username = :u AND active"),
        {"t": tenant_id, "u": assignee},
    ).first()
    if known is None:
        raise InvalidParameter("assignee", f"no active user {assignee!r} in this tenant")
    conn.execute(
        sa.text("UPDATE anomalies SET assigned_to = :u, updated_at = :now WHERE tenant_id = :t AND anomaly_id = :a"),
        {"u": assignee, "now": now, "t": tenant_id, "a": anomaly_id},
    )
    record_event(conn, tenant_id, anomaly_id, username, "assign", now, assignee)
    return get_anomaly(conn, tenant_id, anomaly_id)


def comment(conn: sa.Connection, tenant_id: str, anomaly_id: int, username: str, text: str, now: dt.datetime):
    get_anomaly(conn, tenant_id, anomaly_id)
    text = (text or "").strip()
    if not text or len(text) > 2000:
        raise InvalidParameter("text", "a comment of 1 to 2000 characters")
    record_event(conn, tenant_id, anomaly_id, username, "comment", now, text)
    return history(conn, tenant_id, anomaly_id)


def record_event(conn, tenant_id: str, anomaly_id: int, actor: str, action: str, now: dt.datetime, note=None) -> None:
    conn.execute(
        sa.text(
            "INSERT INTO anomaly_events (anomaly_id, tenant_id, at, actor, action, note) "
            "VALUES (:a, :t, :now, :u, :action, :note)"
        ),
        {"a": anomaly_id, "t": tenant_id, "now": now, "u": actor, "action": action, "note": note},
    )


def history(conn: sa.Connection, tenant_id: str, anomaly_id: int) -> dict[str, Any]:
    """The anomaly's events, oldest first: created, then who did what when."""
    current = get_anomaly(conn, tenant_id, anomaly_id)
    rows = conn.execute(
        sa.text(
            "SELECT at, actor, action, note FROM anomaly_events WHERE tenant_id = :t AND anomaly_id = :a "
            "ORDER BY at, event_id"
        ),
        {"t": tenant_id, "a": anomaly_id},
    ).all()
    created = {"at": current["created_at"], "actor": SYSTEM, "action": "create", "note": current["anomaly_type"]}
    return {"anomaly_id": anomaly_id, "items": [created, *(row_dict(r) for r in rows)]}


def apply_workflow(conn: sa.Connection, now: dt.datetime) -> dict[str, int]:
    """The system's step after each detection run, for every tenant: resolve anomalies whose
    condition has cleared for their quiet time (incidents.to_close), and refresh the estimated
    flow and volume lost of open leaks and bursts (incidents.leak_estimate)."""
    rows = [
        dict(r._mapping)
        for r in conn.execute(
            sa.text(
                "SELECT anomaly_id, tenant_id, anomaly_type, status, start_ts, end_ts, observed_value, expected_value "
                "FROM anomalies WHERE status <> 'resolved'"
            )
        )
    ]
    closures = incidents.to_close(rows, now)
    tenants = {r["anomaly_id"]: r["tenant_id"] for r in rows}
    for c in closures:
        resolve(conn, tenants[c.anomaly_id], c.anomaly_id, SYSTEM, now, c.reason)
    estimates = []
    for r in rows:
        flow, volume = incidents.leak_estimate(
            r["anomaly_type"], r["observed_value"], r["expected_value"], r["start_ts"], r["end_ts"], now
        )
        if flow is not None:
            estimates.append({"f": flow, "v": volume, "a": r["anomaly_id"]})
    if estimates:
        conn.execute(
            sa.text("UPDATE anomalies SET estimated_flow_l_s = :f, estimated_volume_m3 = :v WHERE anomaly_id = :a"),
            estimates,
        )
    return {"auto_resolved": len(closures), "estimated": len(estimates)}


def live_event(row) -> dict[str, Any]:
    """An alert row as the live stream carries it (pushed on Redis, replayed from here)."""
    payload = row["payload"] if isinstance(row["payload"], dict) else json.loads(row["payload"])
    return {
        "alert_id": row["alert_id"],
        "type": row["alert_type"],
        "severity": row["severity"],
        "escalation": bool(payload.get("escalation")),
        "anomaly_id": payload.get("anomaly_id"),
        "node_id": payload.get("node_id"),
        "district_id": payload.get("district_id"),
        "metric": payload.get("metric"),
        "start_ts": payload.get("start_ts"),
    }


def alerts_since(conn: sa.Connection, tenant_id: str, after_id: int = 0, limit: int = 50) -> list[dict[str, Any]]:
    """The tenant's published alerts newer than `after_id`, oldest first (the live stream's
    replay and the dashboard's banner), in the shape of `live_event`."""
    rows = (
        conn.execute(
            sa.text(
                "SELECT alert_id, alert_type, severity, payload, published_at FROM alerts WHERE tenant_id = :t "
                "AND alert_id > :a AND published_at IS NOT NULL ORDER BY alert_id LIMIT :lim"
            ),
            {"t": tenant_id, "a": after_id, "lim": limit},
        )
        .mappings()
        .all()
    )
    return [{**live_event(r), "published_at": row_dict_value(r["published_at"])} for r in rows]


def newest_alert_id(conn: sa.Connection, tenant_id: str) -> int:
    return int(
        conn.execute(
            sa.text("SELECT COALESCE(max(alert_id), 0) FROM alerts WHERE tenant_id = :t"), {"t": tenant_id}
        ).scalar()
    )


def row_dict_value(value):
    from abbanoa.repository.common import iso

    return iso(value)
