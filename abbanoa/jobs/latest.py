"""Latest readings in Redis: `node:{node_id}:latest`, built from latest_readings."""

from __future__ import annotations

import sqlalchemy as sa

from abbanoa.jobs.base import JobContext
from abbanoa.metrics import METRICS
from abbanoa.repository import registry_reads
from abbanoa.stores.cache import NODE_LATEST

LATEST_TTL_S = 2 * 3600  # refreshed every 5 minutes by realtime sync, hourly by cache refresh


def latest_documents(conn: sa.Connection, node_ids: list[str] | None) -> dict[str, dict]:
    """node_id -> {"node_id", "tenant_id", "readings": {metric: {"ts", "value", "unit"}}}."""
    docs: dict[str, dict] = {}
    for node_id, tenant_id, metric, ts, value in registry_reads.latest_rows(conn, node_ids):
        doc = docs.setdefault(node_id, {"node_id": node_id, "tenant_id": tenant_id, "readings": {}})
        unit = METRICS[metric].unit if metric in METRICS else None
        doc["readings"][metric] = {"ts": ts.isoformat(), "value": value, "unit": unit}
    return docs


def count_latest(ctx: JobContext) -> int:
    """How many node documents cache_latest(ctx, None) would write."""
    with ctx.engine.connect() as conn:
        return registry_reads.nodes_with_latest(conn)


def cache_latest(ctx: JobContext, node_ids: list[str] | None) -> int:
    """Write the latest document of the given nodes (all when None) to Redis; returns keys written."""
    if node_ids == []:
        return 0
    with ctx.engine.connect() as conn:
        docs = latest_documents(conn, node_ids)
    items = {ctx.cache.key(NODE_LATEST, node_id=n): doc for n, doc in docs.items()}
    return ctx.cache.set_many_json(items, ttl_s=LATEST_TTL_S)
