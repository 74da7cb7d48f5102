"""Realtime sync (every 5 minutes): readings ingested since the watermark, by ingestion
time, so a late reading for an old timestamp is caught; the watermark advances in the
same transaction as the data. The small registry tables (districts, nodes, district
meters) are copied first when the warehouse changed them.

Two ways in, so that nothing is skipped:
- the ingestion-time window: rows with `ingested_at` after the watermark minus OVERLAP
  (a streamed row, a chunk of an import committing a little late). Each ingestion
  time's row count is kept in `sync_batches`; only new or grown ones are fetched again.
- the import ledger (`ingest_batches` in the warehouse, written by the importer after
  its commit): a batch committed since the last run is copied whatever its ingestion
  time, so an import that started long ago and committed after a newer one was synced
  is never skipped (issue 21.1).

Rows are fetched and upserted a page at a time (PAGE_ROWS) in one transaction: memory
is bounded by a page whatever the backlog.
"""

from __future__ import annotations

import datetime as dt

from abbanoa import faults
from abbanoa.jobs import latest, loading, registry_sync
from abbanoa.jobs.base import JobContext, JobOutcome
from abbanoa.repository import readings_upsert, sync_state
from abbanoa.stores.bigquery import param

WATERMARK = "realtime_sync"
LEDGER_WATERMARK = "realtime_sync_ledger"
OVERLAP = dt.timedelta(minutes=15)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
PAGE_ROWS = 50_000
# a batch copied is remembered this long, so the ledger's re-read window never refetches it
REMEMBER = dt.timedelta(days=2)


def batches_to_fetch(counts: dict[dt.datetime, int], seen: dict[dt.datetime, int]) -> dt.datetime | None:
    """The earliest ingestion time that is new or changed since it was copied (None: nothing to do)."""
    changed = [t for t, n in counts.items() if seen.get(t) != n]
    return min(changed) if changed else None


def batch_counts(warehouse, since: dt.datetime, until: dt.datetime) -> dict[dt.datetime, int]:
    """Rows per ingestion time in the warehouse, for ingestion times in (since, until]."""
    return {
        r["t"]: r["n"]
        for r in warehouse.query_rows(
            "SELECT ingested_at AS t, COUNT(*) AS n FROM `{dataset}.readings` "
            "WHERE ingested_at > @since AND ingested_at <= @until GROUP BY ingested_at",
            [param("since", "TIMESTAMP", since), param("until", "TIMESTAMP", until)],
        )
    }


def ledger_batches(warehouse, committed_since: dt.datetime, until: dt.datetime) -> dict[dt.datetime, dt.datetime]:
    """Ledger batches committed after committed_since (by the writer's clock, so not bounded
    by the run's `now`) and ingested by `until`: ingestion time -> commit time."""
    return {
        r["t"]: r["c"]
        for r in warehouse.query_rows(
            "SELECT ingested_at AS t, MAX(committed_at) AS c FROM `{dataset}.ingest_batches` "
            "WHERE committed_at > @since AND ingested_at <= @until GROUP BY ingested_at",
            [param("since", "TIMESTAMP", committed_since), param("until", "TIMESTAMP", until)],
        )
    }


def late_batches(ledger: dict, window_start: dt.datetime, seen: dict) -> list[dt.datetime]:
    """Ledger batches older than the ingestion-time window that were never copied."""
    return sorted(t for t in ledger if t <= window_start and t not in seen)


def record_batches(conn, counts: dict[dt.datetime, int]) -> None:
    sync_state.record_batches(conn, WATERMARK, counts)


def run(ctx: JobContext) -> JobOutcome:
    # the registry first, so readings of a node added since the last run find their node
    registry_rows = registry_sync.sync_if_changed(ctx)
    with ctx.engine.connect() as conn:
        before = sync_state.get_watermark(conn, WATERMARK)
        ledger_before = sync_state.get_watermark(conn, LEDGER_WATERMARK)
        since = (before - OVERLAP) if before else EPOCH
        seen = sync_state.seen_batches(conn, WATERMARK, since)
    counts = batch_counts(ctx.warehouse, since, ctx.now)
    first = batches_to_fetch(counts, seen)
    ledger = ledger_batches(ctx.warehouse, (ledger_before - OVERLAP) if ledger_before else EPOCH, ctx.now)
    with ctx.engine.connect() as conn:
        ledger_seen = sync_state.seen_of(conn, WATERMARK, [t for t in ledger if t <= since])
    late = late_batches(ledger, since, ledger_seen)
    faults.stage("realtime_sync:gathered")

    after = before
    changed = fetched = 0
    nodes: set[str] = set()
    late_counts: dict[dt.datetime, int] = {}
    with ctx.engine.begin() as conn:
        pages = []
        if first is not None:
            pages.append(loading.ingested_since_pages(ctx.warehouse, first - dt.timedelta(microseconds=1), ctx.now))
        if late:
            pages.append(loading.ingested_in_pages(ctx.warehouse, late))
        for source in pages:
            for frame in source:
                fetched += len(frame)
                changed += readings_upsert.upsert(
                    conn, frame, ctx.settings.timezone, ctx.settings.partitions_ahead_days
                )
                nodes.update(frame["node_id"])
                newest = frame["ingested_at"].max().to_pydatetime()
                after = max(after, newest) if after else newest
                for t, n in frame.loc[frame["ingested_at"] <= since, "ingested_at"].value_counts().items():
                    late_counts[t.to_pydatetime()] = late_counts.get(t.to_pydatetime(), 0) + int(n)
                faults.stage("realtime_sync:page_upserted")
        if after is not None and after != before:
            sync_state.set_watermark(conn, WATERMARK, after)
        if ledger:
            sync_state.set_watermark(conn, LEDGER_WATERMARK, max(ledger.values()))
        if first is not None:
            record_batches(conn, {t: n for t, n in counts.items() if t >= first})
        record_batches(conn, late_counts)
        sync_state.forget_batches(conn, WATERMARK, (after or EPOCH) - 2 * OVERLAP, ctx.now - REMEMBER)
        faults.stage("realtime_sync:before_commit")
    cached = latest.cache_latest(ctx, sorted(nodes)) if fetched else 0
    return JobOutcome(
        rows=changed,
        watermark_before=before,
        watermark_after=after,
        details={
            "fetched": fetched,
            "batches_fetched": sum(1 for t in counts if first is not None and t >= first),
            "late_batches_fetched": len(late),
            "nodes_cached": cached,
            "registry_rows": registry_rows,
        },
    )
