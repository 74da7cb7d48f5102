"""Water balance, minimum night flow and loss indicators per district (DMA).

Inputs are plain pandas objects (no I/O). Flow rates are l/s (+ = in the meter's positive
direction); a district meter's `direction` (+1/-1) says whether that positive flow enters
the district. Local days and night windows are in the configured time zone (Europe/Rome),
so 23- and 25-hour days are handled by converting local wall-clock times to UTC.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pandas as pd

from abbanoa.errors import AbbanoaError


@dataclass(frozen=True)
class Infrastructure:
    """A district's infrastructure data; any field may be unknown (None)."""

    mains_length_km: float | None = None
    service_connections: int | None = None
    private_pipe_km: float | None = None  # Lp: service pipe length, property line to meter
    avg_pressure_m: float | None = None
    night_use_l_per_conn_h: float = 1.7


def net_inflow_l_s(flows: pd.DataFrame, directions: dict[str, int]) -> pd.Series:
    """Net district inflow (l/s) per timestamp from its meters' flow rates.

    `flows`: columns ts, node_id, value (l/s). Only timestamps where every district meter
    reports are kept (a missing meter would bias the balance); returns a Series indexed by ts.
    """
    if not directions:
        raise AbbanoaError("district has no district meters: net inflow is undefined")
    df = flows[flows["node_id"].isin(directions)]
    if df.empty:
        return pd.Series(dtype=float, name="net_inflow_l_s")
    wide = df.pivot_table(index="ts", columns="node_id", values="value", aggfunc="mean")
    wide = wide.reindex(columns=sorted(directions)).dropna()
    signs = pd.Series({n: float(directions[n]) for n in wide.columns})
    return (wide * signs).sum(axis=1).sort_index().rename("net_inflow_l_s")


def hourly_volume_m3(net_l_s_hourly: pd.Series) -> pd.Series:
    """Hourly mean flow (l/s) -> hourly volume (m3): l/s x 3600 s / 1000."""
    return net_l_s_hourly * 3.6


def local_day_start(ts: pd.Timestamp | dt.datetime, timezone: str) -> dt.datetime:
    """UTC instant of the local midnight that starts ts's local day."""
    tz = ZoneInfo(timezone)
    local = pd.Timestamp(ts).tz_convert(tz)
    return dt.datetime(local.year, local.month, local.day, tzinfo=tz).astimezone(dt.UTC)


def aggregate_volumes(hourly_m3: pd.Series, period: str, timezone: str) -> pd.DataFrame:
    """Sum hourly volumes (index = hour start UTC) per local hour/day/month.

    Returns columns period_start (UTC instant of the local period start), volume_m3, hours.
    A local day has 23, 24 or 25 hours; `hours` says how many were present.
    """
    if period not in ("hour", "day", "month"):
        raise AbbanoaError(f"unknown period {period!r} (hour, day, month)")
    if hourly_m3.empty:
        return pd.DataFrame(columns=["period_start", "volume_m3", "hours"])
    idx = pd.DatetimeIndex(hourly_m3.index).tz_convert("UTC")
    local = idx.tz_convert(timezone)
    if period == "hour":
        keys = idx
    else:
        naive = local.tz_localize(None)
        keys = naive.normalize() if period == "day" else naive.to_period("M").to_timestamp()
        keys = pd.DatetimeIndex(keys).tz_localize(timezone, ambiguous=True).tz_convert("UTC")
    grouped = pd.Series(hourly_m3.to_numpy(), index=keys).groupby(level=0)
    out = pd.DataFrame({"volume_m3": grouped.sum(), "hours": grouped.size()})
    out.index.name = "period_start"
    return out.reset_index()


