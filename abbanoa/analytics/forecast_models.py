"""The demand forecaster's candidate models, on a regular local-clock hourly grid (pure).

Every function here works on one series as a numpy array `y` of hourly values on the local
wall clock (NaN where nothing was measured), a `daytype` array of the same length plus the
horizon (0-6 Monday..Sunday, public holidays counted as Sundays) and forecast origins given
as positions: a forecast from origin `o` covers positions o+1 .. o+horizon and uses nothing
after `o`. The candidates are those the best BWDF 2024 teams used: pattern-based (the same
local hour of the latest days of the same type), gradient boosting on lags and calendar
features, and a seasonal decomposition (MSTL); forecast.py chooses among them per series.
"""

from __future__ import annotations

import numpy as np

WEEK = 168
DAY = 24


def day_types(local_days: np.ndarray, holidays: set) -> np.ndarray:
    """0-6 for Monday..Sunday, 6 for a public holiday (demand on a holiday looks like a Sunday's)."""
    import pandas as pd

    days = pd.DatetimeIndex(local_days)
    types = days.weekday.to_numpy().copy()
    if holidays:
        types[np.isin(days.normalize().date, list(holidays))] = 6
    return types


def fill_gaps(y: np.ndarray, weeks: int = 4) -> np.ndarray:
    """Missing hours filled with the median of the same hour-of-week in up to `weeks` weeks
    either side that were measured; what cannot be filled that way stays NaN."""
    filled = y.copy()
    missing = np.flatnonzero(np.isnan(y))
    if missing.size == 0:
        return filled
    n = len(y)
    stack = np.full((2 * weeks, missing.size), np.nan)
    row = 0
    for k in range(1, weeks + 1):
        for sign in (-1, 1):
            src = missing + sign * k * WEEK
            ok = (src >= 0) & (src < n)
            stack[row, ok] = y[src[ok]]
            row += 1
    with np.errstate(all="ignore"):
        values = np.nanmedian(np.where(np.isnan(stack).all(axis=0), 0.0, stack), axis=0)
    values[np.isnan(stack).all(axis=0)] = np.nan
    filled[missing] = values
    return filled


def same_type_lags(y: np.ndarray, daytype: np.ndarray, origins: np.ndarray, horizon: int, k: int) -> np.ndarray:
    """For each origin and step, the values at the same local hour of the `k` latest days
    before the origin whose day type is the target's: shape (origins, horizon, k)."""
    n = len(daytype)
    t = origins[:, None] + np.arange(1, horizon + 1)[None, :]
    out = np.full(t.shape + (k,), np.nan)
    want = daytype[np.minimum(t, n - 1)]
    cur = t - DAY
    found = np.zeros(t.shape, dtype=int)
    # walk back day by day (at most a few weeks) collecting the matching days
    for _ in range(7 * (k + 2)):
        valid = (cur >= 0) & (cur <= origins[:, None]) & (found < k)
        match = valid & (daytype[np.maximum(cur, 0)] == want)
        idx = np.nonzero(match)
        out[idx[0], idx[1], found[idx]] = y[cur[idx]]
        found = found + match
        cur = cur - DAY
        if (found >= k).all() or (cur < 0).all():
            break
    return out


def pattern(lags: np.ndarray) -> np.ndarray:
    """The median of the same-type days: a pattern-based forecast, robust to one odd day."""
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmedian(lags, axis=2)


def window_mean(y: np.ndarray, ends: np.ndarray, length: int) -> np.ndarray:
    """Mean of y over the `length` hours ending at each position (NaN-aware)."""
    c = np.concatenate([[0.0], np.cumsum(np.nan_to_num(y))])
    m = np.concatenate([[0], np.cumsum(~np.isnan(y))])
    hi = np.clip(ends + 1, 0, len(y))
    lo = np.maximum(hi - length, 0)
    count = m[hi] - m[lo]
    with np.errstate(all="ignore"):
        return np.where(count > 0, (c[hi] - c[lo]) / np.maximum(count, 1), np.nan)


