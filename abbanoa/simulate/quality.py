"""Water quality at the probes: temperature, free chlorine decaying with water age, pH,
turbidity and conductivity, plus the quality excursion.
"""

from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np

CHLORINE_AT_SOURCE_MG_L = 0.8
# First-order bulk decay C = C0 exp(-k t) with temperature correction k(T) = k20 * theta^(T-20)
# (EPANET 2.2 manual, "Water Quality Modeling: bulk flow reactions"; theta ~1.05-1.1).
BULK_DECAY_PER_DAY_20C = 0.3  # a typical treated-water bulk coefficient (0.1-1 per day)
THETA = 1.07


def water_temperature(times: list[datetime], timezone: str, rng: np.random.Generator) -> np.ndarray:
    """degC: seasonal cycle (coldest early February, warmest early August) + small daily cycle."""
    tz = ZoneInfo(timezone)
    offset = rng.normal(0.0, 0.3)
    out = np.empty(len(times))
    for i, t in enumerate(times):
        lt = t.astimezone(tz)
        doy = lt.timetuple().tm_yday
        hour = lt.hour + lt.minute / 60
        out[i] = (
            16.5
            + 6.5 * math.cos(2 * math.pi * (doy - 215) / 365.25)
            + 0.4 * math.cos(2 * math.pi * (hour - 16) / 24)
            + offset
        )
    return out + rng.normal(0.0, 0.05, len(times))


def free_chlorine(age_h: np.ndarray, temperature: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """mg/l residual after first-order decay over the water's age."""
    k_per_h = BULK_DECAY_PER_DAY_20C / 24 * THETA ** (temperature - 20.0)
    value = CHLORINE_AT_SOURCE_MG_L * np.exp(-k_per_h * np.clip(age_h, 0, None))
    return np.clip(value + rng.normal(0.0, 0.008, len(value)), 0.0, None)


def turbidity(flow_factor: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """NTU: low baseline, a little higher at high flow (sediment resuspension), log-normal noise."""
    base = 0.12 + 0.05 * flow_factor
    return np.clip(base * rng.lognormal(0.0, 0.12, len(base)), 0.01, None)


def ph(n: int, rng: np.random.Generator) -> np.ndarray:
    drift = np.cumsum(rng.normal(0.0, 0.002, n))
    return 7.55 + rng.normal(0, 0.03) + np.clip(drift, -0.15, 0.15) + rng.normal(0.0, 0.015, n)


def conductivity(n: int, rng: np.random.Generator) -> np.ndarray:
    drift = np.cumsum(rng.normal(0.0, 0.4, n))
    return 470 + rng.normal(0, 15) + np.clip(drift, -40, 40) + rng.normal(0.0, 2.0, n)


def excursion_shape(times: list[datetime], start: datetime, end: datetime) -> np.ndarray:
    """0..1 bell over [start, end): a quick rise and a slower tail, 0 outside."""
    span = (end - start).total_seconds()
    out = np.zeros(len(times))
    for i, t in enumerate(times):
        if start <= t < end:
            x = (t - start).total_seconds() / span
            out[i] = math.sin(math.pi * x**0.6)
    return out
