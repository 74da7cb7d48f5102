"""Data quality per node, metric and local day: completeness, validity, staleness,
consistency, and an overall score (0-100).

- completeness: distinct readings received / expected (local day length, 23/24/25 h, over
  the series' usual interval);
- validity: share of readings inside the metric's physical range and the node's thresholds;
- staleness: seconds from the series' newest reading to the computation time;
- consistency: 1 - duplicate share; for a totalizer also 1 - share of backward steps, times
  the agreement of its daily increase with the integrated flow rate of the same node;
- longest gap between two readings and longest run of one repeated value, per day (the
  day a gap or run ends), for the gap and stuck-sensor alerts.

A series silent in the whole window but known from `latest` gets a row for today (no
readings, stale): that is exactly when a stale-sensor alert is due.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from abbanoa.metrics import METRICS

SERIES = ["node_id", "metric"]
WEIGHTS = {"completeness": 0.4, "validity": 0.3, "consistency": 0.2, "freshness": 0.1}
STALE_AFTER_S = 3 * 3600.0  # no reading for 3 h: a stale sensor (and at least 4 intervals)
GAP_AFTER_S = STALE_AFTER_S  # a hole of 3 h (and 4 intervals) between readings: a data gap
STUCK_AFTER_S = 3 * 3600.0  # one value repeated for 3 h (and STUCK_MIN_READINGS): a stuck sensor
STUCK_MIN_READINGS = 6  # as the 15-minute detector's stuck_value (DetectorConfig)
BROKEN_VALIDITY = 0.9
BROKEN_COMPLETENESS = 0.5
COLUMNS = SERIES + [
    "day",
    "expected",
    "received",
    "completeness",
    "validity",
    "staleness_s",
    "consistency",
    "duplicates",
    "score",
    "interval_s",
    "backwards",
    "stale",
    "reported_completeness",
    "longest_gap_s",
    "longest_flat_s",
]


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
    silent in the window (a row for today when it has none in the window); rows of `latest`
    newer than `now` (a replay of a past day) count as silent since before the window."""
    now = pd.Timestamp(now)
    frame = readings[["node_id", "metric", "ts", "value"]].copy()
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    frame = frame[frame["ts"] <= now].sort_values(SERIES + ["ts"]).reset_index(drop=True)
    latest = _latest_until(latest, frame, now)
    silent = _silent_rows(frame, latest, now, timezone)
    if frame.empty:
        return silent
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
    # judged up to the series' newest reading: a day cut short by silence is staleness (one
    # alert per series, or per district), not a broken day for every sensor
    day_start = out["day"].dt.tz_localize(timezone, ambiguous=True, nonexistent="shift_forward").dt.tz_convert("UTC")
    day_s = day_length_s(out["day"], timezone)
    # and from its first reading in the window (a sensor that starts mid-day is new, and one
    # silent before the window was stale then, alerted by that day's run)
    first = frame.groupby(SERIES)["ts"].min().rename("series_first")
    out = out.join(first, on=SERIES)
    head = np.fmax((out["series_first"] - day_start).dt.total_seconds(), 0.0)
    covered = np.fmin(day_s, (out["series_last"] - day_start).dt.total_seconds() + out["interval_s"]) - head
    out["reported_completeness"] = (out["received"] / np.fmax(np.rint(covered / out["interval_s"]), 1)).clip(upper=1.0)
    out = out.join(_longest_gap(unique, keys), on=keys).join(_longest_flat(unique, keys), on=keys)
    out[["longest_gap_s", "longest_flat_s"]] = out[["longest_gap_s", "longest_flat_s"]].fillna(0.0)
    out["day"] = out["day"].dt.date
    out = out.drop(columns=["rows", "last_ts", "series_last", "series_first"])
    return pd.concat([out[COLUMNS], silent], ignore_index=True) if not silent.empty else out[COLUMNS]


def _latest_until(latest: pd.DataFrame | None, frame: pd.DataFrame, now: pd.Timestamp) -> pd.DataFrame:
    """Newest reading per series as of `now`: a `latest` row from after `now` means only that
    the series said nothing in the window, so its newest reading then is before the window."""
    if latest is None or latest.empty:
        return pd.DataFrame(columns=["node_id", "metric", "ts"])
    other = latest[SERIES + ["ts"]].assign(ts=pd.to_datetime(latest["ts"], utc=True))
    window_start = frame["ts"].min() if not frame.empty else now - pd.Timedelta(days=1)
    late = other["ts"] > now
    other.loc[late, "ts"] = min(window_start, now) - pd.Timedelta(seconds=1)
    return other.groupby(SERIES, as_index=False)["ts"].max()


