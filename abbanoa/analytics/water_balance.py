"""District water balance from the district meters (pure; pandas in, pandas out).

Input: hourly rollups of each boundary meter's flow (l/s mean over the hour and the
number of 5-minute samples behind it) and the meters' directions (+1: positive flow
enters the district). Net inflow = sum of direction x volume. Days and months are
Europe/Rome local periods, so a daylight-saving day has 23 or 25 hours.
"""

from __future__ import annotations

import pandas as pd

from abbanoa.analytics import kpi

SAMPLES_PER_HOUR = 12  # 5-minute readings


def hourly_net_inflow(meter_hours: pd.DataFrame, meters: pd.DataFrame) -> pd.DataFrame:
    """Per district and UTC hour: inflow, outflow and net inflow (m3) and data coverage.

    meter_hours: node_id, bucket (UTC hour), avg_value (l/s), n.
    meters: district_id, node_id, direction.
    """
    cols = ["district_id", "bucket", "inflow_m3", "outflow_m3", "net_inflow_m3", "coverage", "samples"]
    if meter_hours.empty or meters.empty:
        return pd.DataFrame(columns=cols)
    frame = meter_hours.merge(meters, on="node_id")
    signed_m3 = frame["direction"] * frame["avg_value"] * 3600.0 / 1000.0
    frame = frame.assign(
        inflow_m3=signed_m3.clip(lower=0), outflow_m3=(-signed_m3).clip(lower=0), net_inflow_m3=signed_m3
    )
    frame["coverage"] = (frame["n"] / SAMPLES_PER_HOUR).clip(upper=1.0)
    meters_per_district = meters.groupby("district_id")["node_id"].nunique()
    out = frame.groupby(["district_id", "bucket"]).agg(
        inflow_m3=("inflow_m3", "sum"),
        outflow_m3=("outflow_m3", "sum"),
        net_inflow_m3=("net_inflow_m3", "sum"),
        coverage=("coverage", "sum"),
        samples=("n", "sum"),
    )
    out = out.reset_index()
    # coverage: share of the expected meter samples that arrived (a missing meter counts as 0)
    out["coverage"] = out["coverage"] / out["district_id"].map(meters_per_district)
    return out[cols]


def local_period(bucket: pd.Series, tz: str, period: str) -> pd.Series:
    """The UTC start of the local day ('day') or month ('month') each UTC time belongs to."""
    local = pd.to_datetime(bucket, utc=True).dt.tz_convert(tz).dt.tz_localize(None)
    naive = local.dt.normalize() if period == "day" else local.dt.to_period("M").dt.to_timestamp()
    # local midnight is never skipped or repeated in Europe/Rome (changes happen at 02:00/03:00)
    return naive.dt.tz_localize(tz, ambiguous=True, nonexistent="shift_forward").dt.tz_convert("UTC")


def period_hours(period_start: pd.Series, tz: str, period: str) -> pd.Series:
    """Hours in each local period starting at `period_start` (UTC): 23, 24 or 25 for a day
    across a daylight-saving change, the month's hours for a month, 1 for an hour."""
    if period == "hour":
        return pd.Series(1, index=period_start.index)
    local = pd.to_datetime(period_start, utc=True).dt.tz_convert(tz).dt.tz_localize(None)
    nxt = local + (pd.Timedelta(days=1) if period == "day" else pd.offsets.MonthBegin(1))
    end = nxt.dt.tz_localize(tz, ambiguous=True, nonexistent="shift_forward").dt.tz_convert("UTC")
    return ((end - pd.to_datetime(period_start, utc=True)) / pd.Timedelta(hours=1)).round().astype(int)


