"""Data quality per node, metric and local day: completeness, validity, staleness,
consistency, and an overall score (0-100).

- completeness: distinct readings received / expected (local day length, 23/24/25 h, over
  the series' usual interval);
- validity: share of readings inside the metric's physical range and the node's thresholds;
- staleness: seconds from the series' newest reading to the computation time;
- consistency: 1 - duplicate share; for a totalizer also 1 - share of backward steps, times
  the agreement of its daily increase with the integrated flow rate of the same node.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from abbanoa.metrics import METRICS

SERIES = ["node_id", "metric"]
WEIGHTS = {"completeness": 0.4, "validity": 0.3, "consistency": 0.2, "freshness": 0.1}
STALE_AFTER_S = 3 * 3600.0  # no reading for 3 h: a stale sensor (and at least 4 intervals)
BROKEN_VALIDITY = 0.9
BROKEN_COMPLETENESS = 0.5


def day_length_s(days: pd.Series, timezone: str) -> pd.Series:
    """Seconds in each local day (82800 / 86400 / 90000 with daylight saving)."""
    start = days.dt.tz_localize(timezone)
    end = (days + pd.Timedelta(days=1)).dt.tz_localize(timezone)
    return (end - start).dt.total_seconds()


def daily_quality(
    readings: pd.DataFrame,
    now: pd.Timestamp,
    timezone: str = "Europe/Rome",
    thresholds: pd.DataFrame | None = None,
    latest: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per node, metric and local day present in `readings` (node_id, metric, ts,
    value; duplicates allowed). `latest` (node_id, metric, ts) adds staleness for series
    silent in the window."""
    now = pd.Timestamp(now)
    frame = readings[["node_id", "metric", "ts", "value"]].copy()
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    frame = frame.sort_values(SERIES + ["ts"]).reset_index(drop=True)
    if frame.empty:
        return pd.DataFrame(
            columns=SERIES
            + ["day", "expected", "received", "completeness", "validity", "staleness_s", "consistency"]
            + ["duplicates", "score", "interval_s", "backwards"]
        )
    frame["day"] = frame["ts"].dt.tz_convert(timezone).dt.tz_localize(None).dt.normalize()
    frame["dup"] = frame.duplicated(SERIES + ["ts"])
    unique = frame[~frame["dup"]].copy()
    step = unique.groupby(SERIES)["ts"].diff().dt.total_seconds()
    interval = step.groupby([unique["node_id"], unique["metric"]]).median().rename("interval_s")
    low = frame["metric"].map({m: v.min_value for m, v in METRICS.items()})
    high = frame["metric"].map({m: v.max_value for m, v in METRICS.items()})
    valid = frame["value"].between(low, high)
    if thresholds is not None and not thresholds.empty:
        t = frame[SERIES].merge(thresholds[SERIES + ["low", "high"]], on=SERIES, how="left")
        tl = pd.to_numeric(t["low"], errors="coerce").to_numpy()
        th = pd.to_numeric(t["high"], errors="coerce").to_numpy()
        v = frame["value"].to_numpy()
        valid &= ~(np.nan_to_num(v < tl, nan=False) | np.nan_to_num(v > th, nan=False))
    frame["valid"] = valid
    unique["back"] = unique.groupby(SERIES)["value"].diff() < -1e-9
    frame = frame.merge(unique[SERIES + ["ts", "back"]].drop_duplicates(SERIES + ["ts"]), on=SERIES + ["ts"])
    keys = SERIES + ["day"]
    out = frame.groupby(keys).agg(
        rows=("ts", "size"),
        received=("dup", lambda s: int((~s).sum())),
        duplicates=("dup", "sum"),
        validity=("valid", "mean"),
        backwards=("back", "sum"),
        last_ts=("ts", "max"),
    )
    out = out.reset_index().join(interval, on=SERIES)
    out["interval_s"] = out["interval_s"].fillna(900.0).clip(lower=1.0)
    out["expected"] = np.rint(day_length_s(out["day"], timezone) / out["interval_s"]).astype(int)
    out["completeness"] = (out["received"] / out["expected"]).clip(upper=1.0)
    last = frame.groupby(SERIES)["ts"].max().rename("series_last")
    if latest is not None and not latest.empty:
        other = latest.assign(ts=pd.to_datetime(latest["ts"], utc=True)).groupby(SERIES)["ts"].max()
        last = pd.concat([last, other], axis=1).max(axis=1).rename("series_last")
    out = out.join(last, on=SERIES)
    out["staleness_s"] = (now - out["series_last"]).dt.total_seconds().clip(lower=0)
    consistency = 1.0 - out["duplicates"] / out["rows"]
    consistency *= 1.0 - out["backwards"] / out["received"].clip(lower=1)
    agreement = totalizer_agreement(frame[~frame["dup"]], keys)
    if agreement.empty:
        out["agreement"] = np.nan
    else:
        out = out.join(agreement, on=keys)
    out["consistency"] = consistency * out["agreement"].fillna(1.0)
    stale_limit = np.fmax(STALE_AFTER_S, 4 * out["interval_s"])
    freshness = np.where(out["staleness_s"] <= stale_limit, 1.0, np.clip(1 - out["staleness_s"] / 86400, 0, 1))
    out["score"] = 100 * (
        WEIGHTS["completeness"] * out["completeness"]
        + WEIGHTS["validity"] * out["validity"]
        + WEIGHTS["consistency"] * out["consistency"]
        + WEIGHTS["freshness"] * freshness
    )
    out["stale"] = out["staleness_s"] > stale_limit
    out["day"] = out["day"].dt.date
    return out.drop(columns=["rows", "last_ts", "series_last"])


