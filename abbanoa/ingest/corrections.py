"""The audit of `import --corrections`: each changed reading's old and new value, who
imported it and when (PostgreSQL `reading_corrections`)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa


def record(conn: sa.Connection, tenant_id: str, changes: list[dict], by: str, at: dt.datetime, source: str) -> int:
    """changes: node_id, metric, ts, old_value, new_value. Returns rows written."""
    if not changes:
        return 0
    conn.execute(
        sa.text(
            "INSERT INTO reading_corrections"
            " (tenant_id, node_id, metric, ts, old_value, new_value, corrected_by, corrected_at, source)"
            " VALUES (:tenant, :n, :m, :t, :old, :new, :by, :at, :src)"
        ),
        [
            {
                "tenant": tenant_id,
                "n": c["node_id"],
                "m": c["metric"],
                "t": c["ts"],
                "old": c["old_value"],
                "new": c["new_value"],
                "by": by,
                "at": at,
                "src": source,
            }
            for c in changes
        ],
    )
    return len(changes)
