"""Demand forecasts: shape, horizon, interval order, the BigQuery ML SQL text, scoring."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from abbanoa.analytics import forecast, forecast_bqml
from abbanoa.jobs.runner import run_job
from abbanoa.repository import network, readings_upsert


def demand(weeks: int, seed: int = 3) -> pd.DataFrame:
    ts = pd.date_range("2026-09-07", periods=weeks * 168, freq="h", tz="UTC")
    hour = ts.tz_convert("Europe/Rome").hour.to_numpy()
    weekday = ts.tz_convert("Europe/Rome").weekday.to_numpy()
    daily = 20 + 12 * np.exp(-((hour - 8) ** 2) / 4) + 9 * np.exp(-((hour - 20) ** 2) / 6)
    value = daily * np.where(weekday >= 5, 0.85, 1.0) + np.random.default_rng(seed).normal(0, 1.0, len(ts))
    return pd.DataFrame({"series_id": "dma:D1", "ts": ts, "value": value})


def test_forecast_has_the_bigquery_columns_a_week_of_hours_and_ordered_intervals():
    result = forecast.forecast(demand(5))
    assert list(result.columns) == forecast.COLUMNS
    assert len(result) == 168
    steps = result["forecast_timestamp"].diff().dropna().unique()
    assert list(steps) == [pd.Timedelta(hours=1)]
    assert (result["prediction_interval_lower_bound"] <= result["forecast_value"]).all()
    assert (result["forecast_value"] <= result["prediction_interval_upper_bound"]).all()
    assert (result["confidence_level"] == 0.9).all()


def test_too_short_a_history_gives_no_forecast_rather_than_a_bad_one():
    assert forecast.forecast(demand(2)).empty


def test_the_model_beats_the_same_hour_last_week_on_a_seasonal_series():
    data = demand(6)
    cutoff = data["ts"].iloc[-168]
    train, test = data[data["ts"] < cutoff], data[data["ts"] >= cutoff]
    model = forecast.score(forecast.forecast(train), test).iloc[0]
    naive = forecast.score(forecast.seasonal_naive(train), test).iloc[0]
    assert model.mae < naive.mae
    assert 0.75 <= model.coverage <= 1.0


def test_arima_plus_sql_is_one_model_over_all_series_with_italian_holidays():
    create = forecast_bqml.create_model_sql("proj.water_network")
    assert "CREATE OR REPLACE MODEL `proj.water_network.demand_arima_plus`" in create
    assert "model_type = 'ARIMA_PLUS'" in create
    assert "time_series_id_col = 'series_id'" in create
    assert "holiday_region = 'IT'" in create
    predict = forecast_bqml.forecast_sql("proj.water_network")
    assert (
        "ML.FORECAST(MODEL `proj.water_network.demand_arima_plus`, STRUCT(168 AS horizon, 0.9 AS confidence_level))"
        in predict
    )
    assert "prediction_interval_lower_bound" in predict
    with pytest.raises(ValueError):
        forecast_bqml.create_model_sql("proj.ds`; DROP TABLE x; --")


def test_forecast_job_stores_caches_and_later_scores_its_forecasts(db, settings, cache):
    data = demand(5)
    with db.begin() as conn:
        conn.execute(sa.text("INSERT INTO tenants VALUES ('t1', 't1')"))
        conn.execute(sa.text("INSERT INTO districts (district_id, tenant_id, name) VALUES ('D1', 't1', 'D1')"))
        conn.execute(sa.text("INSERT INTO nodes (node_id, tenant_id, district_id) VALUES ('FM1', 't1', 'D1')"))
        conn.execute(sa.text("INSERT INTO district_meters VALUES ('D1', 'FM1', 1)"))
        rows = pd.DataFrame(
            {
                "node_id": "FM1",
                "metric": "flow_rate",
                "ts": data["ts"],
                "value": data["value"],
                "ingested_at": data["ts"],
            }
        )
        readings_upsert.upsert(conn, rows, "Europe/Rome", 0)
    first_now = (data["ts"].iloc[-168] + pd.Timedelta(minutes=30)).to_pydatetime()

    run_job("demand_forecast", settings, now=first_now)
    later = run_job("demand_forecast", settings, now=first_now + dt.timedelta(days=8))

    with db.connect() as conn:
        stored = conn.execute(
            sa.text("SELECT count(*) FROM forecasts WHERE node_id = 'dma:D1' AND generated_at = :g"),
            {"g": first_now.replace(minute=0)},
        ).scalar()
        accuracy = conn.execute(
            sa.text("SELECT points, mae, coverage FROM forecast_accuracy WHERE node_id = 'dma:D1'")
        ).one()
    assert stored == 168
    assert later.details["scored"] >= 1
    assert accuracy.points == 168
    assert accuracy.mae < 3.0
    # the cache holds exactly what the API would answer from PostgreSQL, with its tenant
    doc = cache.get_json(cache.key("cache:forecast:{node_id}:{metric}", node_id="dma:D1", metric="flow_rate"))
    with db.connect() as conn:
        from_db = network.forecasts(conn, "t1", "dma:D1", "flow_rate")
    assert doc["tenant_id"] == "t1"
    assert doc["body"] == json.loads(json.dumps(from_db, default=str))
    assert doc["body"]["unit"] == "l/s" and len(doc["body"]["points"]) == 168
    assert len(doc["body"]["accuracy"]) == 1
