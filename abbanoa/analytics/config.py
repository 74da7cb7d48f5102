"""Detector parameters and per-metric / per-node sensitivity.

Sensitivity is a multiplier: 1.0 is the default, 2.0 halves every score threshold of that
metric (or node + metric), 0.5 doubles them. Per-node values come from node_thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

# Smallest robust spread per metric (canonical units), so a very quiet series does not
# turn measurement noise into anomalies.
SCALE_FLOOR: dict[str, float] = {
    "flow_rate": 0.5,
    "total_flow": 0.01,
    "pressure": 0.05,
    "level": 0.05,
    "temperature": 0.3,
    "ph": 0.05,
    "turbidity": 0.05,
    "free_chlorine": 0.02,
    "conductivity": 10.0,
}

# Smallest spread as a share of the expected value: demand varies from week to week in
# proportion to itself; a pressure or quality reading does not.
RELATIVE_FLOOR: dict[str, float] = {"flow_rate": 0.05, "level": 0.02}


@dataclass(frozen=True)
class DetectorConfig:
    timezone: str = "Europe/Rome"
    # hour-of-week baseline
    baseline_weeks: int = 4  # weeks of history in the median / MAD
    baseline_min_weeks: int = 2  # fewer: fall back to hour-of-day over recent days
    fallback_days: int = 7
    fallback_min_days: int = 2
    baseline_z: float = 6.0
    relative_floor: float = 0.01  # spread never below 1% of the expected value (metrics not in RELATIVE_FLOOR)
    # sudden change (on residuals from the baseline)
    step_after_h: float = 0.5
    step_before_h: float = 3.0
    step_z: float = 4.0
    step_level_z: float = 1.5  # the new level, in the hour's own spreads beyond its expected value
    step_metrics: tuple[str, ...] = ("flow_rate", "pressure")
    # moved by pumps and valves: baseline and spike tests only where they are a step metric
    # (the job's district balance), not on each meter or tank
    pump_driven_metrics: tuple[str, ...] = ("flow_rate", "level")
    # minimum night flow
    night_start_hour: int = 2
    night_end_hour: int = 4
    mnf_history_nights: int = 14
    mnf_skip_nights: int = 2  # the newest nights are left out of the reference (a growing leak)
    mnf_min_nights: int = 5
    mnf_z: float = 3.0
    mnf_relative_floor: float = 0.05
    mnf_absolute_floor: float = 0.2  # l/s
    # sensor faults
    stuck_min_h: float = 3.0
    stuck_min_points: int = 6
    spike_z: float = 10.0
    spike_window: int = 5
    gap_factor: float = 4.0
    gap_min_h: float = 1.0
    totalizer_tolerance: float = 0.001  # m3
    # episodes
    episode_gap_h: float = 1.0
    metric_sensitivity: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings) -> DetectorConfig:
        """The detectors as configured: time zone and ANOMALY_SENSITIVITY."""
        return cls(timezone=settings.timezone, metric_sensitivity=dict(settings.anomaly_sensitivity))

    def sensitivity(self, metric: str) -> float:
        return float(self.metric_sensitivity.get(metric, 1.0))


def sensitivity_frame(keys: pd.DataFrame, config: DetectorConfig, thresholds: pd.DataFrame | None) -> pd.Series:
    """Sensitivity for each row of `keys` (node_id, metric): node value, else metric default."""
    metric_default = keys["metric"].map({m: config.sensitivity(m) for m in keys["metric"].unique()}).astype(float)
    if thresholds is None or thresholds.empty or "sensitivity" not in thresholds:
        return metric_default.set_axis(keys.index)
    node = keys[["node_id", "metric"]].merge(
        thresholds[["node_id", "metric", "sensitivity"]], on=["node_id", "metric"], how="left"
    )["sensitivity"]
    node.index = keys.index
    out = node.fillna(metric_default)
    return out.clip(lower=0.05)
