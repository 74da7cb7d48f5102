"""Forecast output shape, BigQuery ML SQL text, backtest, and the water balance of a simulated scenario."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from abbanoa.analytics import backtest, forecasting
from abbanoa.analytics import efficiency as eff
from abbanoa.errors import AbbanoaError


def _demand(weeks: int, seed: int = 3) -> pd.Series:
    idx = pd.date_range("2026-01-05T00:00Z", periods=168 * weeks, freq="h", tz="UTC")
    rng = np.random.default_rng(seed)
    h = idx.hour.to_numpy()
    weekend = (idx.weekday.to_numpy() >= 5) * 3.0
    y = 40 + 15 * np.sin(2 * np.pi * (h - 6) / 24) + weekend + rng.normal(0, 2, len(idx))
    return pd.Series(y, index=idx)


def test_local_forecast_has_bqml_columns_168_hourly_steps_and_ordered_intervals():
    s = _demand(3)
    f = forecasting.forecast_local(s)
    assert list(f.columns) == forecasting.COLUMNS
    assert len(f) == 168
    assert f["forecast_timestamp"].iloc[0] == s.index[-1] + pd.Timedelta(hours=1)
    assert (f["forecast_timestamp"].diff().dropna() == pd.Timedelta(hours=1)).all()
    assert (f["prediction_interval_lower_bound"] <= f["forecast_value"]).all()
    assert (f["forecast_value"] <= f["prediction_interval_upper_bound"]).all()
    assert (f["prediction_interval_upper_bound"] > f["prediction_interval_lower_bound"]).any()


def test_forecast_with_less_than_two_weeks_is_a_clear_error():
    with pytest.raises(AbbanoaError, match="two weeks"):
        forecasting.forecast_local(_demand(1))


def test_bqml_sql_text_creates_one_arima_plus_model_over_all_series_with_italian_holidays():
    sql = forecasting.bqml_create_model_sql("proj.ds.demand_model", "proj.ds.hourly_series")
    assert sql.startswith("CREATE OR REPLACE MODEL `proj.ds.demand_model`")
    for part in ("model_type='ARIMA_PLUS'", "time_series_id_col='series_id'", "holiday_region='IT'", "horizon=168"):
        assert part in sql
    fsql = forecasting.bqml_forecast_sql("proj.ds.demand_model")
    assert "ML.FORECAST(MODEL `proj.ds.demand_model`" in fsql
    assert "STRUCT(168 AS horizon, 0.9 AS confidence_level)" in fsql
    for col in forecasting.COLUMNS:
        assert col in fsql
    with pytest.raises(AbbanoaError):
        forecasting.bqml_create_model_sql("x; DROP TABLE y", "t")


def test_score_counts_mae_mape_and_coverage():
    idx = pd.date_range("2026-01-01", periods=4, freq="h", tz="UTC")
    f = pd.DataFrame(
        {
            "forecast_timestamp": idx,
            "forecast_value": [10.0, 10.0, 10.0, 10.0],
            "prediction_interval_lower_bound": [9.0] * 4,
            "prediction_interval_upper_bound": [11.0] * 4,
        }
    )
    out = forecasting.score(f, pd.Series([10.0, 12.0, 8.0, 10.0], index=idx))
    assert out == {"points": 4, "mae": 1.0, "mape": pytest.approx((0 + 2 / 12 + 2 / 8 + 0) / 4 * 100), "coverage": 0.5}


def test_backtest_model_beats_seasonal_naive_on_a_noisy_weekly_series():
    df = backtest.backtest({"D1": _demand(4)})
    m = df.set_index("model")
    assert m.loc[forecasting.MODEL_LOCAL, "mae"] < m.loc[forecasting.MODEL_NAIVE, "mae"]
    assert 0.0 < m.loc[forecasting.MODEL_LOCAL, "coverage"] <= 1.0  # calibration: see docs/forecasting.md


def test_water_balance_of_a_simulated_scenario_matches_its_labels(tmp_path):
    from abbanoa.simulate.run import simulate

    # given a 3-day simulated scenario
    start = dt.datetime(2026, 5, 4, tzinfo=dt.UTC) - dt.timedelta(hours=2)
    simulate(tmp_path, 3, 5, start, "Europe/Rome")
    truth = pd.read_csv(tmp_path / "truth.csv")
    truth["ts"] = pd.to_datetime(truth["ts"], utc=True)
    # when the net inflow is computed from the district meters' flow_rate readings
    measured = backtest.district_series_from_readings(tmp_path)
    # then, per district and local day, inflow = consumption + leaks within 2%
    assert set(measured) == set(truth["dma_id"])
    for dma, hourly in measured.items():
        t = truth[truth["dma_id"] == dma].set_index("ts")
        labelled = (t["consumption_m3"] + t["leak_m3"]).sort_index()
        ours = eff.aggregate_volumes(hourly, "day", "Europe/Rome").set_index("period_start")["volume_m3"]
        theirs = eff.aggregate_volumes(labelled, "day", "Europe/Rome").set_index("period_start")["volume_m3"]
        both = pd.concat([ours, theirs], axis=1, keys=["ours", "labels"]).dropna()
        assert len(both) >= 3
        rel = ((both["ours"] - both["labels"]).abs() / both["labels"]).max()
        assert rel < 0.02, (dma, both)