def minimum_night_flow(hourly: pd.DataFrame, tz: str, start_hour: int = 2, end_hour: int = 4) -> pd.DataFrame:
    """Per district and local day: the lowest hourly mean net inflow (l/s) in the night window
    [start_hour, end_hour) local time (on the spring-forward night the window is one hour)."""
    cols = ["district_id", "period_start", "mnf_l_s"]
    if hourly.empty:
        return pd.DataFrame(columns=cols)
    local_hour = pd.to_datetime(hourly["bucket"], utc=True).dt.tz_convert(tz).dt.hour
    night = hourly[(local_hour >= start_hour) & (local_hour < end_hour)]
    if night.empty:
        return pd.DataFrame(columns=cols)
    night = night.assign(
        period_start=local_period(night["bucket"], tz, "day"), flow_l_s=night["net_inflow_m3"] * 1000.0 / 3600.0
    )
    return night.groupby(["district_id", "period_start"])["flow_l_s"].min().rename("mnf_l_s").reset_index()


def balance(hourly: pd.DataFrame, districts: pd.DataFrame, tz: str, period: str) -> pd.DataFrame:
    """Water balance and loss indicators per district and period ('hour', 'day', 'month').

    districts: district_id, mains_length_km, service_connections, private_pipe_km,
    avg_pressure_m, night_use_l_per_conn_h, night_day_factor_h, billed_consumption_m3_day.
    Losses are real losses estimated from the minimum night flow (no customer meters:
    apparent losses are not known), so day and month carry them; an hour carries volumes.
    """
    if hourly.empty:
        return pd.DataFrame()
    frame = hourly.copy()
    frame["period_start"] = frame["bucket"] if period == "hour" else local_period(frame["bucket"], tz, period)
    sums = frame.groupby(["district_id", "period_start"]).agg(
        inflow_m3=("inflow_m3", "sum"),
        outflow_m3=("outflow_m3", "sum"),
        net_inflow_m3=("net_inflow_m3", "sum"),
        coverage=("coverage", "mean"),
        hours=("bucket", "nunique"),
        samples=("samples", "sum") if "samples" in frame else ("bucket", "size"),
    )
    sums = sums.reset_index().merge(districts, on="district_id", how="left")
    sums["expected_hours"] = period_hours(sums["period_start"], tz, period)
    # a period with fewer hours of data than it lasts (the current day or month, or a gap) is
    # partial: shown as such, never a headline
    sums["partial"] = sums["hours"] < sums["expected_hours"]
    if period == "hour":
        return sums.assign(period=period)

    nights = minimum_night_flow(hourly, tz)
    if period == "month":
        nights["period_start"] = local_period(nights["period_start"], tz, "month")
        nights = nights.groupby(["district_id", "period_start"])["mnf_l_s"].mean().reset_index()
    sums = sums.merge(nights, on=["district_id", "period_start"], how="left")
    rows = []
    for r in sums.itertuples(index=False):
        days = r.hours / 24.0
        leak_l_s = kpi.night_leakage_l_s(_num(r.mnf_l_s), _int(r.service_connections), r.night_use_l_per_conn_h)
        leak_day = kpi.daily_leakage_m3(leak_l_s, r.night_day_factor_h)
        losses = leak_day * days if leak_day is not None else None
        uarl = kpi.uarl_litres_per_day(
            _num(r.mains_length_km), _int(r.service_connections), _num(r.private_pipe_km), _num(r.avg_pressure_m)
        )
        billed = _num(r.billed_consumption_m3_day)
        rows.append(
            {
                "district_id": r.district_id,
                "period": period,
                "period_start": r.period_start,
                "inflow_m3": r.inflow_m3,
                "outflow_m3": r.outflow_m3,
                "net_inflow_m3": r.net_inflow_m3,
                "consumption_m3": billed * days if billed is not None else None,
                "losses_m3": losses,
                "mnf_l_s": _num(r.mnf_l_s),
                "night_leakage_l_s": leak_l_s,
                "leakage_m3_day": leak_day,
                "nrw_pct": kpi.nrw_pct(r.net_inflow_m3, billed * days) if billed is not None else None,
                "real_losses_l_conn_day": kpi.per_connection_l_day(
                    leak_day * 1000.0 if leak_day is not None else None, _int(r.service_connections)
                ),
                "uarl_l_day": uarl,
                "ili": kpi.ili(leak_day * 1000.0 if leak_day is not None else None, uarl),
                "m1a_m3_km_day": kpi.m1a(leak_day, _num(r.mains_length_km)),
                "m1b_pct": kpi.m1b(losses, r.net_inflow_m3),
                "coverage": r.coverage,
                "hours": int(r.hours),
                "expected_hours": int(r.expected_hours),
                "samples": int(r.samples),
                "partial": bool(r.partial),
            }
        )
    return pd.DataFrame(rows)