def _silent_rows(frame: pd.DataFrame, latest: pd.DataFrame, now: pd.Timestamp, timezone: str) -> pd.DataFrame:
    """A row for today for each series of `latest` without a reading in the window."""
    seen = frame[SERIES].drop_duplicates()
    quiet = latest.merge(seen, on=SERIES, how="left", indicator=True)
    quiet = quiet[quiet["_merge"] == "left_only"].drop(columns="_merge").reset_index(drop=True)
    if quiet.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS}).astype({"stale": bool})
    today = now.tz_convert(timezone).tz_localize(None).normalize()
    staleness = (now - quiet["ts"]).dt.total_seconds().clip(lower=0)
    interval = 900.0  # unknown from the window: the usual 15 minutes
    since_midnight = (now.tz_convert(timezone).tz_localize(None) - today).total_seconds()
    return quiet.drop(columns="ts").assign(
        day=today.date(),
        expected=int(np.rint(since_midnight / interval)),
        received=0,
        completeness=0.0,
        validity=1.0,  # nothing invalid was received
        staleness_s=staleness,
        consistency=1.0,
        duplicates=0,
        score=100 * (WEIGHTS["validity"] + WEIGHTS["consistency"]),
        interval_s=interval,
        backwards=0,
        stale=staleness > max(STALE_AFTER_S, 4 * interval),
        reported_completeness=0.0,
        longest_gap_s=staleness,
        longest_flat_s=0.0,
    )[COLUMNS]


def _longest_gap(unique: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Per series and day: the longest time between two readings, given to the day of the later."""
    step = unique.groupby(SERIES)["ts"].diff().dt.total_seconds()
    return step.groupby([unique[k] for k in keys]).max().rename("longest_gap_s")


def _longest_flat(unique: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Per series and day: the longest span of one repeated value (seconds from its first to
    its last reading, with at least STUCK_MIN_READINGS), given to the day the run ends. Not
    for totalizers (flat while nothing flows), nor a flow meter's zero (below its cut-off)."""
    frame = unique[(unique["metric"] != "total_flow")].reset_index(drop=True)
    if frame.empty:
        return pd.Series(dtype=float, name="longest_flat_s")
    same = frame.groupby(SERIES, sort=False)["value"].diff().eq(0)
    run = (~same).cumsum()
    grouped = frame.groupby(run)
    runs = pd.DataFrame(
        {
            "first": grouped["ts"].first(),
            "last": grouped["ts"].last(),
            "n": grouped.size(),
            "value": grouped["value"].first(),
            "metric": grouped["metric"].first(),
            **{k: grouped[k].last() for k in keys},
        }
    )
    runs = runs[(runs["n"] >= STUCK_MIN_READINGS) & ~((runs["metric"] == "flow_rate") & (runs["value"] == 0))]
    span = (runs["last"] - runs["first"]).dt.total_seconds()
    return span.groupby([runs[k] for k in keys]).max().rename("longest_flat_s")


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
    """Rows that deserve a data-quality alert, with its `problem` and `severity`:
    - stale_sensor (medium): silent now, reported once per local day (dated today);
    - data_gap (medium): a hole of GAP_AFTER_S (and 4 intervals) between two readings, on the
      day it ended;
    - stuck_sensor (medium): one value repeated for STUCK_AFTER_S, on the day the run ended;
    - broken_sensor (low): a past local day with validity below BROKEN_VALIDITY, or fewer
      readings than BROKEN_COMPLETENESS of those due up to the series' newest reading (a
      series that went silent is stale, not broken)."""
    if quality.empty:
        return quality.assign(problem=pd.Series(dtype=object), severity=pd.Series(dtype=object))
    q = quality.copy()
    interval = q["interval_s"].astype(float)
    past = q["day"] < today
    broken = past & ((q["validity"] < BROKEN_VALIDITY) | (q["reported_completeness"] < BROKEN_COMPLETENESS))
    gap = (q["received"] > 0) & (q["longest_gap_s"] > np.fmax(GAP_AFTER_S, 4 * interval))
    stuck = q["longest_flat_s"] >= STUCK_AFTER_S
    # a stale series is reported once per local day, from its newest row, whatever day that was
    newest = q.sort_values("day").groupby(SERIES).tail(1)
    return pd.concat(
        [
            q[broken].assign(problem="broken_sensor", severity="low"),
            q[gap].assign(problem="data_gap", severity="medium"),
            q[stuck].assign(problem="stuck_sensor", severity="medium"),
            newest[newest["stale"].astype(bool)].assign(problem="stale_sensor", severity="medium", day=today),
        ],
        ignore_index=True,
    )
