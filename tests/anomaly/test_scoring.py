"""Scoring alerts against labelled events (the evaluate harness's arithmetic)."""

from __future__ import annotations

import pandas as pd
import pytest

from abbanoa.analytics.scoring import match, summary


def _alert(node, district, kind, start, metric="flow_rate"):
    return {
        "node_id": node,
        "district_id": district,
        "metric": metric,
        "anomaly_type": kind,
        "start_ts": pd.Timestamp(start, tz="UTC"),
    }


def _event(id_, kind, node, start, end, dma="D1"):
    return {"id": id_, "type": kind, "dma_id": dma, "node_id": node, "start": start, "end": end}


def test_events_get_detection_time_and_unmatched_alerts_are_false():
    events = pd.DataFrame(
        [
            _event("b1", "burst", "FM1", "2026-03-02T10:00:00Z", "2026-03-02T20:00:00Z"),
            _event("g1", "sensor_gap", "PL1", "2026-03-03T10:00:00Z", "2026-03-03T12:00:00Z"),
            _event("d1", "duplicates", "FM1", "2026-03-03T10:00:00Z", "2026-03-03T12:00:00Z"),
        ]
    )
    alerts = pd.DataFrame(
        [
            _alert(None, "D1", "burst", "2026-03-02 10:30"),  # district-level, 30 min late
            _alert("FM1", "D1", "baseline_deviation", "2026-03-02 11:00"),  # same event, later
            _alert("PL9", "D1", "pressure_drop", "2026-03-04 10:00", "pressure"),  # nothing labelled
            _alert(None, "D1", "burst", "2026-03-05 10:00"),  # nothing labelled
        ]
    )
    events_out, alerts_out = match(alerts, events)
    assert list(events_out["id"]) == ["b1", "g1"]  # import-level events are not scored here
    b1 = events_out.set_index("id").loc["b1"]
    assert b1["detected"] and b1["ttd_h"] == pytest.approx(0.5) and b1["by"] == "burst"
    assert not events_out.set_index("id").loc["g1", "detected"]
    result = summary(events_out, alerts_out, districts=1, weeks=0.5)
    assert result["false_alerts"] == 2 and result["false_per_district_week"] == pytest.approx(4.0)
    assert result["by_type"]["burst"]["precision"] == pytest.approx(2 / 3)
    assert result["by_type"]["sensor_gap"]["recall"] == 0.0


def test_a_hydraulic_symptom_elsewhere_in_the_district_is_explained_but_does_not_detect():
    # given a feed shut in district D1, measured at logger PL1
    events = pd.DataFrame([_event("p1", "pressure_drop", "PL1", "2026-03-02T06:00:00Z", "2026-03-02T09:00:00Z")])
    alerts = pd.DataFrame(
        [
            _alert("PL2", "D1", "pressure_drop", "2026-03-02 06:10", "pressure"),  # same district: a symptom
            _alert("PL7", "D2", "pressure_drop", "2026-03-02 06:10", "pressure"),  # next district: false
            _alert("QP1", "D1", "out_of_range", "2026-03-02 06:10", "free_chlorine"),  # not hydraulic: false
        ]
    )
    # when they are scored
    events_out, alerts_out = match(alerts, events)
    # then the other logger of D1 is explained by the event, but the event is not detected by it
    assert list(alerts_out["event_id"]) == ["p1", None, None]
    assert not events_out["detected"].iloc[0]
    assert summary(events_out, alerts_out, districts=2, weeks=1)["false_alerts"] == 2
