"""Cache refresh (hourly): system metrics per tenant and range, latest readings of every node."""

from __future__ import annotations

import sqlalchemy as sa

from abbanoa import summary
from abbanoa.jobs import latest
from abbanoa.jobs.base import JobContext, JobOutcome
from abbanoa.stores.cache import SYSTEM_METRICS

# a little over the hour between refreshes, so a late run never leaves a hole
SYSTEM_METRICS_TTL_S = 2 * 3600


def run(ctx: JobContext) -> JobOutcome:
    items = {}
    with ctx.engine.connect() as conn:
        tenants = list(conn.execute(sa.text("SELECT tenant_id FROM tenants ORDER BY tenant_id")).scalars())
        for tenant_id in tenants:
            for time_range in summary.TIME_RANGES:
                figures = summary.system_metrics(conn, tenant_id, time_range, ctx.now)
                items[ctx.cache.key(SYSTEM_METRICS, tenant_id=tenant_id, time_range=time_range)] = figures
    written = ctx.cache.set_many_json(items, ttl_s=SYSTEM_METRICS_TTL_S)
    nodes = latest.cache_latest(ctx, None)
    return JobOutcome(
        rows=written + nodes,
        details={"system_metrics_keys": written, "latest_keys": nodes, "redis": written > 0 or not items},
    )
