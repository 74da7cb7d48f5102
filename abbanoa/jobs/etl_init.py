"""ETL init (once): schema, registry and the full history from the warehouse, day by day.

Resumable: each UTC day is copied in its own transaction with the `etl_init` watermark
(the end of the last day done), so a rerun after an interruption continues from there.
At the end the realtime watermark is set to the newest ingestion time seen, so the
5-minute sync does not copy the history a second time.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from abbanoa import migrations
from abbanoa.jobs import cache_refresh, loading, realtime_sync, registry_sync
from abbanoa.jobs.base import JobContext, JobOutcome
from abbanoa.jobs.realtime_sync import WATERMARK as REALTIME_WATERMARK
from abbanoa.stores.bigquery import param

WATERMARK = "etl_init"
DAY = dt.timedelta(days=1)


def run(ctx: JobContext) -> JobOutcome:
    migrations.apply_all(ctx.settings)
    ctx.warehouse.create_all()
    registry_rows = registry_sync.sync_registry(ctx, registry_sync.newest_change(ctx))

    bounds = ctx.warehouse.query_rows(
        "SELECT MIN(ts) AS first, MAX(ts) AS last, MAX(ingested_at) AS ingested FROM `{dataset}.readings` "
        "WHERE ingested_at <= @now",
        [param("now", "TIMESTAMP", ctx.now)],
    )[0]
    with ctx.engine.connect() as conn:
        before = loading.get_watermark(conn, WATERMARK)
    if bounds["first"] is None:
        return JobOutcome(details={"registry_rows": registry_rows, "days": 0, "note": "warehouse is empty"})

    day = pd.Timestamp(before or bounds["first"]).tz_convert("UTC").floor("D").to_pydatetime()
    last = bounds["last"]
    rows = days = 0
    while day <= last:
        frame = loading.fetch(
            ctx.warehouse,
            "ts >= @a AND ts < @b AND ingested_at <= @now",
            [
                param("a", "TIMESTAMP", day),
                param("b", "TIMESTAMP", day + DAY),
                param("now", "TIMESTAMP", ctx.now),
            ],
        )
        with ctx.engine.begin() as conn:
            rows += loading.upsert(conn, frame, ctx.settings.timezone, ctx.settings.partitions_ahead_days)
            loading.set_watermark(conn, WATERMARK, day + DAY)
        day += DAY
        days += 1
    with ctx.engine.begin() as conn:
        realtime = loading.get_watermark(conn, REALTIME_WATERMARK)
        if realtime is None or realtime < bounds["ingested"]:
            loading.set_watermark(conn, REALTIME_WATERMARK, bounds["ingested"])
            # the batches just copied are known to the realtime sync, which would otherwise
            # fetch the recent ones (its re-read window) all over again
            recent = bounds["ingested"] - realtime_sync.OVERLAP
            realtime_sync.record_batches(conn, realtime_sync.batch_counts(ctx.warehouse, recent, ctx.now))
        after = loading.get_watermark(conn, WATERMARK)
    warmed = cache_refresh.run(ctx)
    return JobOutcome(
        rows=rows,
        watermark_before=before,
        watermark_after=after,
        details={"registry_rows": registry_rows, "days": days, "cache_keys": warmed.rows},
    )
