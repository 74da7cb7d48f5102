"""Robust expected value per series: hour-of-week median over recent weeks.

The reference for a given hour is the median of the same local hour-of-week in the
previous `baseline_weeks` weeks (the current week excluded), with the median absolute
deviation as spread (1.4826 MAD estimates sigma for normal data). A median over four weeks ignores
one anomalous week, so past anomalies do not poison the baseline. With less history the
same local hour of the previous days of the same kind (weekday or weekend) stands in.
Local time (Europe/Rome) is used so that a
daily cycle keeps its place across daylight-saving changes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from abbanoa.analytics.config import RELATIVE_FLOOR, SCALE_FLOOR, DetectorConfig
from abbanoa.analytics.medians import nanmedian_rows

SERIES = ["node_id", "metric"]
_MAD_TO_SIGMA = 1.4826  # MAD -> sigma for normal data


def prepare(readings: pd.DataFrame) -> pd.DataFrame:
    """Readings (node_id, metric, ts, value) sorted, typed, with UTC-aware ts; NaNs dropped."""
    frame = readings[["node_id", "metric", "ts", "value"]].copy()
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    frame = frame.dropna(subset=["value", "ts"])
    return sort_by_series(frame)


def sort_by_series(frame: pd.DataFrame) -> pd.DataFrame:
    """frame.sort_values(["node_id", "metric", "ts"], kind="stable"), index reset: the same
    order from integer codes (ids ranked as pandas ranks them), and no reordering at all
    when the rows come sorted already (a tick prepares its window twice; the database
    sends it sorted), instead of sorting a million strings each time."""
    node, _ = pd.factorize(frame["node_id"], sort=True)
    metric, metrics = pd.factorize(frame["metric"], sort=True)
    ts = frame["ts"].array.asi8 if isinstance(frame["ts"].dtype, pd.DatetimeTZDtype) else None
    if ts is None or (node < 0).any() or (metric < 0).any():  # missing ids: pandas' own rules
        return frame.sort_values(["node_id", "metric", "ts"], kind="stable").reset_index(drop=True)
    series = node.astype(np.int64) * max(len(metrics), 1) + metric
    step, tick = np.diff(series), np.diff(ts)
    if ((step > 0) | ((step == 0) & (tick >= 0))).all():
        return frame.reset_index(drop=True)
    return frame.iloc[np.lexsort((ts, series))].reset_index(drop=True)


def hourly(readings: pd.DataFrame, timezone: str) -> pd.DataFrame:
    """Hourly means per series with local calendar keys (how, hod, week, day)."""
    frame = readings.assign(hour=readings["ts"].dt.floor("h"))
    h = frame.groupby(SERIES + ["hour"], sort=True)["value"].mean().reset_index()
    local = h["hour"].dt.tz_convert(timezone)
    naive = local.dt.tz_localize(None)
    h["hod"] = local.dt.hour
    h["how"] = local.dt.dayofweek * 24 + h["hod"]
    h["day"] = naive.dt.normalize()
    h["weekend"] = local.dt.dayofweek >= 5
    h["week"] = h["day"] - pd.to_timedelta(local.dt.dayofweek, unit="D")
    return h


def lagged_median_mad(values: pd.Series, groups: list[pd.Series], window: int, min_periods: int):
    """Median and MAD-sigma of the previous `window` values of each group (current excluded),
    as a matrix of lags: vectorised, and the MAD ignores a single odd value."""
    grouped = values.groupby(groups, sort=False)
    lags = np.column_stack([grouped.shift(i).to_numpy(dtype=float) for i in range(1, window + 1)])
    count = np.sum(~np.isnan(lags), axis=1)
    with np.errstate(all="ignore"):
        med = nanmedian_rows(lags)  # np.nanmedian's numbers, without its masked-array path
        mad = nanmedian_rows(np.abs(lags - med[:, None]))
    enough = count >= min_periods
    return np.where(enough, med, np.nan), np.where(enough, _MAD_TO_SIGMA * mad, np.nan)


def _rolling_reference(table: pd.DataFrame, keys: list[str], window: int, min_periods: int):
    table = table.sort_values(keys + ["period"], kind="stable").reset_index(drop=True)
    table["ref"], table["spread"] = lagged_median_mad(table["value"], [table[k] for k in keys], window, min_periods)
    return table


def expected_hourly(readings: pd.DataFrame, config: DetectorConfig) -> pd.DataFrame:
    """Hourly series with `expected` and `scale` (robust sigma, floored), NaN without history."""
    h = hourly(readings, config.timezone)
    if h.empty:
        return h.assign(expected=np.nan, scale=np.nan)
    h = references(h, config)
    typical, series_scale = series_spreads(h, config)
    return _finish(h, typical, series_scale, config)


def references(h: pd.DataFrame, config: DetectorConfig) -> pd.DataFrame:
    """Each hour of `h` (from hourly()) with its reference (`expected`), robust `spread` and
    `basis`, learnt from the earlier hours of `h` only (the hour's own value is not used)."""
    # DST autumn: the repeated local hour is one cell of the week/day table (mean of both)
    weekly = h.groupby(SERIES + ["how", "week"])["value"].mean().reset_index().rename(columns={"week": "period"})
    weekly = _rolling_reference(weekly, SERIES + ["how"], config.baseline_weeks, config.baseline_min_weeks)
    # fallback: the same local hour on previous days of the same kind (weekday / weekend)
    daily = (
        h.groupby(SERIES + ["weekend", "hod", "day"])["value"].mean().reset_index().rename(columns={"day": "period"})
    )
    daily = _rolling_reference(daily, SERIES + ["weekend", "hod"], config.fallback_days, config.fallback_min_days)
    # the first days of a series: a single earlier day of the same kind, enough to see a
    # step against (sudden_change) but not to judge an hour's level (baseline_deviation)
    thin = daily[SERIES + ["weekend", "hod", "period", "value"]].copy()
    thin = _rolling_reference(thin, SERIES + ["weekend", "hod"], config.fallback_days, 1)
    h = (
        h.merge(
            weekly[SERIES + ["how", "period", "ref", "spread"]].rename(columns={"period": "week"}),
            on=SERIES + ["how", "week"],
            how="left",
        )
        .merge(
            daily[SERIES + ["weekend", "hod", "period", "ref", "spread"]].rename(
                columns={"period": "day", "ref": "ref_d", "spread": "spread_d"}
            ),
            on=SERIES + ["weekend", "hod", "day"],
            how="left",
        )
        .merge(
            thin[SERIES + ["weekend", "hod", "period", "ref", "spread"]].rename(
                columns={"period": "day", "ref": "ref_a", "spread": "spread_a"}
            ),
            on=SERIES + ["weekend", "hod", "day"],
            how="left",
        )
    )
    use_week = h["ref"].notna()
    use_kind = ~use_week & h["ref_d"].notna()
    h["expected"] = h["ref"].where(use_week, h["ref_d"].where(use_kind, h["ref_a"]))
    h["spread"] = h["spread"].where(use_week, h["spread_d"].where(use_kind, h["spread_a"]))
    h["basis"] = np.where(
        use_week, "hour_of_week", np.where(use_kind, "hour_of_day", np.where(h["ref_a"].notna(), "one_day", None))
    )
    return h.drop(columns=["ref", "ref_d", "spread_d", "ref_a", "spread_a"])


def _scale(h: pd.DataFrame, typical: pd.Series, config: DetectorConfig) -> pd.Series:
    # a series' typical spread stops a lucky quiet hour from making every wiggle anomalous
    floor = h["metric"].map(SCALE_FLOOR).fillna(0.0)
    relative = h["metric"].map(RELATIVE_FLOOR).fillna(config.relative_floor)
    scale = np.fmax.reduce([h["spread"].fillna(0), typical.fillna(0), floor, relative * h["expected"].abs().fillna(0)])
    return pd.Series(scale, index=h.index).where(h["expected"].notna())


def series_spreads(h: pd.DataFrame, config: DetectorConfig) -> tuple[pd.Series, pd.Series]:
    """Per row of `h` (from references()): its series' typical spread (median over the
    series' hours) and its series' scale (median of the hours' floored scales)."""
    keys = [h["node_id"], h["metric"]]
    typical = h["spread"].groupby(keys).transform("median")
    # one spread per series: a step of fixed size scores the same by day and by night
    series_scale = _scale(h, typical, config).groupby(keys).transform("median")
    return typical, series_scale


def _finish(h: pd.DataFrame, typical: pd.Series, series_scale: pd.Series, config: DetectorConfig) -> pd.DataFrame:
    h = h.assign(scale=_scale(h, typical, config), series_scale=series_scale)
    return h.drop(columns=["spread"]).sort_values(SERIES + ["hour"]).reset_index(drop=True)


REFERENCE_COLUMNS = SERIES + ["day", "hod", "expected", "spread", "basis"]
SERIES_COLUMNS = SERIES + ["typical_spread", "series_scale"]


def day_references(history: pd.DataFrame, day: pd.Timestamp, config: DetectorConfig):
    """The stored state of detection for one local `day`: from hourly means before it
    (`history`: node_id, metric, ts, value), each series' reference per local hour of that
    day (REFERENCE_COLUMNS) and its typical spread and scale (SERIES_COLUMNS). The same
    computation as expected_hourly(), with the day's hours present but not yet measured."""
    h = hourly(prepare(history), config.timezone)
    if h.empty:
        return pd.DataFrame(columns=REFERENCE_COLUMNS), pd.DataFrame(columns=SERIES_COLUMNS)
    # the day's UTC hours: 23 or 25 of them on the daylight-saving days
    start, end = (pd.Timestamp(day) + pd.Timedelta(days=k) for k in (0, 1))
    hours = pd.date_range(
        start.tz_localize(config.timezone).tz_convert("UTC"),
        end.tz_localize(config.timezone).tz_convert("UTC"),
        freq="h",
        inclusive="left",
    )
    series = h[SERIES].drop_duplicates()
    ahead = series.merge(pd.DataFrame({"ts": hours}), how="cross").assign(value=np.nan)
    h = pd.concat([h, hourly(ahead, config.timezone)], ignore_index=True)
    h = references(h, config)
    typical, series_scale = series_spreads(h, config)
    mine = h["day"] == pd.Timestamp(day)
    refs = h.loc[mine, REFERENCE_COLUMNS].drop_duplicates(SERIES + ["day", "hod"])
    stats = h.assign(typical_spread=typical, series_scale=series_scale)[SERIES_COLUMNS].drop_duplicates(SERIES)
    return refs.reset_index(drop=True), stats.reset_index(drop=True)


def expected_from_stored(
    readings: pd.DataFrame, refs: pd.DataFrame, stats: pd.DataFrame, config: DetectorConfig
) -> pd.DataFrame:
    """expected_hourly() for the hours of `readings` (prepared), with the references and
    series spreads stored by day_references() instead of learnt from the history again."""
    h = hourly(readings, config.timezone)
    if h.empty:
        return h.assign(expected=np.nan, scale=np.nan)
    refs = refs.assign(day=pd.to_datetime(refs["day"]), hod=refs["hod"].astype(int))
    h = h.merge(refs[REFERENCE_COLUMNS], on=SERIES + ["day", "hod"], how="left")
    h = h.merge(stats[SERIES_COLUMNS], on=SERIES, how="left")
    h["basis"] = h["basis"].where(h["expected"].notna(), None)
    return _finish(h.drop(columns=["series_scale", "typical_spread"]), h["typical_spread"], h["series_scale"], config)


def with_expected(readings: pd.DataFrame, expected: pd.DataFrame) -> pd.DataFrame:
    """Each reading with its hour's expected value and scale."""
    frame = readings.assign(hour=readings["ts"].dt.floor("h"))
    return frame.merge(
        expected[SERIES + ["hour", "expected", "scale", "series_scale"]], on=SERIES + ["hour"], how="left"
    ).drop(columns=["hour"])
