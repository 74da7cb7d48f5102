"""Network efficiency (every 5 minutes): per district, the water balance by hour, local day
and month, minimum night flow, estimated leakage and the IWA / ARERA loss indicators,
stored as time series in `network_efficiency` for the whole stored history; the latest
complete day's figures cached, and the Overview's system figures refreshed.

Gather, decide, apply, with a cost that grows with new data, not with history:
- the tail: the local days of the last MIN_DAYS days are recomputed every run (late data);
- the backfill: any older local day whose meter samples in the daily rollup (readings_1d)
  differ from the samples its stored row was built from (history imported, gaps filled) is
  recomputed, so the first run after history arrives computes all of it and later runs
  find nothing to do there (one indexed comparison of about 365 rows per district-year);
- months: every month holding a recomputed day is rebuilt from the stored hour rows, so a
  month row always covers all of its hours (never only the tail's few days).
Days and months with fewer hours of data than they last are stored as `partial`."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa

from abbanoa.analytics import water_balance
from abbanoa.jobs.base import JobContext, JobOutcome
from abbanoa.repository import district_flows, efficiency_store, registry_reads
from abbanoa.stores.cache import EFFICIENCY_SUMMARY

SUMMARY_TTL_S = 3600
# Local days recomputed by every run (late readings land in them).
MIN_DAYS = 3


def window_start(now: dt.datetime, tz: str, days: int) -> dt.datetime:
    """UTC start of the local day `days` days before `now`."""
    local = now.astimezone(ZoneInfo(tz))
    return (local - dt.timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0).astimezone(dt.UTC)


def day_ranges(days: list[dt.datetime], tz: str) -> list[tuple[dt.datetime, dt.datetime]]:
    """Contiguous [start, end) UTC ranges covering the given local days."""
    zone = ZoneInfo(tz)
    ranges: list[tuple[dt.datetime, dt.datetime]] = []
    for day in sorted(days):
        local = day.astimezone(zone)
        end = (local.replace(tzinfo=None) + dt.timedelta(days=1)).replace(tzinfo=zone).astimezone(dt.UTC)
        if ranges and ranges[-1][1] >= day:
            ranges[-1] = (ranges[-1][0], max(ranges[-1][1], end))
        else:
            ranges.append((day, end))
    return ranges


def gather(conn: sa.Connection, ranges: list[tuple[dt.datetime, dt.datetime]]):
    frames = []
    meters = pd.DataFrame(columns=["district_id", "node_id", "direction"])
    for start, end in ranges:
        meters, hours = district_flows.meter_hours(conn, start, end)
        frames.append(hours)
    hours = pd.concat([f for f in frames if not f.empty], ignore_index=True) if any(not f.empty for f in frames) else (
        pd.DataFrame(columns=["node_id", "bucket", "avg_value", "n"])
    )  # fmt: skip
    districts = efficiency_store.districts(conn)
    return meters, hours, districts


def run(ctx: JobContext) -> JobOutcome:
    import time

    tz = ctx.settings.timezone
    days = int(ctx.params.get("days", MIN_DAYS))
    tail = window_start(ctx.now, tz, days)
    t0 = time.perf_counter()
    with ctx.engine.connect() as conn:
        backfill = efficiency_store.stale_days(conn, tail)
        ranges = day_ranges(backfill, tz) + [(tail, ctx.now)]
        meters, hours, districts = gather(conn, ranges)
    t_gather = time.perf_counter()
    hourly = water_balance.hourly_net_inflow(hours, meters)
    frames = [water_balance.balance(hourly, districts, tz, p) for p in ("hour", "day")]
    results = pd.concat([f for f in frames if not f.empty], ignore_index=True) if any(
        not f.empty for f in frames
    ) else pd.DataFrame(columns=efficiency_store.COLUMNS)  # fmt: skip
    results = results.reindex(columns=efficiency_store.COLUMNS)
    with ctx.engine.begin() as conn:
        efficiency_store.upsert(conn, results)
        # every month holding a recomputed day, rebuilt from all of its stored hours
        months = []
        if not hourly.empty:
            months = sorted(set(water_balance.local_period(hourly["bucket"], tz, "month")))
        month_frame = pd.DataFrame()
        if months:
            stored = efficiency_store.stored_hours(conn, [m.to_pydatetime() for m in months], tz)
            month_frame = water_balance.balance(stored, districts, tz, "month")
        efficiency_store.upsert(conn, month_frame)
    t_store = time.perf_counter()
    written = len(results) + len(month_frame)
    cached = cache_summary(ctx, results, districts)
    refreshed = refresh_overview(ctx)
    t_cache = time.perf_counter()
    return JobOutcome(
        rows=written,
        details={
            "districts": int(hourly["district_id"].nunique()) if not hourly.empty else 0,
            "backfilled_days": len(backfill),
            "months": len(months),
            "cached": cached,
            "overview_keys": refreshed,
            "seconds": {
                "gather": round(t_gather - t0, 3),
                "decide_store": round(t_store - t_gather, 3),
                "cache": round(t_cache - t_store, 3),
            },  # fmt: skip
        },
    )


def cache_summary(ctx: JobContext, results: pd.DataFrame, districts: pd.DataFrame) -> int:
    """Per tenant: each district's newest complete local day of figures (a partial day,
    such as today, is never the headline)."""
    if results.empty:
        return 0
    days = results[(results["period"] == "day") & ~results["partial"].astype(bool)].sort_values("period_start")
    if days.empty:
        return 0
    latest = days.groupby("district_id").tail(1).merge(districts[["district_id", "tenant_id"]], on="district_id")
    written = 0
    for tenant_id, group in latest.groupby("tenant_id"):
        doc = json.loads(group.drop(columns=["tenant_id"]).to_json(orient="records", date_format="iso"))
        written += ctx.cache.set_json(
            ctx.cache.key(EFFICIENCY_SUMMARY, tenant_id=tenant_id), {"districts": doc}, ttl_s=SUMMARY_TTL_S
        )
    return written


OVERVIEW_RANGES = ("1h", "24h")  # the longer ones count a month of rollups: cache_refresh's hourly job
OVERVIEW_TTL_S = 2 * 3600  # as cache_refresh's


def refresh_overview(ctx: JobContext) -> int:
    """Bring the Overview's cached system figures of the short ranges (`system:metrics:...`)
    up to date with the losses just stored, rather than leaving them up to an hour old until
    cache_refresh. Only the balance changed here: a cached document gets its balance and
    losses recomputed (a few network_efficiency rows); the rest of it (node and reading
    counts over the 5-minute rollups: 2.6 M rows a day at 1,000 nodes, 6 s of this job's
    8.75 s) stays as cache_refresh computed it. A range not cached yet is computed whole."""
    from abbanoa import summary
    from abbanoa.stores.cache import SYSTEM_METRICS

    items = {}
    with ctx.engine.connect() as conn:
        for tenant_id in registry_reads.tenant_ids(conn):
            for time_range in OVERVIEW_RANGES:
                key = ctx.cache.key(SYSTEM_METRICS, tenant_id=tenant_id, time_range=time_range)
                cached = ctx.cache.get_json(key)
                if not isinstance(cached, dict) or "balance" not in cached:
                    items[key] = summary.system_metrics(conn, tenant_id, time_range, ctx.now)
                    continue
                start = ctx.now - summary.TIME_RANGES[time_range]
                balance = summary.tenant_balance(summary.balance_days(conn, tenant_id, start, ctx.now))
                items[key] = {**cached, "losses_m3": balance["losses_m3"], "balance": balance}
    return ctx.cache.set_many_json(items, ttl_s=OVERVIEW_TTL_S) if items else 0
