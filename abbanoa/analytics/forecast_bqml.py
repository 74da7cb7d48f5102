"""The production forecast path: BigQuery ML ARIMA_PLUS, one model over every series.

ARIMA_PLUS cleans spikes, dips and step changes, fills gaps, removes holiday effects
(holiday_region 'IT'), finds the seasonalities and fits auto.ARIMA to the trend
(BigQuery ML documentation). The SQL is generated here and tested as text: the local
emulator has no BigQuery ML.
"""

from __future__ import annotations

import re

_IDENT = re.compile(r"^[A-Za-z0-9_\-.]+$")


def _ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"not a plain BigQuery identifier: {name!r}")
    return name


def training_query(dataset: str, days: int = 56) -> str:
    """Hourly net inflow per district (l/s): each boundary meter's hourly mean flow, signed
    by its direction (latest version of the district_meters registry), summed."""
    ds = _ident(dataset)
    return (
        "SELECT CONCAT('dma:', m.dma_id) AS series_id, h.hour, SUM(m.direction * h.flow) AS net_inflow_l_s\n"
        "FROM (SELECT node_id, TIMESTAMP_TRUNC(ts, HOUR) AS hour, AVG(value) AS flow\n"
        f"      FROM `{ds}.readings` WHERE metric = 'flow_rate'\n"
        f"      AND ts >= TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL {int(days)} DAY)\n"
        "      GROUP BY node_id, hour) h\n"
        f"JOIN (SELECT * FROM `{ds}.district_meters`\n"
        "      QUALIFY ROW_NUMBER() OVER (PARTITION BY dma_id, node_id ORDER BY updated_at DESC) = 1) m\n"
        "  ON m.node_id = h.node_id\n"
        "GROUP BY series_id, h.hour"
    )


def create_model_sql(dataset: str, model: str = "demand_arima_plus", days: int = 56) -> str:
    ds, mdl = _ident(dataset), _ident(model)
    return (
        f"CREATE OR REPLACE MODEL `{ds}.{mdl}`\n"
        "OPTIONS(\n"
        "  model_type = 'ARIMA_PLUS',\n"
        "  time_series_timestamp_col = 'hour',\n"
        "  time_series_data_col = 'net_inflow_l_s',\n"
        "  time_series_id_col = 'series_id',\n"
        "  data_frequency = 'HOURLY',\n"
        "  holiday_region = 'IT',\n"
        "  clean_spikes_and_dips = TRUE,\n"
        "  adjust_step_changes = TRUE,\n"
        "  decompose_time_series = TRUE\n"
        ") AS\n" + training_query(dataset, days)
    )


def forecast_sql(dataset: str, model: str = "demand_arima_plus", horizon: int = 168, level: float = 0.9) -> str:
    ds, mdl = _ident(dataset), _ident(model)
    if not 0 < level < 1:
        raise ValueError("confidence level must be between 0 and 1")
    return (
        "SELECT series_id, forecast_timestamp, forecast_value, standard_error, confidence_level, "
        "prediction_interval_lower_bound, prediction_interval_upper_bound "
        f"FROM ML.FORECAST(MODEL `{ds}.{mdl}`, STRUCT({int(horizon)} AS horizon, {float(level)} AS confidence_level))"
    )
