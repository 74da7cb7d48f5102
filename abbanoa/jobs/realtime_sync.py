"""Realtime sync (every 5 minutes): readings ingested since the watermark, by ingestion
time, so a late reading for an old timestamp is caught; the watermark advances in the
same transaction as the data. The small registry tables (districts, nodes, district
meters) are copied first when the warehouse changed them.

Each run reads the window (watermark, now - SETTLE]. A load job stamps its rows'
`ingested_at` before it commits; waiting SETTLE before reading a moment lets such loads
land first, so each row is read once. A load slower than that is still caught by the
daily reconcile (daily_sync)."""

from __future__ import annotations

import datetime as dt

from abbanoa.jobs import latest, loading, registry_sync
from abbanoa.jobs.base import JobContext, JobOutcome

WATERMARK = "realtime_sync"
SETTLE = dt.timedelta(minutes=2)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def run(ctx: JobContext) -> JobOutcome:
    # the registry first, so readings of a node added since the last run find their node
    registry_rows = registry_sync.sync_if_changed(ctx)
    with ctx.engine.connect() as conn:
        before = loading.get_watermark(conn, WATERMARK)
    until = ctx.now - SETTLE
    if before is not None and until <= before:
        return JobOutcome(watermark_before=before, watermark_after=before, details={"fetched": 0})
    frame = loading.ingested_since(ctx.warehouse, before or EPOCH, until)
    changed = 0
    with ctx.engine.begin() as conn:
        if not frame.empty:
            changed = loading.upsert(conn, frame, ctx.settings.timezone, ctx.settings.partitions_ahead_days)
        after = until
        loading.set_watermark(conn, WATERMARK, after)
    nodes = sorted(set(frame["node_id"])) if not frame.empty else []
    cached = latest.cache_latest(ctx, nodes)
    return JobOutcome(
        rows=changed,
        watermark_before=before,
        watermark_after=after,
        details={"fetched": len(frame), "nodes_cached": cached, "registry_rows": registry_rows},
    )