def gbm_features(
    y: np.ndarray, daytype: np.ndarray, hour: np.ndarray, doy: np.ndarray, origins: np.ndarray, horizon: int
) -> tuple[np.ndarray, np.ndarray]:
    """(features, scale): one row per origin and step, values divided by the week's mean
    before the origin so that one model fits districts of any size."""
    lags = same_type_lags(y, daytype, origins, horizon, 4)
    prof = pattern(lags)
    scale = window_mean(y, origins, WEEK)
    scale = np.where(np.isfinite(scale) & (scale > 1e-9), scale, np.nan)
    t = origins[:, None] + np.arange(1, horizon + 1)[None, :]
    tt = np.minimum(t, len(daytype) - 1)
    last24 = window_mean(y, origins, DAY)
    prev24 = window_mean(y, origins - WEEK, DAY)
    last6 = window_mean(y, origins, 6)
    prev6 = window_mean(y, origins - WEEK, 6)
    prev_week = window_mean(y, origins - WEEK, WEEK)
    # how far the last hours ran from their own same-type pattern: a deviation that tends to persist
    recent = origins[:, None] + np.arange(-23, 1)[None, :]
    past_prof = pattern(same_type_lags(y, daytype, origins - DAY, DAY, 4))
    dev = y[np.maximum(recent, 0)] - past_prof
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            dev24 = np.nanmean(dev, axis=1) / scale
            dev3 = np.nanmean(dev[:, -3:], axis=1) / scale
    s = scale[:, None]
    cols = [
        np.broadcast_to(np.arange(1, horizon + 1)[None, :], t.shape),
        hour[tt],
        daytype[tt],
        np.sin(2 * np.pi * doy[tt] / 365.25),
        np.cos(2 * np.pi * doy[tt] / 365.25),
        prof / s,
        lags[:, :, 0] / s,
        lags[:, :, 1] / s,
        lags[:, :, 2] / s,
        lags[:, :, 3] / s,
        np.broadcast_to((last24 / scale)[:, None], t.shape),
        np.broadcast_to((last24 / prev24)[:, None], t.shape),
        np.broadcast_to((last6 / prev6)[:, None], t.shape),
        np.broadcast_to((scale / prev_week)[:, None], t.shape),
        np.broadcast_to((y[origins] / scale)[:, None], t.shape),
        np.broadcast_to(dev24[:, None], t.shape),
        np.broadcast_to(dev3[:, None], t.shape),
    ]
    features = np.stack([np.asarray(c, dtype=float) for c in cols], axis=-1)
    return features.reshape(-1, len(cols)), np.broadcast_to(s, t.shape).reshape(-1)


GBM_PARAMS = {
    "objective": "l1",
    "learning_rate": 0.08,
    "num_leaves": 31,
    "min_data_in_leaf": 100,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "max_bin": 63,
    "force_col_wise": True,
    "verbose": -1,
    "num_threads": 1,
    "seed": 7,
    "deterministic": True,
}
GBM_ROUNDS = 200
MAX_TRAIN_ROWS = 150_000  # bounds the fit's time whatever the number of districts


def gbm_fit(features: np.ndarray, target: np.ndarray, weight: np.ndarray, rounds: int = GBM_ROUNDS):
    """A LightGBM model of the scaled value (L1 loss: the BWDF indicators are absolute errors)."""
    import lightgbm as lgb

    ok = np.flatnonzero(np.isfinite(target) & (weight > 0))
    if ok.size > MAX_TRAIN_ROWS:
        ok = np.sort(np.random.default_rng(7).choice(ok, MAX_TRAIN_ROWS, replace=False))
    data = lgb.Dataset(features[ok], label=target[ok], weight=weight[ok], free_raw_data=True)
    return lgb.train(GBM_PARAMS, data, num_boost_round=rounds)


def mstl(y: np.ndarray, horizon: int, weeks: int = 8) -> np.ndarray:
    """MSTL (daily and weekly seasons, AutoETS trend) on the last `weeks` weeks of y."""
    import pandas as pd
    from statsforecast import StatsForecast
    from statsforecast.models import MSTL, AutoETS

    tail = pd.Series(y[-weeks * WEEK :]).interpolate(limit_direction="both").to_numpy()
    if np.isnan(tail).any() or len(tail) < 2 * WEEK:
        return np.full(horizon, np.nan)
    df = pd.DataFrame({"unique_id": "s", "ds": np.arange(len(tail)), "y": tail})
    model = MSTL(season_length=[DAY, WEEK], trend_forecaster=AutoETS(model="ZZN"))
    out = StatsForecast(models=[model], freq=1, n_jobs=1).forecast(df=df, h=horizon)
    return out["MSTL"].to_numpy()
