"""Anomaly detectors: each takes readings (node_id, metric, ts, value) and returns flagged
points with one `anomaly_type` each (FLAG_COLUMNS). Vectorised over every series at once.

Scores are in robust standard deviations unless said otherwise; a point is flagged when
|score| >= threshold, and threshold = base threshold / sensitivity (metric or node).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from abbanoa.analytics.baseline import SERIES, expected_hourly, prepare, with_expected
from abbanoa.analytics.config import SCALE_FLOOR, DetectorConfig, sensitivity_frame
from abbanoa.analytics.medians import nanmedian_rows
from abbanoa.metrics import METRICS

FLAG_COLUMNS = [
    "node_id",
    "district_id",
    "metric",
    "anomaly_type",
    "ts",
    "end_ts",
    "score",
    "threshold",
    "observed",
    "expected",
]

# Types, as stored in anomalies.anomaly_type
BASELINE = "baseline_deviation"
BURST = "burst"  # step up in inflow
PRESSURE_DROP = "pressure_drop"  # step down in pressure
RISING_MNF = "rising_night_flow"
OUT_OF_RANGE = "out_of_range"
THRESHOLD = "threshold_breach"
STUCK = "stuck_value"
SPIKE = "spike"
GAP = "sensor_gap"
TOTALIZER = "totalizer_backwards"
SENSOR_FAULTS = (STUCK, SPIKE, GAP, TOTALIZER)


def _flags(frame: pd.DataFrame, anomaly_type: str, **columns) -> pd.DataFrame:
    out = pd.DataFrame(
        {
            "node_id": frame["node_id"].to_numpy() if "node_id" in frame else None,
            "district_id": frame["district_id"].to_numpy() if "district_id" in frame else None,
            "metric": frame["metric"].to_numpy(),
            "anomaly_type": anomaly_type,
            "ts": frame["ts"].to_numpy(),
        },
        index=frame.index,
    )
    for name, values in columns.items():
        out[name] = values
    if "end_ts" not in columns:
        out["end_ts"] = out["ts"]
    for name in ("observed", "expected"):
        if name not in out:
            out[name] = np.nan
    return out[FLAG_COLUMNS].reset_index(drop=True)


def empty_flags() -> pd.DataFrame:
    frame = pd.DataFrame({c: pd.Series(dtype="object") for c in FLAG_COLUMNS})
    frame["ts"] = pd.Series(dtype="datetime64[ns, UTC]")
    frame["end_ts"] = pd.Series(dtype="datetime64[ns, UTC]")
    return frame


def baseline_deviation(expected: pd.DataFrame, config: DetectorConfig, thresholds=None) -> pd.DataFrame:
    """Hourly mean far from the hour-of-week baseline; `expected` from expected_hourly()."""
    # a reference of one earlier day (the first days of a series) is good enough to see a
    # step against, not to judge a whole hour's level
    h = expected[expected["expected"].notna() & (expected["metric"] != "total_flow") & (expected["basis"] != "one_day")]
    if h.empty:
        return empty_flags()
    score = (h["value"] - h["expected"]) / h["scale"]
    limit = config.baseline_z / sensitivity_frame(h, config, thresholds)
    hit = score.abs() >= limit
    h = h[hit].rename(columns={"hour": "ts"})
    return _flags(
        h,
        BASELINE,
        score=score[hit].to_numpy(),
        threshold=limit[hit].to_numpy(),
        observed=h["value"].to_numpy(),
        expected=h["expected"].to_numpy(),
        end_ts=(h["ts"] + pd.Timedelta(hours=1)).to_numpy(),
    )


def sudden_change(points: pd.DataFrame, config: DetectorConfig, thresholds=None) -> pd.DataFrame:
    """Burst (step up in flow) and pressure drop (step down), on residuals from the baseline.

    `points` are readings with expected/scale (baseline.with_expected). The residual's
    median over the last `step_after_h` is compared with its median over the
    `step_before_h` before that; the daily cycle is in the baseline, so only a step remains.
    The new level must also lie outside what is usual for that hour (`step_level_z` of the
    hour's own spread, on the anomalous side): a return to normal after an odd spell, or
    a baseline that moves while the series stays put, is not a step.
    """
    frame = points[points["metric"].isin(config.step_metrics) & points["expected"].notna()].copy()
    if frame.empty:
        return empty_flags()
    frame["resid"] = (frame["value"] - frame["expected"]) / frame["series_scale"]
    frame["level"] = (frame["value"] - frame["expected"]) / frame["scale"]
    frame = frame.sort_values(SERIES + ["ts"]).reset_index(drop=True)
    after = f"{int(config.step_after_h * 3600)}s"
    before = f"{int(config.step_before_h * 3600)}s"
    # frame is sorted by series and time, and groupby-rolling returns the groups in that order
    grouped = frame.set_index("ts").groupby(SERIES, sort=False)["resid"]
    frame["post"] = grouped.rolling(after).median().to_numpy()
    frame["pre_roll"] = grouped.rolling(before).median().to_numpy()
    frame["n_post"] = grouped.rolling(after).count().to_numpy()
    level = frame.set_index("ts").groupby(SERIES, sort=False)["level"].rolling(after).median()
    frame["post_level"] = level.to_numpy()
    # the "before" window ends where the "after" window starts
    lookup = frame[SERIES + ["ts", "pre_roll"]].rename(columns={"ts": "pre_ts"})
    frame["pre_ts"] = frame["ts"] - pd.Timedelta(seconds=config.step_after_h * 3600)
    frame = pd.merge_asof(
        frame.sort_values("pre_ts"),
        lookup.sort_values("pre_ts"),
        on="pre_ts",
        by=SERIES,
        direction="backward",
        suffixes=("", "_before"),
    )
    frame = frame.sort_values(SERIES + ["ts"]).reset_index(drop=True)
    step = frame["post"] - frame["pre_roll_before"]
    sign = np.where(frame["metric"] == "pressure", -1.0, 1.0)
    signed = sign * step
    limit = config.step_z / sensitivity_frame(frame, config, thresholds)
    beyond = sign * frame["post_level"] >= config.step_level_z
    hit = (signed >= limit) & beyond & (frame["n_post"] >= 2)
    hits = frame[hit]
    if hits.empty:
        return empty_flags()
    kinds = np.where(hits["metric"] == "pressure", PRESSURE_DROP, BURST)
    out = _flags(
        hits,
        BURST,
        score=signed[hit.to_numpy()],
        threshold=limit[hit].to_numpy(),
        observed=hits["value"].to_numpy(),
        expected=hits["expected"].to_numpy(),
    )
    out["anomaly_type"] = kinds
    return out


def physical_range(readings: pd.DataFrame, thresholds: pd.DataFrame | None = None) -> pd.DataFrame:
    """Outside the metric's physical range (metrics.METRICS), or a node's configured low/high."""
    low = readings["metric"].map({m: v.min_value for m, v in METRICS.items()})
    high = readings["metric"].map({m: v.max_value for m, v in METRICS.items()})
    value = readings["value"]
    outside = (value < low) | (value > high)
    span = (high - low).where(outside)
    dist = np.fmax(low - value, value - high)
    flags = [
        _flags(
            readings[outside],
            OUT_OF_RANGE,
            score=(10.0 + dist[outside] / span[outside]).to_numpy(),
            threshold=1.0,
            observed=value[outside].to_numpy(),
        )
    ]
    if thresholds is not None and not thresholds.empty:
        t = readings.merge(thresholds[["node_id", "metric", "low", "high"]], on=SERIES, how="inner")
        t["low"] = pd.to_numeric(t["low"], errors="coerce")
        t["high"] = pd.to_numeric(t["high"], errors="coerce")
        t = t[~(t["value"] < t["metric"].map({m: v.min_value for m, v in METRICS.items()}))]
        below = t["low"].notna() & (t["value"] < t["low"])
        above = t["high"].notna() & (t["value"] > t["high"])
        limit = t["low"].where(below, t["high"])
        floor = t["metric"].map(SCALE_FLOOR).fillna(1.0)
        margin = np.fmax(limit.abs() * 0.05, floor)
        breach = below | above
        score = 1.0 + (t["value"] - limit).abs() / margin
        flags.append(
            _flags(
                t[breach],
                THRESHOLD,
                score=np.where(below, -score, score)[breach.to_numpy()],
                threshold=1.0,
                observed=t["value"][breach].to_numpy(),
                expected=limit[breach].to_numpy(),
            )
        )
    return _concat(flags)


def stuck_value(readings: pd.DataFrame, config: DetectorConfig, thresholds=None) -> pd.DataFrame:
    """The same value repeated for at least `stuck_min_h` and `stuck_min_points` readings."""
    frame = readings[readings["metric"] != "total_flow"].reset_index(drop=True)
    if frame.empty:
        return empty_flags()
    same = frame.groupby(SERIES, sort=False)["value"].diff().eq(0)
    run = (~same).cumsum()
    start = frame["ts"].groupby(run).transform("first")
    count = frame.groupby(run).cumcount() + 1
    hours = (frame["ts"] - start).dt.total_seconds() / 3600.0
    limit_h = config.stuck_min_h / sensitivity_frame(frame, config, thresholds)
    hit = (count >= config.stuck_min_points) & (hours >= limit_h)
    hits = frame[hit]
    return _flags(
        hits,
        STUCK,
        ts=start[hit].to_numpy(),
        end_ts=hits["ts"].to_numpy(),
        score=(hours[hit] / limit_h[hit]).to_numpy(),
        threshold=1.0,
        observed=hits["value"].to_numpy(),
    )


class _Series:
    """The rows of a frame laid out series after series (in their order within each series),
    with `pad` NaNs between two series, so that one rolling window or shift over the whole
    padded array never reaches into another series: the same result as a per-series
    groupby-rolling or groupby-shift, computed in one pass (no groupby on the id strings)."""

    def __init__(self, frame: pd.DataFrame, pad: int):
        node, _ = pd.factorize(frame["node_id"])
        metric, metrics = pd.factorize(frame["metric"])
        codes = node.astype(np.int64) * max(len(metrics), 1) + metric
        self.order = np.argsort(codes, kind="stable")  # series after series, rows in their order
        ordered = codes[self.order]
        rank = np.concatenate([[0], np.cumsum(ordered[1:] != ordered[:-1])]) if len(ordered) else ordered
        self.pos = np.arange(len(ordered)) + pad * rank
        self.size = (self.pos[-1] + 1 + pad) if len(ordered) else 0

    def padded(self, values: np.ndarray) -> np.ndarray:
        out = np.full(self.size, np.nan)
        out[self.pos] = np.asarray(values, dtype=float)[self.order]
        return out

    def back(self, padded: np.ndarray) -> np.ndarray:
        """Values at the rows' padded positions, in the frame's row order."""
        out = np.empty(len(self.order))
        out[self.order] = padded[self.pos]
        return out

    def rolling_median(self, values: np.ndarray, window: int, min_periods: int) -> np.ndarray:
        """Per series: the centred rolling median (pandas' Rolling.median, NaNs not counted)."""
        roll = pd.Series(self.padded(values)).rolling(window, center=True, min_periods=min_periods)
        return self.back(roll.median().to_numpy())

    def side_median(self, values: np.ndarray, side: int, direction: int) -> np.ndarray:
        """Median of the `side` values before (direction 1) or after (-1) each one in its
        series, as many as there are; NaN for none."""
        padded = self.padded(values)
        lags = np.column_stack([self.back(np.roll(padded, direction * i)) for i in range(1, side + 1)])
        return nanmedian_rows(lags)


SPIKE_MAD_WINDOW = 49


def spike(readings: pd.DataFrame, config: DetectorConfig, thresholds=None) -> pd.DataFrame:
    """A reading far from its neighbours on both sides, in the same direction: far from the
    median of the `spike_window // 2` readings before it and from that of the ones after.
    A step (a pump starting, a valve shutting) leaves its last reading before and its first
    after close to one side, so a step is not a spike."""
    frame = readings.reset_index(drop=True)
    if frame.empty:
        return empty_flags()
    side = max(config.spike_window // 2, 1)
    series = _Series(frame, pad=max(config.spike_window, SPIKE_MAD_WINDOW, side))
    value = frame["value"].to_numpy(dtype=float)
    before, after = series.side_median(value, side, 1), series.side_median(value, side, -1)
    med = series.rolling_median(value, config.spike_window, min_periods=3)
    resid = value - med
    mad = series.rolling_median(np.abs(resid), SPIKE_MAD_WINDOW, min_periods=5)
    floor = frame["metric"].map(SCALE_FLOOR).fillna(0.0).to_numpy()
    scale = np.fmax(1.4826 * mad, np.fmax(floor, 0.01 * np.abs(med)))
    left, right = (value - before) / scale, (value - after) / scale
    # the smaller of the two distances, when both point the same way (NaN at a series' ends)
    score = pd.Series(np.where(np.sign(left) == np.sign(right), np.sign(left) * np.fmin(abs(left), abs(right)), 0.0))
    limit = config.spike_z / sensitivity_frame(frame, config, thresholds)
    hit = score.abs() >= limit
    hits = frame[hit]
    return _flags(
        hits,
        SPIKE,
        score=score[hit].to_numpy(),
        threshold=limit[hit].to_numpy(),
        observed=hits["value"].to_numpy(),
        expected=med[hit.to_numpy()],
    )


GAP_MIN_STEPS = 10  # fewer steps between readings at hand: the usual interval comes from `intervals`


def sensor_gap(
    readings: pd.DataFrame,
    config: DetectorConfig,
    now: pd.Timestamp | None = None,
    intervals: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """No reading for longer than `gap_factor` x the series' usual interval (and gap_min_h);
    with `now`, a series silent since its last reading is an open gap. The usual interval is
    the median step between the readings at hand, or, where they are too few to tell (a
    short window, a series reporting every few hours), `intervals` (node_id, metric,
    interval_s: e.g. from the hourly rollup's counts over weeks)."""
    frame = readings.reset_index(drop=True)
    if frame.empty:
        return empty_flags()
    step = frame.groupby(SERIES, sort=False)["ts"].diff()
    keys = [frame["node_id"], frame["metric"]]
    usual_s = step.dt.total_seconds().groupby(keys).transform("median")
    if intervals is not None and not intervals.empty:
        steps = step.groupby(keys).transform("count")
        known = frame[SERIES].merge(intervals[SERIES + ["interval_s"]], on=SERIES, how="left")["interval_s"]
        usual_s = usual_s.where(steps >= GAP_MIN_STEPS, known.fillna(usual_s).to_numpy())
    limit = np.fmax(usual_s.fillna(0.0) * config.gap_factor, config.gap_min_h * 3600.0)
    seconds = step.dt.total_seconds()
    hit = seconds > limit
    prev_ts = frame["ts"] - step
    flags = [
        _flags(
            frame[hit],
            GAP,
            ts=prev_ts[hit].to_numpy(),
            end_ts=frame["ts"][hit].to_numpy(),
            score=(seconds[hit] / limit[hit]).to_numpy(),
            threshold=1.0,
        )
    ]
    if now is not None:
        last = frame.assign(limit=limit).groupby(SERIES, sort=False).agg(ts=("ts", "last"), limit=("limit", "median"))
        last = last.reset_index()
        silent = (pd.Timestamp(now) - last["ts"]).dt.total_seconds()
        open_gap = silent > last["limit"]
        flags.append(
            _flags(
                last[open_gap],
                GAP,
                end_ts=pd.Series(pd.Timestamp(now), index=last.index)[open_gap].to_numpy(),
                score=(silent[open_gap] / last["limit"][open_gap]).to_numpy(),
                threshold=1.0,
            )
        )
    return _concat(flags)


def totalizer_backwards(readings: pd.DataFrame, config: DetectorConfig) -> pd.DataFrame:
    """A totalizer (total_flow) reading lower than the previous one."""
    frame = readings[readings["metric"] == "total_flow"].reset_index(drop=True)
    if frame.empty:
        return empty_flags()
    drop = -frame.groupby(SERIES, sort=False)["value"].diff()
    hit = drop > config.totalizer_tolerance
    hits = frame[hit]
    return _flags(
        hits,
        TOTALIZER,
        score=(1.0 + drop[hit] / max(config.totalizer_tolerance, 1e-9)).clip(upper=1e6).to_numpy(),
        threshold=1.0,
        observed=hits["value"].to_numpy(),
        expected=(hits["value"] + drop[hit]).to_numpy(),
    )


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    if not frames:
        return empty_flags()
    return pd.concat(frames, ignore_index=True)


def _balance_only(frame: pd.DataFrame, config: DetectorConfig) -> pd.DataFrame:
    """Leave out the series pumps and valves move (a single meter's flow, a tank's level)
    unless their metric is a step metric here (a district's balance): a meter on a pump
    link reads zero or full flow as the tank-level controls decide, whatever the hour, so
    its hour-of-week baseline and its one-reading jumps say nothing about leaks (on a
    simulated Net1, 16 of 24 false alerts in four weeks were such a meter's baseline
    deviations, 3 its spikes)."""
    skip = [m for m in config.pump_driven_metrics if m not in config.step_metrics]
    return frame[~frame["metric"].isin(skip)] if skip else frame


def detect_readings(
    readings: pd.DataFrame,
    config: DetectorConfig | None = None,
    thresholds: pd.DataFrame | None = None,
    now: pd.Timestamp | None = None,
    detectors: tuple[str, ...] | None = None,
    history: pd.DataFrame | None = None,
    intervals: pd.DataFrame | None = None,
    expected: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Run every per-series detector; flagged points (FLAG_COLUMNS), node-level.

    `history`: hourly means (ts = start of the hour) before `readings`, which the baselines
    learn from (baseline deviations are flagged on those hours too); the other detectors
    see `readings` only. `intervals`: each series' usual reporting interval (sensor_gap).
    `expected`: the hours of `readings` with their baselines already known (as from
    baseline.expected_hourly, e.g. baseline.expected_from_stored), instead of `history`."""
    config = config or DetectorConfig()
    frame = prepare(readings)
    if frame.empty:
        return empty_flags()
    wanted = set(detectors or ("baseline", "sudden", "range", "stuck", "spike", "gap", "totalizer"))
    found: list[pd.DataFrame] = []
    if wanted & {"baseline", "sudden"}:
        if expected is None:
            basis = frame
            if history is not None and not history.empty:
                past = prepare(history)
                past = past[past["ts"] < frame["ts"].min().floor("h")]  # an hour is either hourly or raw
                basis = pd.concat([past, frame], ignore_index=True)
            expected = expected_hourly(basis, config)
        if "baseline" in wanted:
            found.append(baseline_deviation(_balance_only(expected, config), config, thresholds))
        if "sudden" in wanted:
            found.append(sudden_change(with_expected(frame, expected), config, thresholds))
    if "range" in wanted:
        found.append(physical_range(frame, thresholds))
    if "stuck" in wanted:
        found.append(stuck_value(frame, config, thresholds))
    if "spike" in wanted:
        found.append(spike(_balance_only(frame, config), config, thresholds))
    if "gap" in wanted:
        found.append(sensor_gap(frame, config, now, intervals))
    if "totalizer" in wanted:
        found.append(totalizer_backwards(frame, config))
    return _concat(found)
