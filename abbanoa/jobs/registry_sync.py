"""The small registry tables (districts, nodes, district_meters) from the warehouse into
PostgreSQL. The warehouse tables are append-only (latest `updated_at` wins); the copy is
whole (a few thousand rows at most) and happens only when the warehouse's newest
`updated_at` moved past the `registry` watermark, so a 5-minute sync pays one small query.
"""

from __future__ import annotations

import datetime as dt

from abbanoa.jobs import loading
from abbanoa.jobs.base import JobContext

WATERMARK = "registry"
LATEST = "QUALIFY ROW_NUMBER() OVER (PARTITION BY {key} ORDER BY updated_at DESC) = 1"


def newest_change(ctx: JobContext) -> dt.datetime | None:
    """The newest `updated_at` over the three warehouse registry tables (None: all empty)."""
    rows = ctx.warehouse.query_rows(
        "SELECT MAX(u) AS u FROM ("
        " SELECT MAX(updated_at) AS u FROM `{dataset}.districts`"
        " UNION ALL SELECT MAX(updated_at) AS u FROM `{dataset}.nodes`"
        " UNION ALL SELECT MAX(updated_at) AS u FROM `{dataset}.district_meters`)"
    )
    return rows[0]["u"] if rows else None


def sync_registry(ctx: JobContext, newest: dt.datetime | None = None) -> int:
    """Upsert the latest version of every registry row into PostgreSQL; returns rows written."""
    from abbanoa.ingest import formats, registry

    districts = ctx.warehouse.query_rows("SELECT * FROM `{dataset}.districts` " + LATEST.format(key="dma_id"))
    nodes = ctx.warehouse.query_rows("SELECT * FROM `{dataset}.nodes` " + LATEST.format(key="node_id"))
    meters = ctx.warehouse.query_rows(
        "SELECT * FROM `{dataset}.district_meters` " + LATEST.format(key="dma_id, node_id")
    )
    tenant_of_district = {d["dma_id"]: d["tenant_id"] for d in districts}
    tenant_of_node = {n["node_id"]: n["tenant_id"] for n in nodes}
    count = 0
    with ctx.engine.begin() as conn:
        for kind, rows, tenant in (
            (formats.DISTRICTS, districts, lambda r: r["tenant_id"]),
            (formats.NODES, nodes, lambda r: r["tenant_id"]),
            (
                formats.DISTRICT_METERS,
                meters,
                lambda r: tenant_of_district.get(r["dma_id"]) or tenant_of_node.get(r["node_id"]),
            ),
        ):
            by_tenant: dict[str, list[dict]] = {}
            for row in rows:
                if tenant(row):
                    by_tenant.setdefault(tenant(row), []).append(row)
            for tenant_id, group in by_tenant.items():
                registry.to_postgres(conn, kind, group, tenant_id)
                count += len(group)
        if newest is not None:
            loading.set_watermark(conn, WATERMARK, newest)
    return count


def sync_if_changed(ctx: JobContext) -> int:
    """Copy the registry when the warehouse changed it since the last copy; returns rows written."""
    newest = newest_change(ctx)
    if newest is None:
        return 0
    with ctx.engine.connect() as conn:
        done = loading.get_watermark(conn, WATERMARK)
    if done is not None and newest <= done:
        return 0
    return sync_registry(ctx, newest)
