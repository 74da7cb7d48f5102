"""Score detected anomalies against a scenario's labelled events (labels.json).

An alert (an episode at or above the alerting severity) matches an event when it concerns
the event's node (or, for a district-level episode, its district), and starts between one
hour before the event and the event's end. Time to detection: the first matching alert's
start minus the event start (0 when it starts earlier). An alert matching no event is a
false alert, unless it is a hydraulic symptom of a hydraulic event in its district: a burst, a
growing leak or a shut feed moves the flows and pressures of every meter and logger of the
district, so a flow, pressure or level alert of any node there, between 1 h before the event
and 6 h after its end, is explained by it (explained, not detecting: detection needs the
event's own node or a district-level alert). A data-quality alert names a span (a local day,
or a silence up to its tick, `span_match`): it detects the events of its node it overlaps.
With `raised_at` (a replay: the tick that raised the alert), time to detection runs to it.
Row-level faults the importer absorbs (duplicates, out_of_order,
malformed_rows) are not detector events and are left out.
"""

from __future__ import annotations

import pandas as pd

IMPORT_EVENTS = ("duplicates", "out_of_order", "malformed_rows")
LEAD = pd.Timedelta(hours=1)
# How long an event keeps explaining alerts after its end (a drop's recovery, a refill).
AFTERGLOW = pd.Timedelta(hours=6)
HYDRAULIC_EVENTS = ("burst", "growing_leak", "pressure_drop")
HYDRAULIC_METRICS = ("flow_rate", "pressure", "level")


def match(alerts: pd.DataFrame, events: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-event table, alerts with `event_id`): events get detected, detected_at, ttd_h."""
    events = events[~events["type"].isin(IMPORT_EVENTS)].copy()
    for col in ("start", "end"):
        events[col] = pd.to_datetime(events[col], utc=True)
    alerts = alerts.copy().reset_index(drop=True)
    alerts["event_id"] = None
    if alerts.empty or events.empty:
        events["detected"] = False
        events["detected_at"] = pd.NaT
        events["ttd_h"] = float("nan")
        events["by"] = None
        return events, alerts
    pairs = alerts.reset_index().merge(events.reset_index(drop=True), how="cross", suffixes=("", "_ev"))
    same_node = pairs["node_id"].notna() & (pairs["node_id"] == pairs["node_id_ev"])
    same_district = pairs["node_id"].isna() & (pairs["district_id"] == pairs["dma_id"])
    starts_in = (pairs["start_ts"] >= pairs["start"] - LEAD) & (pairs["start_ts"] <= pairs["end"])
    explains = (pairs["start_ts"] >= pairs["start"] - LEAD) & (pairs["start_ts"] <= pairs["end"] + AFTERGLOW)
    where = same_node | same_district
    symptom = (
        pairs["node_id"].notna()
        & (pairs["district_id"] == pairs["dma_id"])
        & pairs["type"].isin(HYDRAULIC_EVENTS)
        & pairs["metric"].isin(HYDRAULIC_METRICS)
    )
    if "span_match" in pairs:
        # a data-quality alert names a span (a day, a silence): it detects what it overlaps
        span = pairs["span_match"].fillna(False).astype(bool)
        overlaps = (pairs["start_ts"] <= pairs["end"]) & (pairs["end_ts"] >= pairs["start"] - LEAD)
        starts_in = starts_in.where(~span, overlaps)
        explains = explains.where(~span, overlaps)
    # a replay knows when each alert was raised (its tick); a batch run only the anomaly's start
    pairs["detected_at"] = pairs["raised_at"] if "raised_at" in pairs else pairs["start_ts"]
    detecting = pairs[where & starts_in]
    first = detecting.sort_values("detected_at").groupby("id").first()
    events = events.join(first[["detected_at", "anomaly_type"]].rename(columns={"anomaly_type": "by"}), on="id")
    events["detected"] = events["detected_at"].notna()
    events["ttd_h"] = ((events["detected_at"] - events["start"]).dt.total_seconds() / 3600).clip(lower=0)
    explained = pairs[(where | symptom) & explains].sort_values("start").groupby("index")["id"].first()
    alerts.loc[explained.index, "event_id"] = explained.to_numpy()
    return events, alerts


def summary(events: pd.DataFrame, alerts: pd.DataFrame, districts: int, weeks: float, sensors: int = 0) -> dict:
    """Per event type: events, detected, recall, precision, median/max time to detection;
    plus false alerts per district per week and per 100 sensor-weeks, in all and by type."""
    by_type = {}
    kind_of = events.set_index("id")["type"]
    alerts = alerts.assign(event_type=alerts["event_id"].map(kind_of))
    false = alerts[alerts["event_id"].isna()]
    for kind, group in events.groupby("type"):
        ttd = group["ttd_h"].dropna()  # undetected events have none
        true_alerts = int((alerts["event_type"] == kind).sum())
        # a false alert counts against the event type whose detector raised it
        wrong = int(false["anomaly_type"].isin(_DETECTORS.get(kind, ())).sum())
        by_type[kind] = {
            "events": len(group),
            "detected": int(group["detected"].sum()),
            "recall": group["detected"].mean(),
            "precision": true_alerts / (true_alerts + wrong) if true_alerts + wrong else float("nan"),
            "ttd_median_h": ttd.median() if len(ttd) else float("nan"),
            "ttd_max_h": ttd.max() if len(ttd) else float("nan"),
        }
    district_weeks = max(districts, 1) * max(weeks, 1e-9)
    sensor_weeks = max(sensors, 1) * max(weeks, 1e-9) / 100
    false_by_type = false["anomaly_type"].value_counts().sort_index().to_dict()
    return {
        "by_type": by_type,
        "alerts": len(alerts),
        "false_alerts": len(false),
        "false_per_district_week": len(false) / district_weeks,
        "false_per_100_sensor_weeks": len(false) / sensor_weeks,
        "false_by_type": false_by_type,
        "false_by_type_per_district_week": {k: v / district_weeks for k, v in false_by_type.items()},
        "false_by_type_per_100_sensor_weeks": {k: v / sensor_weeks for k, v in false_by_type.items()},
    }


# which detector's false alerts weigh on which event type's precision
_DETECTORS = {
    "burst": ("burst",),
    "growing_leak": ("rising_night_flow",),
    "pressure_drop": ("pressure_drop",),
    "spike": ("spike",),
    "stuck_value": ("stuck_value", "stuck_sensor"),
    "sensor_gap": ("sensor_gap", "data_gap", "stale_sensor", "stale_district"),
    "quality_excursion": ("out_of_range", "threshold_breach"),
}
