"""Consumption patterns: typical daily and weekly profiles and the current week's departure."""

from __future__ import annotations

import pandas as pd


def _local(series: pd.Series, timezone: str) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(series.index).tz_convert(timezone)


def daily_profile(hourly: pd.Series, timezone: str) -> pd.DataFrame:
    """Typical day: mean, p10, p90 of the value per local hour of day (0-23)."""
    idx = _local(hourly, timezone)
    g = pd.Series(hourly.to_numpy(), index=idx.hour).groupby(level=0)
    out = pd.DataFrame({"mean": g.mean(), "p10": g.quantile(0.1), "p90": g.quantile(0.9), "n": g.size()})
    out.index.name = "hour"
    return out.reset_index()


def weekly_profile(hourly: pd.Series, timezone: str) -> pd.DataFrame:
    """Typical week: mean per (local weekday 0=Monday, hour)."""
    idx = _local(hourly, timezone)
    key = pd.MultiIndex.from_arrays([idx.weekday, idx.hour], names=["weekday", "hour"])
    g = pd.Series(hourly.to_numpy(), index=key).groupby(level=[0, 1])
    return pd.DataFrame({"mean": g.mean(), "std": g.std(), "n": g.size()}).reset_index()


def heatmap(hourly: pd.Series, timezone: str) -> pd.DataFrame:
    """Mean per local weekday (rows, 0=Monday) x hour of day (columns)."""
    return weekly_profile(hourly, timezone).pivot(index="weekday", columns="hour", values="mean")


def week_against_typical(hourly: pd.Series, timezone: str, now: pd.Timestamp) -> pd.DataFrame:
    """The last 7 days hour by hour beside the typical week built from the data before them:
    columns ts, how (local hour of week, Monday 00 = 0), value, typical (NaN without history)."""
    now = pd.Timestamp(now).tz_convert("UTC")
    idx = pd.DatetimeIndex(hourly.index).tz_convert("UTC")
    cut = now - pd.Timedelta(days=7)
    history, current = hourly[idx < cut], hourly[(idx >= cut) & (idx < now)]
    loc = _local(current, timezone)
    out = pd.DataFrame(
        {"ts": pd.DatetimeIndex(current.index), "how": loc.weekday * 24 + loc.hour, "value": current.to_numpy()}
    )
    if history.empty:
        return out.assign(typical=float("nan"))
    typical = weekly_profile(history, timezone).set_index(["weekday", "hour"])["mean"]
    out["typical"] = typical.reindex(pd.MultiIndex.from_arrays([loc.weekday, loc.hour])).to_numpy()
    return out


def current_week_departure(hourly: pd.Series, timezone: str, now: pd.Timestamp) -> dict:
    """How the last 7 days depart from the typical week built from the data before them.

    Returns total volume ratio (current / typical), mean absolute % departure per hour and
    the hours furthest above typical; None figures when there is no history.
    """
    week = week_against_typical(hourly, timezone, now)
    valid = week[week["typical"].notna()]
    if valid.empty:
        return {"ratio": None, "mean_abs_departure_pct": None, "hours": len(week), "top": []}
    cur, expected = valid["value"].to_numpy(), valid["typical"].to_numpy()
    diff = cur - expected
    denom = abs(expected).clip(min=1e-9)
    order = diff.argsort()[::-1][:5]
    ts = pd.DatetimeIndex(valid["ts"])
    return {
        "ratio": float(cur.sum() / expected.sum()) if expected.sum() else None,
        "mean_abs_departure_pct": float((abs(diff) / denom).mean() * 100.0),
        "hours": len(valid),
        "top": [{"ts": ts[i].isoformat(), "value": float(cur[i]), "typical": float(expected[i])} for i in order],
    }
