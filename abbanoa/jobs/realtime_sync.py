"""Realtime sync (every 5 minutes): readings ingested since the watermark, by ingestion
time, so a late reading for an old timestamp is caught; the watermark advances in the
same transaction as the data. The small registry tables (districts, nodes, district
meters) are copied first when the warehouse changed them.

The window re-read before the watermark (OVERLAP) catches a load that committed after a
sync had already seen a newer ingestion time, or a chunked import whose later chunks
share the first chunk's `ingested_at`. To keep that re-read cheap, each ingestion time's
row count is kept in `sync_batches`; only ingestion times that are new or whose count
changed are fetched again.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from abbanoa.jobs import latest, loading, registry_sync
from abbanoa.jobs.base import JobContext, JobOutcome
from abbanoa.stores.bigquery import param

WATERMARK = "realtime_sync"
OVERLAP = dt.timedelta(minutes=15)
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


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


def record_batches(conn: sa.Connection, counts: dict[dt.datetime, int]) -> None:
    """Remember which ingestion batches have been copied whole (and how many rows they had)."""
    if counts:
        conn.execute(
            sa.text(
                "INSERT INTO sync_batches (name, ingested_at, rows) VALUES (:n, :t, :r) "
                "ON CONFLICT (name, ingested_at) DO UPDATE SET rows = EXCLUDED.rows, synced_at = now()"
            ),
            [{"n": WATERMARK, "t": t, "r": n} for t, n in counts.items()],
        )


def run(ctx: JobContext) -> JobOutcome:
    # the registry first, so readings of a node added since the last run find their node
    registry_rows = registry_sync.sync_if_changed(ctx)
    with ctx.engine.connect() as conn:
        before = loading.get_watermark(conn, WATERMARK)
        since = (before - OVERLAP) if before else EPOCH
        seen = dict(
            conn.execute(
                sa.text("SELECT ingested_at, rows FROM sync_batches WHERE name = :n AND ingested_at > :s"),
                {"n": WATERMARK, "s": since},
            ).all()
        )
    counts = batch_counts(ctx.warehouse, since, ctx.now)
    first = batches_to_fetch(counts, seen)
    frame = loading.ingested_since(ctx.warehouse, first - dt.timedelta(microseconds=1), ctx.now) if first else None
    after = before
    changed = fetched = 0
    with ctx.engine.begin() as conn:
        if frame is not None and not frame.empty:
            fetched = len(frame)
            changed = loading.upsert(conn, frame, ctx.settings.timezone, ctx.settings.partitions_ahead_days)
            newest = frame["ingested_at"].max().to_pydatetime()
            after = max(before, newest) if before else newest
            loading.set_watermark(conn, WATERMARK, after)
        if first is not None:
            record_batches(conn, {t: n for t, n in counts.items() if t >= first})
        conn.execute(
            sa.text("DELETE FROM sync_batches WHERE name = :n AND ingested_at <= :old"),
            {"n": WATERMARK, "old": (after or EPOCH) - 2 * OVERLAP},
        )
    nodes = sorted(set(frame["node_id"])) if fetched else []
    cached = latest.cache_latest(ctx, nodes)
    return JobOutcome(
        rows=changed,
        watermark_before=before,
        watermark_after=after,
        details={
            "fetched": fetched,
            "batches_fetched": sum(1 for t in counts if first is not None and t >= first),
            "nodes_cached": cached,
            "registry_rows": registry_rows,
        },
    )
