"""The Battle of the Water Demand Forecasting (BWDF, WDSA/CCWI 2024) performance indicators (pure).

Written from the competition's protocol as recorded in bench/data/bwdf/README.md: per
evaluation week and district, PI1 = mean absolute error over the first 24 hours, PI2 =
maximum absolute error over the first 24 hours, PI3 = mean absolute error over hours
25-168, all in L/s; hours whose actual value is missing are left out. The figure reported
is the mean of each PI over the week x district values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PIS = ["pi1", "pi2", "pi3"]


def week_pis(forecast: np.ndarray, actual: np.ndarray) -> tuple[float, float, float]:
    """PI1, PI2, PI3 (L/s) of one 168-hour forecast against its actuals (NaN = missing)."""
    err = np.abs(np.asarray(forecast, dtype=float) - np.asarray(actual, dtype=float))
    day1, rest = err[:24], err[24:168]
    day1, rest = day1[~np.isnan(day1)], rest[~np.isnan(rest)]
    return (
        float(day1.mean()) if day1.size else float("nan"),
        float(day1.max()) if day1.size else float("nan"),
        float(rest.mean()) if rest.size else float("nan"),
    )


def score_weeks(forecasts: pd.DataFrame, actuals: pd.DataFrame) -> pd.DataFrame:
    """week, series_id, pi1, pi2, pi3 for each forecast week.

    forecasts: week, series_id, step (0..167), forecast_value; actuals: the same keys with
    `actual` (NaN or absent where the meter has no value)."""
    merged = forecasts.merge(actuals, on=["week", "series_id", "step"], how="left")
    rows = []
    for (week, sid), group in merged.groupby(["week", "series_id"], sort=True):
        g = group.sort_values("step")
        full_f = np.full(168, np.nan)
        full_a = np.full(168, np.nan)
        full_f[g["step"].to_numpy()] = g["forecast_value"].to_numpy()
        full_a[g["step"].to_numpy()] = g["actual"].to_numpy()
        rows.append((week, sid, *week_pis(full_f, full_a)))
    return pd.DataFrame(rows, columns=["week", "series_id", *PIS])


def summary(per_week: pd.DataFrame) -> dict[str, float]:
    """The competition's figure: the mean of each PI over the week x district values."""
    return {pi: float(per_week[pi].mean()) for pi in PIS}