def night_window_utc(day: dt.date, timezone: str, start_h: int = 2, end_h: int = 4) -> tuple[dt.datetime, dt.datetime]:
    """The [start, end) UTC instants of local start_h:00-end_h:00 on a local day.

    On the last Sunday of March (Europe/Rome) 02:00 local does not exist: wall clocks jump
    from 02:00 to 03:00, so the window 02:00-04:00 is one real hour (01:00-02:00 UTC).
    zoneinfo resolves the non-existent 02:00 forward (fold=0 -> +01:00 offset) which we
    convert through UTC. In October 02:00-03:00 happens twice; the window starts at the
    first occurrence (fold=0) and so spans three real hours.
    """
    tz = ZoneInfo(timezone)

    def to_utc(hour: int) -> dt.datetime:
        # fold=0: a wall time inside the spring gap takes the pre-transition offset, which
        # lands exactly on the transition instant (02:00 CET = 01:00 UTC = 03:00 CEST)
        return dt.datetime(day.year, day.month, day.day, hour, tzinfo=tz, fold=0).astimezone(dt.UTC)

    return to_utc(start_h), to_utc(end_h)


def minimum_night_flow(
    net_l_s: pd.Series, timezone: str, start_h: int = 2, end_h: int = 4, min_points: int = 1
) -> pd.Series:
    """MNF (l/s) per local day: the minimum of the net inflow inside the local night window.

    `net_l_s` is indexed by UTC timestamps (any resolution: 5-minute averages give the
    usual MNF). Days without data in the window are left out. Index: local date.
    """
    if net_l_s.empty:
        return pd.Series(dtype=float, name="mnf_l_s")
    idx = pd.DatetimeIndex(net_l_s.index).tz_convert("UTC")
    local_days = sorted(set(idx.tz_convert(timezone).date))
    out = {}
    for day in local_days:
        lo, hi = night_window_utc(day, timezone, start_h, end_h)
        mask = (idx >= pd.Timestamp(lo)) & (idx < pd.Timestamp(hi))
        if mask.sum() >= min_points:
            out[day] = float(net_l_s.to_numpy()[mask].min())
    return pd.Series(out, name="mnf_l_s", dtype=float)


def mnf_trend_l_s_per_day(mnf: pd.Series) -> float | None:
    """Least-squares slope of MNF over days (l/s per day); None with fewer than 3 days.

    A rising MNF with steady consumption is the classic sign of a growing leak.
    """
    clean = mnf.dropna()
    if len(clean) < 3:
        return None
    x = pd.Series([(pd.Timestamp(d) - pd.Timestamp(clean.index[0])).days for d in clean.index], dtype=float)
    y = clean.to_numpy(dtype=float)
    xm, ym = x.mean(), y.mean()
    den = float(((x - xm) ** 2).sum())
    return None if den == 0 else float(((x - xm) * (y - ym)).sum() / den)


def night_leakage_l_s(mnf_l_s: float, infra: Infrastructure) -> float | None:
    """Leakage at the minimum night flow: MNF minus legitimate night use.

    Legitimate night use = connections x litres per connection per hour / 3600 (l/s)
    (component analysis of night flow, Lambert 1994; UK Water Industry Research "Managing
    Leakage" Report E, 1994). None when the connection count is unknown.
    """
    if infra.service_connections is None:
        return None
    allowance = infra.service_connections * infra.night_use_l_per_conn_h / 3600.0
    return max(mnf_l_s - allowance, 0.0)


def daily_leakage_m3(night_leak_l_s: float, night_day_factor_h: float = 20.0) -> float:
    """Daily leakage volume from night leakage: l/s x NDF (hours/day) x 3600 / 1000.

    The night-day factor (NDF, hours) converts the night leakage rate to a daily volume: it is
    below 24 h because pressure (and pressure-dependent leakage) is highest at night
    (FAVAD, May 1994; Lambert & Thornton, IWA Water Loss Task Force 2000s). Typical 18-22 h
    for gravity systems; 24 h where pressure is controlled to be flat.
    """
    return night_leak_l_s * night_day_factor_h * 3.6


def nrw_pct(system_input_m3: float | None, billed_m3: float | None) -> float | None:
    """Non-revenue water as a share of system input volume, %.

    NRW = system input volume - billed authorised consumption (IWA standard water balance,
    Alegre et al., "Performance Indicators for Water Supply Services", IWA Publishing 2000/2006).
    """
    if system_input_m3 is None or billed_m3 is None or system_input_m3 <= 0:
        return None
    return 100.0 * (system_input_m3 - billed_m3) / system_input_m3


