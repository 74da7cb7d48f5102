"""Crafted series: normal daily cycles in Europe/Rome local time, with seeded noise."""

from __future__ import annotations

import numpy as np
import pandas as pd

TZ = "Europe/Rome"


def daily_cycle(start: str, end: str, node_id: str = "fm1", seed: int = 1, freq: str = "15min") -> pd.DataFrame:
    """Flow (l/s) with a morning and an evening peak, and a pressure that mirrors it."""
    rng = np.random.default_rng(seed)
    ts = pd.date_range(start, end, freq=freq, tz="UTC", inclusive="left")
    hod = ts.tz_convert(TZ).hour + ts.tz_convert(TZ).minute / 60
    demand = 12 + 10 * np.exp(-(((hod - 7.5) / 2) ** 2)) + 8 * np.exp(-(((hod - 20) / 2.5) ** 2))
    flow = demand * rng.normal(1, 0.02, len(ts)) + rng.normal(0, 0.2, len(ts))
    pressure = 4.5 - 0.04 * demand + rng.normal(0, 0.01, len(ts))
    return pd.concat(
        [
            pd.DataFrame({"node_id": node_id, "metric": "flow_rate", "ts": ts, "value": flow}),
            pd.DataFrame({"node_id": node_id + "p", "metric": "pressure", "ts": ts, "value": pressure}),
        ],
        ignore_index=True,
    )


def series(frame: pd.DataFrame, node_id: str, metric: str) -> pd.Series:
    mask = (frame["node_id"] == node_id) & (frame["metric"] == metric)
    return mask
