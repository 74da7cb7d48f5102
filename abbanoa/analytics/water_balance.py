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
    cols = ["district_id", "bucket", "inflow_m3", "outflow_m3", "net_inflow_m3", "coverage"]
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
    )
    sums = sums.reset_index().merge(districts, on="district_id", how="left")
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
            }
        )
    return pd.DataFrame(rows)


def _num(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _int(value) -> int | None:
    return None if value is None or pd.isna(value) else int(value)
