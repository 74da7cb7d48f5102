"""Episodes: consecutive flagged points of one node + metric + type become one anomaly,
with a start, an end, a peak score and a severity; and the status life cycle."""

from __future__ import annotations

import numpy as np
import pandas as pd

from abbanoa.analytics import detectors as d
from abbanoa.analytics.config import DetectorConfig
from abbanoa.errors import AbbanoaError

SEVERITIES = ("low", "medium", "high", "critical")
KEY = ["node_id", "district_id", "metric", "anomaly_type"]

# Points further apart than this start a new episode (hours). Nightly detectors see one
# point a night, so their episodes bridge a day; a lasting deviation can dip under its
# threshold for the busy hours of a day, so baseline episodes bridge 8 hours.
EPISODE_GAP_H = {d.RISING_MNF: 30.0, d.GAP: 0.0, d.BASELINE: 8.0}
# Severity floor and ceiling per type (index into SEVERITIES).
_FLOOR = {d.BURST: 2, d.PRESSURE_DROP: 2, d.OUT_OF_RANGE: 1, d.RISING_MNF: 1}
_CEILING = {d.SPIKE: 1, d.STUCK: 2, d.TOTALIZER: 2, d.GAP: 2, d.BASELINE: 2}


def severity_level(anomaly_type: str, ratio: float, duration_h: float, points: int = 1) -> int:
    """0..3 (low..critical) from the peak score / threshold ratio and the duration.

    ratio < 1.5 low, < 3 medium, < 6 high, else critical; one level more when the
    episode lasted 1 h (for a nightly leak signal: 2 nights), another at 6 h (3 nights);
    then the type's floor and ceiling (a burst is never below high, a spike never above medium).
    """
    level = int(np.searchsorted([1.5, 3.0, 6.0], abs(ratio), side="right"))
    if anomaly_type == d.RISING_MNF:
        level += int(points >= 2) + int(points >= 3)
    elif anomaly_type not in (d.STUCK, d.GAP):  # their ratio already grows with time
        level += int(duration_h >= 1.0) + int(duration_h >= 6.0)
    level = max(level, _FLOOR.get(anomaly_type, 0))
    return min(level, _CEILING.get(anomaly_type, 3))


def build_episodes(flags: pd.DataFrame, config: DetectorConfig | None = None) -> pd.DataFrame:
    """Merge flagged points into episodes: KEY + start_ts, end_ts, score (peak, signed),
    threshold, observed/expected at the peak, points, severity."""
    config = config or DetectorConfig()
    columns = KEY + ["start_ts", "end_ts", "score", "threshold", "observed", "expected", "points", "severity"]
    if flags.empty:
        return pd.DataFrame(columns=columns)
    f = flags.copy()
    for k in ("node_id", "district_id"):
        f[k] = f[k].astype(object).where(f[k].notna(), "")
    f["ts"] = pd.to_datetime(f["ts"], utc=True)
    f["end_ts"] = pd.to_datetime(f["end_ts"], utc=True)
    f = f.sort_values(KEY + ["ts"], kind="stable").reset_index(drop=True)
    gap_h = f["anomaly_type"].map(EPISODE_GAP_H).fillna(config.episode_gap_h)
    prev_end = f.groupby(KEY, sort=False)["end_ts"].cummax().groupby([f[k] for k in KEY]).shift(1)
    new = prev_end.isna() | (f["ts"] - prev_end > pd.to_timedelta(gap_h, unit="h"))
    f["episode"] = new.cumsum()
    f["abs_score"] = f["score"].abs()
    peak = f.loc[f.groupby("episode")["abs_score"].idxmax()].set_index("episode")
    agg = f.groupby("episode").agg(start_ts=("ts", "min"), end_ts=("end_ts", "max"), points=("ts", "size"))
    ep = peak[KEY + ["score", "threshold", "observed", "expected"]].join(agg)
    duration = (ep["end_ts"] - ep["start_ts"]).dt.total_seconds() / 3600.0
    ratio = ep["score"].abs() / ep["threshold"].astype(float).abs().clip(lower=1e-9)
    ep["severity"] = [
        SEVERITIES[severity_level(t, r, h, p)]
        for t, r, h, p in zip(ep["anomaly_type"], ratio, duration, ep["points"], strict=True)
    ]
    for k in ("node_id", "district_id"):
        ep[k] = ep[k].replace("", None)
    return ep.reset_index(drop=True)[columns]


def max_severity(a: str, b: str) -> str:
    return SEVERITIES[max(SEVERITIES.index(a), SEVERITIES.index(b))]


# status -> action -> new status
_TRANSITIONS = {
    "open": {"acknowledge": "acknowledged", "resolve": "resolved"},
    "acknowledged": {"resolve": "resolved"},
    "resolved": {},
}


def next_status(status: str, action: str) -> str:
    """open -> acknowledged -> resolved (open -> resolved allowed); anything else is an error."""
    try:
        return _TRANSITIONS[status][action]
    except KeyError:
        raise AbbanoaError(f"an anomaly that is {status} cannot be {action}d") from None
