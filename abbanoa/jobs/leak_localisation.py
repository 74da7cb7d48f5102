"""The detection job's localisation step: for each leak-type anomaly the tick touched,
rank its district's pressure loggers and, with an imported model, its junctions
(abbanoa.analytics.localisation), and store the answer with the anomaly.

Gather (the district's loggers, their hourly pressure around the onset, the stored model),
decide (pure), apply (one row per method). Bounded: only anomalies updated this tick and
whose stored answer is missing, older than the onset or computed before its window was full.
"""

from __future__ import annotations

import datetime as dt
import logging

import pandas as pd
import sqlalchemy as sa

from abbanoa.analytics import localisation as loc
from abbanoa.repository import localisation as repo

log = logging.getLogger(__name__)


def localise(conn: sa.Connection, now: dt.datetime, timezone: str, updated_since: dt.datetime) -> int:
    """Localise the leak-type anomalies updated since `updated_since`; returns rows stored."""
    window = dt.timedelta(hours=loc.WINDOW_H)
    anomalies = repo.leak_anomalies(conn, loc.LEAK_TYPES, updated_since, window)
    if not anomalies:
        return 0
    districts = sorted({a["district_id"] for a in anomalies})
    loggers = repo.district_loggers(conn, districts)
    models = repo.load_models(conn, districts)
    stored = 0
    for anomaly in anomalies:
        positions = loggers.get(anomaly["district_id"], {})
        if len(positions) < 2:
            continue
        onset = pd.Timestamp(anomaly["start_ts"])
        until = min(now, anomaly["start_ts"] + window)
        rows = repo.pressure_readings(
            conn, sorted(positions), anomaly["start_ts"] - dt.timedelta(days=loc.TRAINING_DAYS), until
        )
        pressure = pd.DataFrame(rows, columns=["node_id", "ts", "value"])
        model = models.get(anomaly["district_id"])
        excess = loc.leak_flow(anomaly["observed_value"], anomaly["expected_value"])
        results = loc.localise_event(
            pressure, onset, anomaly["anomaly_type"], positions, timezone, model, leak_lps=excess
        )
        for result in results:
            fingerprint = model["fingerprint"] if model and result.method == "hydraulic_model" else None
            repo.save_localisation(conn, anomaly, result.as_json(), now, fingerprint)
            stored += 1
    log.info("localised %d leak-type anomalies (%d rows)", len(anomalies), stored)
    return stored


def after_tick(engine, now: dt.datetime, timezone: str) -> int | None:
    """The detection job's one call: localise what this tick stored, in its own transaction,
    so that a failure here never loses the tick's anomalies (logged; None = failed)."""
    try:
        with engine.begin() as conn:
            return localise(conn, now, timezone, updated_since=now)
    except Exception:  # a localisation bug or a bad model must not fail detection
        log.exception("leak localisation failed; the anomalies are stored without it")
        return None
