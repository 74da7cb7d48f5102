"""ETL init (once): schema, registry and the full history from the warehouse, day by day.

Resumable: each UTC day is copied in its own transaction with the `etl_init` watermark
(the end of the last day done), so a rerun after an interruption continues from there.
Only the days that hold readings are walked (one stray 1990 reading is one day, not
thirty-six years of empty ones). At the end the realtime watermarks are set to the
newest ingestion and ledger commit seen, so the 5-minute sync does not copy the history
a second time.
"""

from __future__ import annotations

import datetime as dt

from abbanoa import faults, migrations
from abbanoa.jobs import cache_refresh, loading, realtime_sync, registry_sync
from abbanoa.jobs.base import JobContext, JobOutcome
from abbanoa.jobs.realtime_sync import WATERMARK as REALTIME_WATERMARK
from abbanoa.repository import readings_upsert, sync_state
from abbanoa.stores.bigquery import param

WATERMARK = "etl_init"
DAY = dt.timedelta(days=1)


def days_with_data(ctx: JobContext, after: dt.datetime | None) -> list[dt.datetime]:
    """The UTC days (midnights) holding readings ingested by now, from `after` on."""
    rows = ctx.warehouse.query_rows(
        "SELECT DISTINCT TIMESTAMP_TRUNC(ts, DAY) AS day FROM `{dataset}.readings` "
        "WHERE ingested_at <= @now AND ts >= @after ORDER BY day",
        [param("now", "TIMESTAMP", ctx.now), param("after", "TIMESTAMP", after or realtime_sync.EPOCH)],
    )
    return [r["day"] for r in rows]


def run(ctx: JobContext) -> JobOutcome:
    migrations.apply_all(ctx.settings)
    ctx.warehouse.create_all()
    registry_rows = registry_sync.sync_registry(ctx, registry_sync.newest_change(ctx))

    bounds = ctx.warehouse.query_rows(
        "SELECT MAX(ingested_at) AS ingested FROM `{dataset}.readings` WHERE ingested_at <= @now",
        [param("now", "TIMESTAMP", ctx.now)],
    )[0]
    committed = ctx.warehouse.query_rows(
        "SELECT MAX(committed_at) AS c FROM `{dataset}.ingest_batches` WHERE ingested_at <= @now",
        [param("now", "TIMESTAMP", ctx.now)],
    )[0]["c"]
    with ctx.engine.connect() as conn:
        before = sync_state.get_watermark(conn, WATERMARK)
    if bounds["ingested"] is None:
        return JobOutcome(details={"registry_rows": registry_rows, "days": 0, "note": "warehouse is empty"})

    rows = days = 0
    for day in days_with_data(ctx, before):
        frame = loading.fetch(
            ctx.warehouse,
            "ts >= @a AND ts < @b AND ingested_at <= @now",
            [param("a", "TIMESTAMP", day), param("b", "TIMESTAMP", day + DAY), param("now", "TIMESTAMP", ctx.now)],
        )
        with ctx.engine.begin() as conn:
            rows += readings_upsert.upsert(conn, frame, ctx.settings.timezone, ctx.settings.partitions_ahead_days)
            sync_state.set_watermark(conn, WATERMARK, day + DAY)
            faults.stage("etl_init:day_before_commit")
        faults.stage("etl_init:day_committed")
        days += 1
    with ctx.engine.begin() as conn:
        realtime = sync_state.get_watermark(conn, REALTIME_WATERMARK)
        if realtime is None or realtime < bounds["ingested"]:
            sync_state.set_watermark(conn, REALTIME_WATERMARK, bounds["ingested"])
            # the batches just copied are known to the realtime sync, which would otherwise
            # fetch the recent ones (its re-read window) all over again
            recent = bounds["ingested"] - realtime_sync.OVERLAP
            realtime_sync.record_batches(conn, realtime_sync.batch_counts(ctx.warehouse, recent, ctx.now))
        if committed is not None:
            ledger = sync_state.get_watermark(conn, realtime_sync.LEDGER_WATERMARK)
            if ledger is None or ledger < committed:
                sync_state.set_watermark(conn, realtime_sync.LEDGER_WATERMARK, committed)
        after = sync_state.get_watermark(conn, WATERMARK)
    warmed = cache_refresh.run(ctx)
    return JobOutcome(
        rows=rows,
        watermark_before=before,
        watermark_after=after,
        details={"registry_rows": registry_rows, "days": days, "cache_keys": warmed.rows},
    )
