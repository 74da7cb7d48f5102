"""Score detected anomalies against a scenario's labelled events (labels.json).

An alert (an episode at or above the alerting severity) matches an event when it concerns
the event's node (or, for a district-level episode, its district), and starts between one
hour before the event and the event's end. Time to detection: the first matching alert's
start minus the event start (0 when it starts earlier). An alert matching no event is a
false alert, unless it is a hydraulic symptom of a hydraulic event in its district: a burst, a
growing leak or a shut feed moves the flows and pressures of every meter and logger of the
district, so a flow, pressure or level alert of any node there, between 1 h before the event
and 6 h after its end, is explained by it (explained, not detecting: detection needs the
event's own node or a district-level alert). Row-level faults the importer absorbs (duplicates, out_of_order,
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
    detecting = pairs[where & starts_in]
    first = detecting.sort_values("start_ts").groupby("id").first()
    events = events.join(
        first[["start_ts", "anomaly_type"]].rename(columns={"start_ts": "detected_at", "anomaly_type": "by"}), on="id"
    )
    events["detected"] = events["detected_at"].notna()
    events["ttd_h"] = ((events["detected_at"] - events["start"]).dt.total_seconds() / 3600).clip(lower=0)
    explained = pairs[(where | symptom) & explains].sort_values("start").groupby("index")["id"].first()
    alerts.loc[explained.index, "event_id"] = explained.to_numpy()
    return events, alerts


def summary(events: pd.DataFrame, alerts: pd.DataFrame, districts: int, weeks: float) -> dict:
    """Per event type: events, detected, recall, precision, median/max time to detection;
    plus false alerts per district per week."""
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
    return {
        "by_type": by_type,
        "alerts": len(alerts),
        "false_alerts": len(false),
        "false_per_district_week": len(false) / max(districts, 1) / max(weeks, 1e-9),
    }


# which detector's false alerts weigh on which event type's precision
_DETECTORS = {
    "burst": ("burst",),
    "growing_leak": ("rising_night_flow",),
    "pressure_drop": ("pressure_drop",),
    "spike": ("spike",),
    "stuck_value": ("stuck_value",),
    "sensor_gap": ("sensor_gap",),
    "quality_excursion": ("out_of_range", "threshold_breach"),
}
