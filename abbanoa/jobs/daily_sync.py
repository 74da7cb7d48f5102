"""Daily sync (02:00): reconcile the last N local days between warehouse and PostgreSQL.

Gather per node, metric and Europe/Rome day the distinct readings count and value sum on
both sides; decide which node-days differ (`differing_days`, pure); apply by replacing
each differing node-day in PostgreSQL with the warehouse's rows: missing rows are copied,
rows deleted upstream are removed, changed values are corrected.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pandas as pd

from abbanoa import faults
from abbanoa.jobs import loading
from abbanoa.jobs.base import JobContext, JobOutcome
from abbanoa.repository import readings_upsert, readings_write
from abbanoa.stores.bigquery import param

DEFAULT_DAYS = 7
KEY = ["node_id", "metric", "day"]


def differing_days(warehouse: pd.DataFrame, database: pd.DataFrame) -> pd.DataFrame:
    """Node-metric-days whose count or value sum differ between the two sides."""
    merged = warehouse.merge(database, on=KEY, how="outer", suffixes=("_wh", "_db"))
    merged[["n_wh", "n_db"]] = merged[["n_wh", "n_db"]].fillna(0)
    merged[["s_wh", "s_db"]] = merged[["s_wh", "s_db"]].fillna(0.0)
    tolerance = 1e-6 * (merged["s_wh"].abs() + 1.0)
    differs = (merged["n_wh"] != merged["n_db"]) | ((merged["s_wh"] - merged["s_db"]).abs() > tolerance)
    return merged.loc[differs, KEY + ["n_wh", "n_db"]].reset_index(drop=True)


def run(ctx: JobContext) -> JobOutcome:
    tz = ctx.settings.timezone
    days = int(ctx.params.get("days", DEFAULT_DAYS))
    local_today = ctx.now.astimezone(ZoneInfo(tz)).date()
    first_day = local_today - dt.timedelta(days=days - 1)
    start = dt.datetime.combine(first_day, dt.time(), ZoneInfo(tz)).astimezone(dt.UTC)

    wh = ctx.warehouse.query_df(
        "SELECT node_id, metric, DATE(ts, @tz) AS day, COUNT(*) AS n, SUM(value) AS s FROM ("
        " SELECT node_id, metric, ts, value FROM `{dataset}.readings` WHERE ts >= @start AND ts <= @now"
        " AND ingested_at <= @now"
        " QUALIFY ROW_NUMBER() OVER (PARTITION BY node_id, metric, ts ORDER BY ingested_at DESC) = 1)"
        " GROUP BY node_id, metric, day",
        [param("tz", "STRING", tz), param("start", "TIMESTAMP", start), param("now", "TIMESTAMP", ctx.now)],
    )
    with ctx.engine.connect() as conn:
        db = readings_write.day_counts(conn, tz, start, ctx.now)
    for frame in (wh, db):
        if frame.empty:
            frame.drop(frame.index, inplace=True)
        frame["day"] = pd.to_datetime(frame["day"]).dt.date
        frame["n"] = frame["n"].astype("int64")
        frame["s"] = frame["s"].astype(float)
    repairs = differing_days(wh, db)

    copied = removed = 0
    for (node_id, day), _ in repairs.groupby(["node_id", "day"]):
        day_start = dt.datetime.combine(day, dt.time(), ZoneInfo(tz)).astimezone(dt.UTC)
        day_end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), ZoneInfo(tz)).astimezone(dt.UTC)
        day_end = min(day_end, ctx.now)
        rows = loading.fetch(
            ctx.warehouse,
            "node_id = @n AND ts >= @a AND ts < @b AND ingested_at <= @now",
            [
                param("n", "STRING", node_id),
                param("a", "TIMESTAMP", day_start),
                param("b", "TIMESTAMP", day_end),
                param("now", "TIMESTAMP", ctx.now),
            ],
        )
        with ctx.engine.begin() as conn:
            gone = readings_write.delete_node_range(conn, node_id, day_start, day_end, tz)
            readings_upsert.upsert(conn, rows, tz, ctx.settings.partitions_ahead_days)
            readings_write.fix_latest(conn, node_id)
            faults.stage("daily_sync:node_day_before_commit")
        removed += gone
        copied += len(rows)
    return JobOutcome(
        rows=int(len(repairs)),
        details={
            "days": days,
            "node_metric_days_compared": int(max(len(wh), len(db))),
            "node_metric_days_repaired": int(len(repairs)),
            "rows_removed_then_recopied": removed,
            "rows_copied": copied,
            "net_rows_added": copied - removed,
        },
    )