# The figures of a range of local days: one definition for the API, the dashboard's
# Overview, Efficiency and KPI views and the reports.
RANGE_FIGURES = (
    "days", "partial_days", "first_day", "last_day", "hours", "input_m3", "outflow_m3", "losses_m3",
    "consumption_m3", "nrw_pct", "mnf_l_s", "leakage_m3_day", "real_losses_l_conn_day", "ili", "m1a_m3_km_day",
    "m1b_pct",
)  # fmt: skip


def range_figures(days: list[dict] | pd.DataFrame) -> dict:
    """Water balance and loss indicators of a range, from its daily rows (as stored by the
    network_efficiency job; dicts or a frame).

    Only complete days count (partial ones, e.g. today, are counted in `partial_days` and
    left out). Volumes are sums (m3); MNF the mean (l/s); ILI, M1a and per-connection losses
    the hour-weighted means of the daily values (= range losses per day over the same
    denominators); M1b = range losses / range input (%). NRW only where every day has billed
    consumption (IWA: system input - billed authorised consumption); otherwise None: without
    billing data the losses are real losses estimated from the night flow, not NRW.
    """
    frame = pd.DataFrame(days) if not isinstance(days, pd.DataFrame) else days.copy()
    out: dict = {k: None for k in RANGE_FIGURES}
    out.update(days=0, partial_days=0)
    if frame.empty:
        return out
    partial = frame["partial"].fillna(False).astype(bool) if "partial" in frame else pd.Series(False, frame.index)
    out["partial_days"] = int(partial.sum())
    full = frame[~partial]
    if full.empty:
        return out
    num = {c: pd.to_numeric(full[c], errors="coerce") if c in full else pd.Series(float("nan"), full.index) for c in (
        "net_inflow_m3", "outflow_m3", "losses_m3", "consumption_m3", "mnf_l_s", "leakage_m3_day",
        "real_losses_l_conn_day", "ili", "m1a_m3_km_day", "hours")}  # fmt: skip
    hours = num["hours"].fillna(24.0)
    starts = sorted(str(x) for x in full["period_start"])
    out.update(days=len(full), first_day=starts[0], last_day=starts[-1], hours=int(hours.sum()))

    def total(col):
        v = num[col]
        return float(v.sum()) if v.notna().any() else None

    def weighted(col):
        v = num[col]
        ok = v.notna()
        return float((v[ok] * hours[ok]).sum() / hours[ok].sum()) if ok.any() and hours[ok].sum() > 0 else None

    out["input_m3"] = total("net_inflow_m3")
    out["outflow_m3"] = total("outflow_m3")
    out["losses_m3"] = total("losses_m3")
    billed = num["consumption_m3"]
    out["consumption_m3"] = float(billed.sum()) if billed.notna().all() else None
    if out["consumption_m3"] is not None:
        out["nrw_pct"] = kpi.nrw_pct(out["input_m3"], out["consumption_m3"])
    out["mnf_l_s"] = float(num["mnf_l_s"].mean()) if num["mnf_l_s"].notna().any() else None
    for col in ("leakage_m3_day", "real_losses_l_conn_day", "ili", "m1a_m3_km_day"):
        out[col] = weighted(col)
    with_losses = num["losses_m3"].notna()
    if with_losses.any():
        out["m1b_pct"] = kpi.m1b(
            float(num["losses_m3"][with_losses].sum()), float(num["net_inflow_m3"][with_losses].sum())
        )
    return out


def _num(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _int(value) -> int | None:
    return None if value is None or pd.isna(value) else int(value)
