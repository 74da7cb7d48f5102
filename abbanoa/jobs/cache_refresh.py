"""Cache refresh (hourly): system metrics per tenant and range, latest readings of every node.

When Redis does not take the keys the run is `degraded` (recorded so, CLI exit 3), not
succeeded: the dashboard then answers from PostgreSQL, but someone should know."""

from __future__ import annotations

from abbanoa import summary
from abbanoa.jobs import latest
from abbanoa.jobs.base import JobContext, JobOutcome
from abbanoa.repository import registry_reads
from abbanoa.stores.cache import SYSTEM_METRICS

# a little over the hour between refreshes, so a late run never leaves a hole
SYSTEM_METRICS_TTL_S = 2 * 3600


def run(ctx: JobContext) -> JobOutcome:
    items = {}
    with ctx.engine.connect() as conn:
        for tenant_id in registry_reads.tenant_ids(conn):
            for time_range in summary.TIME_RANGES:
                figures = summary.system_metrics(conn, tenant_id, time_range, ctx.now)
                items[ctx.cache.key(SYSTEM_METRICS, tenant_id=tenant_id, time_range=time_range)] = figures
    written = ctx.cache.set_many_json(items, ttl_s=SYSTEM_METRICS_TTL_S)
    wanted_latest = latest.count_latest(ctx)
    nodes = latest.cache_latest(ctx, None)
    missing = (len(items) - written) + (wanted_latest - nodes)
    degraded = None
    if missing:
        degraded = f"Redis took {written + nodes} of {len(items) + wanted_latest} keys (Redis down or refusing writes)"
    return JobOutcome(
        rows=written + nodes,
        details={"system_metrics_keys": written, "latest_keys": nodes, "keys_not_written": missing},
        degraded=degraded,
    )
