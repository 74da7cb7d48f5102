"""Hourly demand forecasts with 90% prediction intervals.

Local path: statsforecast MSTL (seasonalities 24 h and 168 h) with an AutoETS trend model:
fast on 2 cores, unlike a plain seasonal AutoARIMA with season 24. Output columns follow
BigQuery ML's ML.FORECAST names so both paths produce the same frame.
Production path: BigQuery ML ARIMA_PLUS, one model over all series (time_series_id_col),
holiday region IT; `bqml_create_model_sql` / `bqml_forecast_sql` give the SQL text.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from abbanoa.errors import AbbanoaError

COLUMNS = ["forecast_timestamp", "forecast_value", "prediction_interval_lower_bound", "prediction_interval_upper_bound"]
HORIZON_H = 168
MODEL_LOCAL = "mstl_autoets"
MODEL_BQML = "arima_plus"
MODEL_NAIVE = "seasonal_naive_168"


def _regular_hourly(series: pd.Series) -> pd.Series:
    """Sort, put on a regular UTC hourly grid and fill short gaps (time interpolation)."""
    s = series.dropna().sort_index()
    s.index = pd.DatetimeIndex(s.index).tz_convert("UTC")
    s = s[~s.index.duplicated(keep="last")]
    grid = pd.date_range(s.index[0], s.index[-1], freq="h")
    return s.reindex(grid).interpolate(method="time", limit_direction="both")


def forecast_local(series: pd.Series, horizon: int = HORIZON_H, level: int = 90) -> pd.DataFrame:
    """7-day hourly forecast of an hourly series (UTC index) with `level`% intervals.

    Needs at least two weeks of history (the weekly seasonality); raises AbbanoaError otherwise.
    """
    from statsforecast import StatsForecast
    from statsforecast.models import MSTL, AutoETS

    if series.dropna().empty:
        raise AbbanoaError("no data to forecast")
    s = _regular_hourly(series)
    if len(s) < 2 * 168:
        raise AbbanoaError(f"forecast needs at least 336 hourly points (two weeks), got {len(s)}")
    df = pd.DataFrame({"unique_id": "s", "ds": s.index.tz_localize(None), "y": s.to_numpy(dtype=float)})
    model = MSTL(season_length=[24, 168], trend_forecaster=AutoETS(model="ZZN"))
    sf = StatsForecast(models=[model], freq="h", n_jobs=1)
    fc = sf.forecast(df=df, h=horizon, level=[level])
    out = pd.DataFrame(
        {
            "forecast_timestamp": pd.DatetimeIndex(fc["ds"]).tz_localize("UTC"),
            "forecast_value": fc["MSTL"].to_numpy(dtype=float),
            "prediction_interval_lower_bound": fc[f"MSTL-lo-{level}"].to_numpy(dtype=float),
            "prediction_interval_upper_bound": fc[f"MSTL-hi-{level}"].to_numpy(dtype=float),
        }
    )
    return _ordered(out)


def forecast_seasonal_naive(series: pd.Series, horizon: int = HORIZON_H, level: int = 90) -> pd.DataFrame:
    """Baseline: the same hour one week earlier; intervals from the empirical quantiles of
    past week-on-week differences."""
    s = _regular_hourly(series)
    if len(s) < 168:
        raise AbbanoaError("seasonal-naive needs at least one week of hourly data")
    last_week = s.to_numpy()[-168:]
    values = np.array([last_week[i % 168] for i in range(horizon)])
    diffs = (s - s.shift(168)).dropna().to_numpy()
    a = (100 - level) / 200
    lo_q, hi_q = (np.quantile(diffs, [a, 1 - a]) if len(diffs) else (0.0, 0.0))
    ts = pd.date_range(s.index[-1] + pd.Timedelta(hours=1), periods=horizon, freq="h")
    return _ordered(
        pd.DataFrame(
            {
                "forecast_timestamp": ts,
                "forecast_value": values,
                "prediction_interval_lower_bound": values + lo_q,
                "prediction_interval_upper_bound": values + hi_q,
            }
        )
    )


def _ordered(out: pd.DataFrame) -> pd.DataFrame:
    lo = np.minimum(out["prediction_interval_lower_bound"], out["forecast_value"])
    hi = np.maximum(out["prediction_interval_upper_bound"], out["forecast_value"])
    return out.assign(prediction_interval_lower_bound=lo, prediction_interval_upper_bound=hi)[COLUMNS]


def score(forecast: pd.DataFrame, actual: pd.Series) -> dict:
    """MAE, MAPE (%, over non-zero actuals) and interval coverage of a forecast vs actuals."""
    act = actual.copy()
    act.index = pd.DatetimeIndex(act.index).tz_convert("UTC")
    f = forecast.set_index("forecast_timestamp")
    joined = f.join(act.rename("actual"), how="inner").dropna(subset=["actual"])
    if joined.empty:
        return {"points": 0, "mae": None, "mape": None, "coverage": None}
    err = (joined["forecast_value"] - joined["actual"]).abs()
    nz = joined["actual"].abs() > 1e-9
    inside = (joined["actual"] >= joined["prediction_interval_lower_bound"]) & (
        joined["actual"] <= joined["prediction_interval_upper_bound"]
    )
    return {
        "points": len(joined),
        "mae": float(err.mean()),
        "mape": float((err[nz] / joined["actual"][nz].abs()).mean() * 100) if nz.any() else None,
        "coverage": float(inside.mean()),
    }


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*(\.[A-Za-z_][A-Za-z0-9_\-]*){0,2}$")


def _ident(name: str) -> str:
    if not _IDENT.match(name):
        raise AbbanoaError(f"not a valid BigQuery identifier: {name!r}")
    return f"`{name}`"


def bqml_create_model_sql(model: str, source_table: str, horizon: int = HORIZON_H) -> str:
    """CREATE MODEL for BigQuery ML ARIMA_PLUS, one model over all series.

    `source_table` must have columns series_id (e.g. 'dma:D1|flow_rate'), ts (hour), value.
    Holiday effects use region IT (Italian public holidays).
    """
    return (
        f"CREATE OR REPLACE MODEL {_ident(model)}\n"
        "OPTIONS(\n"
        "  model_type='ARIMA_PLUS',\n"
        "  time_series_timestamp_col='ts',\n"
        "  time_series_data_col='value',\n"
        "  time_series_id_col='series_id',\n"
        "  data_frequency='HOURLY',\n"
        f"  horizon={int(horizon)},\n"
        "  holiday_region='IT',\n"
        "  auto_arima=TRUE,\n"
        "  clean_spikes_and_dips=TRUE,\n"
        "  adjust_step_changes=TRUE\n"
        ") AS\n"
        f"SELECT series_id, ts, value FROM {_ident(source_table)}"
    )


def bqml_forecast_sql(model: str, horizon: int = HORIZON_H, confidence: float = 0.9) -> str:
    """ML.FORECAST returning series_id + the four COLUMNS, 90% intervals by default."""
    if not 0 < confidence < 1:
        raise AbbanoaError("confidence must be between 0 and 1")
    return (
        "SELECT series_id, forecast_timestamp, forecast_value,\n"
        "       prediction_interval_lower_bound, prediction_interval_upper_bound\n"
        f"FROM ML.FORECAST(MODEL {_ident(model)},\n"
        f"                 STRUCT({int(horizon)} AS horizon, {float(confidence)} AS confidence_level))"
    )
