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


def current_week_departure(hourly: pd.Series, timezone: str, now: pd.Timestamp) -> dict:
    """How the last 7 days depart from the typical week built from the data before them.

    Returns total volume ratio (current / typical), mean absolute % departure per hour and
    the hours furthest above typical; None figures when there is no history.
    """
    now = pd.Timestamp(now).tz_convert("UTC")
    idx = pd.DatetimeIndex(hourly.index).tz_convert("UTC")
    cut = now - pd.Timedelta(days=7)
    history, current = hourly[idx < cut], hourly[(idx >= cut) & (idx < now)]
    if history.empty or current.empty:
        return {"ratio": None, "mean_abs_departure_pct": None, "hours": len(current), "top": []}
    typical = weekly_profile(history, timezone).set_index(["weekday", "hour"])["mean"]
    loc = _local(current, timezone)
    expected = typical.reindex(pd.MultiIndex.from_arrays([loc.weekday, loc.hour])).to_numpy()
    cur = current.to_numpy()
    valid = ~pd.isna(expected)
    if not valid.any():
        return {"ratio": None, "mean_abs_departure_pct": None, "hours": len(current), "top": []}
    diff = cur[valid] - expected[valid]
    denom = abs(expected[valid]).clip(min=1e-9)
    order = diff.argsort()[::-1][:5]
    ts = pd.DatetimeIndex(current.index)[valid]
    return {
        "ratio": float(cur[valid].sum() / expected[valid].sum()) if expected[valid].sum() else None,
        "mean_abs_departure_pct": float((abs(diff) / denom).mean() * 100.0),
        "hours": int(valid.sum()),
        "top": [
            {"ts": ts[i].isoformat(), "value": float(cur[valid][i]), "typical": float(expected[valid][i])}
            for i in order
        ],
    }
