"""Demand forecast (daily): 7-day hourly forecasts with 90% intervals per district inflow
(series `dma:<id>`, metric flow_rate, l/s) and per district flow meter; stored, cached
under cache:forecast:{node_id}:{metric}; earlier forecasts whose week has passed scored
against what happened (MAE, MAPE, coverage) into forecast_accuracy. The local model learns
from FORECAST_HISTORY_DAYS of hourly rollups (readings_1h: one row per meter and hour)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa

from abbanoa.analytics import forecast, forecast_bqml, water_balance
from abbanoa.jobs.base import JobContext, JobOutcome
from abbanoa.repository import district_flows, forecast_store
from abbanoa.stores.cache import FORECAST

CACHE_TTL_S = 26 * 3600  # a daily job: the key outlives the gap between runs


def gather_history(conn: sa.Connection, start: dt.datetime, end: dt.datetime) -> pd.DataFrame:
    """series_id, metric, ts, value: district net inflow and each boundary meter's flow, hourly, l/s."""
    meters, hours = district_flows.meter_hours(conn, start, end)
    if hours.empty:
        return pd.DataFrame(columns=["series_id", "ts", "value"])
    net = water_balance.hourly_net_inflow(hours, meters)
    districts = pd.DataFrame(
        {"series_id": "dma:" + net["district_id"], "ts": net["bucket"], "value": net["net_inflow_m3"] / 3.6}
    )
    nodes = pd.DataFrame({"series_id": hours["node_id"], "ts": hours["bucket"], "value": hours["avg_value"]})
    return pd.concat([districts, nodes], ignore_index=True)


def forecast_rows(result: pd.DataFrame, model: str, generated: dt.datetime) -> list[dict]:
    """ML.FORECAST-shaped rows (local or BigQuery ML) -> rows of the forecasts table."""
    return [
        {
            "node_id": r.series_id,
            "metric": "flow_rate",
            "model": model,
            "generated_at": generated,
            "forecast_ts": pd.Timestamp(r.forecast_timestamp).to_pydatetime(),
            "value": float(r.forecast_value),
            "lower": float(r.prediction_interval_lower_bound),
            "upper": float(r.prediction_interval_upper_bound),
            "confidence": float(r.confidence_level),
        }
        for r in result.itertuples(index=False)
    ]


def run(ctx: JobContext) -> JobOutcome:
    if ctx.settings.forecast_backend == "bqml":
        return run_bqml(ctx)
    generated = ctx.now.replace(minute=0, second=0, microsecond=0)
    with ctx.engine.connect() as conn:
        history = gather_history(conn, generated - dt.timedelta(days=ctx.settings.forecast_history_days), generated)
    result = forecast.forecast(history, tz=ctx.settings.timezone)
    rows = forecast_rows(result, forecast.MODEL, generated)
    with ctx.engine.begin() as conn:
        forecast_store.upsert(conn, rows)
        scored = score_past(conn, ctx.now)
    with ctx.engine.connect() as conn:  # after the commit: the cache never holds what was rolled back
        cached = cache_documents(ctx, conn, sorted(result["series_id"].unique()) if not result.empty else [])
    return JobOutcome(
        rows=len(rows),
        details={
            "series": int(result["series_id"].nunique()) if not result.empty else 0,
            "scored": scored,
            "cached": cached,
        },
    )


def cache_documents(ctx: JobContext, conn: sa.Connection, series_ids: list[str]) -> int:
    """Cache each series' API document (newest forecast and accuracy, exactly what
    GET /forecasts/{series}/flow_rate answers) with its tenant, for the API to serve."""
    from abbanoa.repository import network

    tenants = forecast_store.series_tenants(conn)
    items = {}
    for series_id in series_ids:
        tenant_id = tenants.get(series_id)
        if tenant_id is None:
            continue
        body = network.forecasts(conn, tenant_id, series_id, "flow_rate")
        items[ctx.cache.key(FORECAST, node_id=series_id, metric="flow_rate")] = {"tenant_id": tenant_id, "body": body}
    return ctx.cache.set_many_json(items, ttl_s=CACHE_TTL_S) if items else 0


def score_past(conn: sa.Connection, now: dt.datetime) -> int:
    """Score every stored forecast whose whole horizon has passed and is not scored yet."""
    pending = forecast_store.unscored(conn, now)
    if pending.empty:
        return 0
    start = pd.to_datetime(pending["forecast_ts"], utc=True).min().to_pydatetime()
    end = pd.to_datetime(pending["forecast_ts"], utc=True).max().to_pydatetime() + dt.timedelta(hours=1)
    actuals = gather_history(conn, start, end)
    written = 0
    for (node_id, metric, model, generated_at), group in pending.groupby(
        ["node_id", "metric", "model", "generated_at"]
    ):
        fc = pd.DataFrame(
            {
                "series_id": node_id,
                "forecast_timestamp": pd.to_datetime(group["forecast_ts"], utc=True),
                "forecast_value": group["value"],
                "prediction_interval_lower_bound": group["lower_bound"],
                "prediction_interval_upper_bound": group["upper_bound"],
            }
        )
        s = forecast.score(fc, actuals[actuals["series_id"] == node_id])
        if s.empty:
            continue
        r = s.iloc[0]
        forecast_store.record_accuracy(conn, node_id, metric, model, generated_at, r)
        written += 1
    return written


def run_bqml(ctx: JobContext) -> JobOutcome:
    """Production: retrain ARIMA_PLUS in BigQuery and store its forecast."""
    dataset = f"{ctx.settings.gcp_project}.{ctx.settings.bq_dataset}"
    ctx.warehouse.query(forecast_bqml.create_model_sql(dataset))
    result = ctx.warehouse.query_df(forecast_bqml.forecast_sql(dataset))
    generated = ctx.now.replace(minute=0, second=0, microsecond=0)
    rows = forecast_rows(result, "bqml_arima_plus", generated)
    with ctx.engine.begin() as conn:
        forecast_store.upsert(conn, rows)
    with ctx.engine.connect() as conn:
        cached = cache_documents(ctx, conn, sorted({r["node_id"] for r in rows}))
    return JobOutcome(rows=len(rows), details={"backend": "bqml", "cached": cached})