def totalizer_agreement(frame: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Per node and day with both flow_rate and total_flow: 1 - |totalizer increase -
    integrated flow| / max(both), the integral in m3 (l/s x s / 1000, trapezoids)."""
    flow = frame[frame["metric"] == "flow_rate"].sort_values(["node_id", "ts"])
    total = frame[frame["metric"] == "total_flow"]
    if flow.empty or total.empty:
        return pd.Series(dtype=float, name="agreement")
    dt_s = flow.groupby(["node_id", "day"])["ts"].diff().dt.total_seconds()
    mean_flow = (flow["value"] + flow.groupby(["node_id", "day"])["value"].shift(1)) / 2
    integrated = (mean_flow * dt_s / 1000.0).groupby([flow["node_id"], flow["day"]]).sum()
    increase = total.groupby(["node_id", "day"])["value"].agg(lambda s: s.iloc[-1] - s.iloc[0])
    both = pd.concat([integrated.rename("integrated"), increase.rename("increase")], axis=1).dropna()
    denom = np.fmax(both[["integrated", "increase"]].abs().max(axis=1), 1e-6)
    agreement = (1 - (both["increase"] - both["integrated"]).abs() / denom).clip(lower=0)
    agreement = agreement.rename("agreement").reset_index().assign(metric="total_flow")
    return agreement.set_index(keys)["agreement"]


def problems(quality: pd.DataFrame, today) -> pd.DataFrame:
    """Rows that deserve a data-quality alert: a stale series (dated today), or a broken one
    on a past, complete local day (validity or completeness too low)."""
    q = quality.copy()
    broken = (q["day"] < today) & ((q["validity"] < BROKEN_VALIDITY) | (q["completeness"] < BROKEN_COMPLETENESS))
    broken_rows = q[broken].assign(problem="broken_sensor")
    # a stale series is reported once per local day, from its newest row, whatever day that was
    newest = q.sort_values("day").groupby(SERIES).tail(1)
    stale_rows = newest[newest["stale"]].assign(problem="stale_sensor", day=today)
    return pd.concat([broken_rows, stale_rows], ignore_index=True)
