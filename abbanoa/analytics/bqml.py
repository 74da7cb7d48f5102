"""Production path: the baseline detector as BigQuery ML (ARIMA_PLUS + ML.DETECT_ANOMALIES).

ARIMA_PLUS cleans spikes/dips and step changes, fills gaps and finds the daily and weekly
seasonality with STL before fitting auto.ARIMA (BigQuery ML documentation); one model holds
every (node_id, metric) series through time_series_id_col. The emulator has no BigQuery ML,
so locally only the SQL text is tested; settings.anomaly_backend = "bqml" selects it.
"""

from __future__ import annotations

import pandas as pd

MODEL = "anomaly_arima"


def create_model_sql(dataset: str, training_days: int = 35) -> str:
    """CREATE MODEL over hourly means of the last `training_days` days (@until bound)."""
    return f"""CREATE OR REPLACE MODEL `{dataset}.{MODEL}`
OPTIONS (
  model_type = 'ARIMA_PLUS',
  time_series_timestamp_col = 'hour',
  time_series_data_col = 'value',
  time_series_id_col = ['node_id', 'metric'],
  data_frequency = 'HOURLY',
  auto_arima = TRUE,
  clean_spikes_and_dips = TRUE,
  adjust_step_changes = TRUE,
  decompose_time_series = TRUE
) AS
SELECT node_id, metric, TIMESTAMP_TRUNC(ts, HOUR) AS hour, AVG(value) AS value
FROM `{dataset}.readings`
WHERE ts >= TIMESTAMP_SUB(@until, INTERVAL {int(training_days)} DAY) AND ts < @until
  AND metric != 'total_flow'
GROUP BY node_id, metric, hour"""


def detect_anomalies_sql(dataset: str, threshold: float = 0.99) -> str:
    """ML.DETECT_ANOMALIES on the hourly means in [@since, @until)."""
    if not 0.0 < threshold < 1.0:
        raise ValueError("anomaly_prob_threshold must be strictly between 0 and 1")
    return f"""SELECT node_id, metric, hour AS ts, value AS observed,
  (lower_bound + upper_bound) / 2 AS expected, lower_bound, upper_bound, anomaly_probability
FROM ML.DETECT_ANOMALIES(
  MODEL `{dataset}.{MODEL}`,
  STRUCT({threshold} AS anomaly_prob_threshold),
  (
    SELECT node_id, metric, TIMESTAMP_TRUNC(ts, HOUR) AS hour, AVG(value) AS value
    FROM `{dataset}.readings`
    WHERE ts >= @since AND ts < @until AND metric != 'total_flow'
    GROUP BY node_id, metric, hour
  )
)
WHERE is_anomaly"""


def flags_from_result(result: pd.DataFrame, threshold: float = 0.99) -> pd.DataFrame:
    """ML.DETECT_ANOMALIES rows -> flagged points (detectors.FLAG_COLUMNS), type baseline_deviation.

    Score: distance outside the prediction interval in half-widths (so 1 = at the bound).
    """
    from abbanoa.analytics.detectors import BASELINE, FLAG_COLUMNS

    if result.empty:
        return pd.DataFrame(columns=FLAG_COLUMNS)
    half = ((result["upper_bound"] - result["lower_bound"]) / 2).clip(lower=1e-9)
    score = (result["observed"] - result["expected"]) / half
    ts = pd.to_datetime(result["ts"], utc=True)
    return pd.DataFrame(
        {
            "node_id": result["node_id"],
            "district_id": None,
            "metric": result["metric"],
            "anomaly_type": BASELINE,
            "ts": ts,
            "end_ts": ts + pd.Timedelta(hours=1),
            "score": score,
            "threshold": 1.0,
            "observed": result["observed"],
            "expected": result["expected"],
        }
    )[FLAG_COLUMNS]
