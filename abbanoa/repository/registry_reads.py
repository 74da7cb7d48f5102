"""Small registry reads shared by the jobs (tenants, latest values per node)."""

from __future__ import annotations

import sqlalchemy as sa


def tenant_ids(conn: sa.Connection) -> list[str]:
    return list(conn.execute(sa.text("SELECT tenant_id FROM tenants ORDER BY tenant_id")).scalars())


def latest_rows(conn: sa.Connection, node_ids: list[str] | None):
    """(node_id, tenant_id, metric, ts, value) of latest_readings, of these nodes (all when None)."""
    sql = (
        "SELECT n.node_id, n.tenant_id, l.metric, l.ts, l.value FROM nodes n "
        "JOIN latest_readings l ON l.node_id = n.node_id"
    )
    params = {}
    if node_ids is not None:
        sql += " WHERE n.node_id = ANY(:ids)"
        params["ids"] = list(node_ids)
    return conn.execute(sa.text(sql), params).all()


def nodes_with_latest(conn: sa.Connection) -> int:
    """How many nodes have at least one latest value (the documents cache_refresh writes)."""
    return conn.execute(
        sa.text("SELECT count(DISTINCT n.node_id) FROM nodes n JOIN latest_readings l ON l.node_id = n.node_id")
    ).scalar()
