"""Network efficiency (every 5 minutes): per district, the water balance by hour, local day
and month, minimum night flow, estimated leakage and the IWA / ARERA loss indicators,
stored as time series in `network_efficiency`; the latest daily figures cached.

Every run recomputes the hours and local days of the last MIN_DAYS days; the month row, which
needs the whole month of hours, only on the first run of each hour (or with
`params={"month": true}`): a monthly figure an hour old is current enough, and the
5-minute run then reads days, not a month."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa

from abbanoa.analytics import water_balance
from abbanoa.jobs import district_flows
from abbanoa.jobs.base import JobContext, JobOutcome
from abbanoa.stores.cache import EFFICIENCY_SUMMARY

SUMMARY_TTL_S = 3600
# Hours and days recomputed by every run.
MIN_DAYS = 3
MONTH_EVERY_MINUTES = 5  # runs that start in the first 5 minutes of an hour rebuild the month row
COLUMNS = [
    "district_id", "period", "period_start", "inflow_m3", "outflow_m3", "net_inflow_m3", "consumption_m3",
    "losses_m3", "mnf_l_s", "night_leakage_l_s", "leakage_m3_day", "nrw_pct", "real_losses_l_conn_day",
    "uarl_l_day", "ili", "m1a_m3_km_day", "m1b_pct", "coverage",
]  # fmt: skip


def window_start(now: dt.datetime, tz: str, days: int, month: bool = True) -> dt.datetime:
    """UTC start of `days` local days back, or of the local month's first day if earlier
    (when the month row is due)."""
    local = now.astimezone(ZoneInfo(tz))
    back = (local - dt.timedelta(days=days)).replace(hour=0, minute=0, second=0, microsecond=0)
    if not month:
        return back.astimezone(dt.UTC)
    first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return min(first, back).astimezone(dt.UTC)


def gather(conn: sa.Connection, start: dt.datetime, end: dt.datetime):
    meters, hours = district_flows.meter_hours(conn, start, end)
    districts = pd.read_sql_query(
        sa.text(
            "SELECT district_id, tenant_id, mains_length_km, service_connections, private_pipe_km, avg_pressure_m, "
            "night_use_l_per_conn_h, night_day_factor_h, billed_consumption_m3_day FROM districts"
        ),
        conn,
    )
    return meters, hours, districts


def month_due(ctx: JobContext) -> bool:
    """The month row is rebuilt on the first 5-minute run of each hour, or when asked."""
    asked = str(ctx.params.get("month", "")).strip().lower() in ("1", "true", "yes")
    return asked or ctx.now.minute < MONTH_EVERY_MINUTES


def run(ctx: JobContext) -> JobOutcome:
    tz = ctx.settings.timezone
    days = int(ctx.params.get("days", MIN_DAYS))
    monthly = month_due(ctx)
    start = window_start(ctx.now, tz, days, month=monthly)
    with ctx.engine.connect() as conn:
        meters, hours, districts = gather(conn, start, ctx.now)
    hourly = water_balance.hourly_net_inflow(hours, meters)
    periods = ("hour", "day", "month") if monthly else ("hour", "day")
    frames = [water_balance.balance(hourly, districts, tz, p) for p in periods]
    # in the first days of a month the window reaches into the previous one: its month row
    # from those few days would overwrite the whole month's
    first = ctx.now.astimezone(ZoneInfo(tz)).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    frames = [
        f[~((f["period"] == "month") & (pd.to_datetime(f["period_start"], utc=True) < first))] if not f.empty else f
        for f in frames
    ]
    results = (
        pd.concat([f for f in frames if not f.empty], ignore_index=True)
        if any(not f.empty for f in frames)
        else pd.DataFrame(columns=COLUMNS)
    )
    results = results.reindex(columns=COLUMNS)
    records = [
        {k: (None if pd.isna(v) else (v.to_pydatetime() if isinstance(v, pd.Timestamp) else v)) for k, v in r.items()}
        for r in results.to_dict("records")
    ]
    with ctx.engine.begin() as conn:
        if records:
            cols = ", ".join(COLUMNS)
            values = ", ".join(f":{c}" for c in COLUMNS)
            updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS[3:])
            conn.execute(
                sa.text(
                    f"INSERT INTO network_efficiency ({cols}) VALUES ({values}) "
                    f"ON CONFLICT (district_id, period, period_start) DO UPDATE SET {updates}, computed_at = now()"
                ),
                records,
            )
    cached = cache_summary(ctx, results, districts)
    return JobOutcome(
        rows=len(records),
        details={
            "districts": int(hourly["district_id"].nunique()) if not hourly.empty else 0,
            "cached": cached,
            "month": monthly,
        },
    )


def cache_summary(ctx: JobContext, results: pd.DataFrame, districts: pd.DataFrame) -> int:
    """Per tenant: each district's newest complete-or-current local day of figures."""
    if results.empty:
        return 0
    days = results[results["period"] == "day"].sort_values("period_start")
    latest = days.groupby("district_id").tail(1).merge(districts[["district_id", "tenant_id"]], on="district_id")
    written = 0
    for tenant_id, group in latest.groupby("tenant_id"):
        doc = json.loads(group.drop(columns=["tenant_id"]).to_json(orient="records", date_format="iso"))
        written += ctx.cache.set_json(
            ctx.cache.key(EFFICIENCY_SUMMARY, tenant_id=tenant_id), {"districts": doc}, ttl_s=SUMMARY_TTL_S
        )
    return written