def real_losses_l_conn_day(real_losses_m3_day: float | None, infra: Infrastructure) -> float | None:
    """IWA Op27: real losses per service connection per day (l/conn/day)."""
    if real_losses_m3_day is None or not infra.service_connections:
        return None
    return real_losses_m3_day * 1000.0 / infra.service_connections


def uarl_l_day(infra: Infrastructure) -> float | None:
    """Unavoidable Annual Real Losses expressed per day (litres/day).

    UARL (l/day) = (18 x Lm + 0.8 x Nc + 25 x Lp) x P
    with Lm mains length (km), Nc number of service connections, Lp total length of private
    pipe between property boundary and customer meter (km), P average operating pressure (m).
    Source: Lambert, Brown, Takizawa, Weimer, "A review of performance indicators for real
    losses from water supply systems", AQUA 48(6), 1999; IWA Water Loss Task Force.
    Lp unknown counts as 0 (meters at the property line), as the IWA guidance allows.
    """
    if infra.mains_length_km is None or infra.service_connections is None or infra.avg_pressure_m is None:
        return None
    lp = infra.private_pipe_km or 0.0
    return (18.0 * infra.mains_length_km + 0.8 * infra.service_connections + 25.0 * lp) * infra.avg_pressure_m


def ili(current_annual_real_losses_l_day: float | None, infra: Infrastructure) -> float | None:
    """Infrastructure Leakage Index = CARL / UARL (dimensionless; IWA, Lambert et al. 1999)."""
    uarl = uarl_l_day(infra)
    if current_annual_real_losses_l_day is None or not uarl:
        return None
    return current_annual_real_losses_l_day / uarl


def arera_m1a(losses_m3_day: float | None, infra: Infrastructure) -> float | None:
    """ARERA M1a, linear water losses (m3/km/day) = total losses / mains length / days.

    ARERA deliberation 917/2017/R/idr (RQTI), Annex A art. 7: M1a = WLtot / (L x 365).
    """
    if losses_m3_day is None or not infra.mains_length_km:
        return None
    return losses_m3_day / infra.mains_length_km


def arera_m1b(losses_m3: float | None, system_input_m3: float | None) -> float | None:
    """ARERA M1b, percentage water losses (%) = WLtot / WSIN (917/2017/R/idr, Annex A art. 7)."""
    if losses_m3 is None or not system_input_m3:
        return None
    return 100.0 * losses_m3 / system_input_m3


def indicators(
    *,
    inflow_m3: float,
    hours: float,
    consumption_m3: float | None,
    mnf_l_s: float | None,
    infra: Infrastructure,
    night_day_factor_h: float = 20.0,
) -> dict[str, float | None]:
    """Every indicator for one period, from its net inflow and what else is known.

    Losses are measured (inflow - consumption) where consumption is metered, else estimated
    from the night leakage (MNF - legitimate night use) scaled by the night-day factor.
    """
    days = hours / 24.0 if hours else None
    night_leak = night_leakage_l_s(mnf_l_s, infra) if mnf_l_s is not None else None
    leak_day = daily_leakage_m3(night_leak, night_day_factor_h) if night_leak is not None else None
    if consumption_m3 is not None:
        losses = inflow_m3 - consumption_m3
    elif leak_day is not None and days:
        losses = leak_day * days
    else:
        losses = None
    losses_day = losses / days if losses is not None and days else None
    return {
        "net_inflow_m3": inflow_m3,
        "consumption_m3": consumption_m3,
        "losses_m3": losses,
        "mnf_l_s": mnf_l_s,
        "night_leakage_l_s": night_leak,
        "leakage_m3_day": leak_day,
        "nrw_pct": nrw_pct(inflow_m3, consumption_m3),
        "real_losses_l_conn_day": real_losses_l_conn_day(losses_day, infra),
        "uarl_l_day": uarl_l_day(infra),
        "ili": ili(losses_day * 1000.0 if losses_day is not None else None, infra),
        "m1a_m3_km_day": arera_m1a(losses_day, infra),
        "m1b_pct": arera_m1b(losses, inflow_m3),
    }
