"""Minimum night flow (MNF) per district and the rising-MNF leak detector.

IWA: the minimum night flow (usually 02:00-04:00 local, when legitimate use is lowest) is
the classic leakage indicator; a slowly growing leak raises it night after night long
before any single reading looks odd (Lambert, "What do we know about pressure-leakage
relationships", IWA 2001; DESIGN.md domain references).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from abbanoa.analytics.baseline import lagged_median_mad
from abbanoa.analytics.config import DetectorConfig
from abbanoa.analytics.detectors import RISING_MNF, _flags, empty_flags


def minimum_night_flow(inflow: pd.DataFrame, config: DetectorConfig) -> pd.DataFrame:
    """Per district and local night: the lowest hourly mean inflow (l/s) in the night window.

    inflow: district_id, ts (UTC), value (net district inflow, l/s). The window is in local
    time, so it follows daylight saving (on the spring-forward night 02:00-03:00 does not
    exist and the window is one hour long).
    """
    if inflow.empty:
        return pd.DataFrame(columns=["district_id", "night", "mnf", "night_end", "hours", "mnf_ts", "seen_until"])
    frame = inflow.assign(ts=pd.to_datetime(inflow["ts"], utc=True))
    frame = frame.assign(hour=frame["ts"].dt.floor("h"))
    h = frame.groupby(["district_id", "hour"])["value"].mean().reset_index()
    local = h["hour"].dt.tz_convert(config.timezone)
    in_window = (local.dt.hour >= config.night_start_hour) & (local.dt.hour < config.night_end_hour)
    h = h[in_window].assign(night=local[in_window].dt.tz_localize(None).dt.normalize())
    if h.empty:
        return pd.DataFrame(columns=["district_id", "night", "mnf", "night_end", "hours", "mnf_ts", "seen_until"])
    lowest = h.loc[h.groupby(["district_id", "night"])["value"].idxmin(), ["district_id", "night", "hour"]]
    nights = h.groupby(["district_id", "night"]).agg(mnf=("value", "min"), hours=("value", "size")).reset_index()
    # when the minimum was seen (the start of its hour) and the newest reading of the night:
    # an anomaly found on a night still in progress starts and ends no later than its data
    nights = nights.merge(lowest.rename(columns={"hour": "mnf_ts"}), on=["district_id", "night"])
    frame = frame.assign(night=frame["hour"].map(dict(zip(h["hour"], h["night"], strict=False))))
    seen = frame.dropna(subset=["night"]).groupby(["district_id", "night"])["ts"].max().rename("seen_until")
    nights = nights.join(seen, on=["district_id", "night"])
    end_local = nights["night"] + pd.Timedelta(hours=config.night_end_hour)
    nights["night_end"] = end_local.dt.tz_localize(
        config.timezone, ambiguous=True, nonexistent="shift_forward"
    ).dt.tz_convert("UTC")
    return nights


def rising_night_flow(nights: pd.DataFrame, config: DetectorConfig, sensitivity: float = 1.0) -> pd.DataFrame:
    """Flag nights whose MNF stands above the median of earlier nights (the newest
    `mnf_skip_nights` left out of the reference, so a growing leak does not hide itself)."""
    if nights.empty:
        return empty_flags()
    n = nights.sort_values(["district_id", "night"]).reset_index(drop=True)
    prev = n.groupby("district_id")["mnf"].shift(config.mnf_skip_nights)
    ref, spread = lagged_median_mad(prev, [n["district_id"]], config.mnf_history_nights, config.mnf_min_nights)
    ref = pd.Series(ref, index=n.index)
    iqr = pd.Series(spread, index=n.index)
    scale = np.fmax.reduce(
        [
            iqr.fillna(0).to_numpy(),
            config.mnf_relative_floor * ref.abs().fillna(0).to_numpy(),
            np.full(len(n), config.mnf_absolute_floor),
        ]
    )
    score = (n["mnf"] - ref) / scale
    limit = config.mnf_z / max(sensitivity, 0.05)
    hit = score >= limit
    # stamped when the night's minimum was seen, ending with the night's newest reading (a
    # run inside the night window does not date its anomaly after itself)
    hits = n[hit].assign(metric="flow_rate", node_id=None, ts=n["mnf_ts"][hit])
    end = pd.to_datetime(n["seen_until"][hit], utc=True).where(
        pd.to_datetime(n["seen_until"][hit], utc=True) < n["night_end"][hit], n["night_end"][hit]
    )
    return _flags(
        hits,
        RISING_MNF,
        end_ts=end.to_numpy(),
        score=score[hit].to_numpy(),
        threshold=limit,
        observed=hits["mnf"].to_numpy(),
        expected=ref[hit].to_numpy(),
    )
