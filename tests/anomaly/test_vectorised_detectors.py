"""The detectors' one-pass (padded, ungrouped) computations give exactly what the per-series
groupby computations they replaced gave: same flags, same scores (issue #14's speed-ups
keep the results identical)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from abbanoa.analytics import detectors
from abbanoa.analytics.config import SCALE_FLOOR, DetectorConfig, sensitivity_frame


def interleaved_readings() -> pd.DataFrame:
    """Series of unequal lengths, rows shuffled between series (order kept within each),
    with spikes, steps, flat spells and single-reading series."""
    rng = np.random.default_rng(14)
    frames = []
    start = pd.Timestamp("2026-11-20 00:00", tz="UTC")
    for i in range(40):
        metric = ("pressure", "flow_rate", "ph", "temperature")[i % 4]
        n = (1, 2, 7, 60, 150, 301)[i % 6]
        value = 3.0 + np.sin(np.arange(n) / 12.0) + rng.normal(0, 0.05, n)
        if n > 10:
            value[rng.integers(0, n, 3)] += rng.choice([-4.0, 4.0], 3)  # spikes
            value[n // 2 :] += 1.5 * (i % 3 == 0)  # a step in some
            value[n // 3 : n // 3 + 6] = value[n // 3]  # a flat spell
        frames.append(
            pd.DataFrame(
                {
                    "node_id": f"N{i % 13:03d}",
                    "metric": metric,
                    "ts": start + pd.to_timedelta(np.arange(n) * 5, unit="min"),
                    "value": value,
                }
            )
        )
    frame = pd.concat(frames, ignore_index=True)
    # interleave the series, keeping each series' own order (what groupby sees)
    frame["shuffle"] = rng.random(len(frame))
    frame["rank"] = frame.groupby(["node_id", "metric"]).cumcount()
    key = frame.groupby(["node_id", "metric"])["shuffle"].transform("min") + frame["rank"] * 0.01
    return frame.assign(key=key).sort_values("key", kind="stable").drop(columns=["shuffle", "rank", "key"])


def reference_spike(readings: pd.DataFrame, config: DetectorConfig) -> pd.DataFrame:
    """detectors.spike as it was before the padded layout (groupby on the id strings)."""
    frame = readings.reset_index(drop=True)
    keys = [frame["node_id"], frame["metric"]]
    side = max(config.spike_window // 2, 1)
    grouped = frame["value"].groupby(keys, sort=False)

    def side_median(direction):
        lags = np.column_stack([grouped.shift(direction * i).to_numpy(dtype=float) for i in range(1, side + 1)])
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", category=RuntimeWarning)
            return np.nanmedian(lags, axis=1)

    before, after = side_median(1), side_median(-1)
    roll = grouped.rolling(config.spike_window, center=True, min_periods=3)
    med = roll.median().reset_index(level=[0, 1], drop=True).sort_index().to_numpy()
    resid = frame["value"] - med
    absdev = resid.abs().groupby(keys, sort=False).rolling(49, center=True, min_periods=5)
    mad = absdev.median().reset_index(level=[0, 1], drop=True).sort_index().to_numpy()
    floor = frame["metric"].map(SCALE_FLOOR).fillna(0.0).to_numpy()
    scale = np.fmax(1.4826 * mad, np.fmax(floor, 0.01 * np.abs(med)))
    value = frame["value"].to_numpy()
    left, right = (value - before) / scale, (value - after) / scale
    score = pd.Series(np.where(np.sign(left) == np.sign(right), np.sign(left) * np.fmin(abs(left), abs(right)), 0.0))
    limit = config.spike_z / sensitivity_frame(frame, config, None)
    hit = score.abs() >= limit
    hits = frame[hit]
    return detectors._flags(
        hits,
        detectors.SPIKE,
        score=score[hit].to_numpy(),
        threshold=limit[hit].to_numpy(),
        observed=hits["value"].to_numpy(),
        expected=med[hit.to_numpy()],
    )


def test_spike_flags_the_same_points_with_the_same_scores_as_the_groupby_version():
    readings = interleaved_readings()
    for config in (DetectorConfig(), DetectorConfig(spike_window=7, spike_z=3.0)):
        found = detectors.spike(readings, config)
        expected = reference_spike(readings, config)
        assert len(expected) > 5  # the scenario has spikes to find
        pd.testing.assert_frame_equal(found, expected)


def test_side_and_rolling_medians_never_reach_into_the_next_series():
    frame = pd.DataFrame(
        {"node_id": ["A", "B", "A", "B", "A"], "metric": "pressure", "value": [1.0, 100.0, 2.0, 200.0, 3.0]}
    )
    series = detectors._Series(frame, pad=5)
    before = series.side_median(frame["value"].to_numpy(), 2, 1)
    assert np.isnan(before[0]) and np.isnan(before[1])
    assert before[2] == 1.0 and before[3] == 100.0 and before[4] == 1.5
    median = series.rolling_median(frame["value"].to_numpy(), 3, min_periods=1)
    assert median.tolist() == [1.5, 150.0, 2.0, 150.0, 2.5]


def test_sorting_by_series_gives_pandas_stable_order_sorted_or_not():
    from abbanoa.analytics.baseline import sort_by_series

    readings = interleaved_readings()
    readings = pd.concat([readings, readings.iloc[::7].assign(value=-1.0)])  # duplicates: stable order
    readings["node_id"] = readings["node_id"].where(readings["metric"] != "ph", "n-lower")  # case ranks
    expected = readings.sort_values(["node_id", "metric", "ts"], kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(sort_by_series(readings), expected)
    pd.testing.assert_frame_equal(sort_by_series(expected), expected)  # already sorted: kept
