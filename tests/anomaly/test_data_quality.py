"""Data quality per node, metric and local day, and its alerts."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from abbanoa.analytics.data_quality import daily_quality, problems
from abbanoa.jobs import data_quality
from abbanoa.jobs.base import JobContext
from abbanoa.stores import postgres

# 22:00 in Rome: the 20 hours before lie within the same local day (none is a day the
# series began part-way through, which would be an incomplete, "broken", day)
EVENING = dt.datetime(2026, 11, 20, 21, 0, tzinfo=dt.UTC)


def _series(start, end, node="F1", metric="flow_rate", value=10.0, freq="15min"):
    ts = pd.date_range(start, end, freq=freq, tz="Europe/Rome", inclusive="left").tz_convert("UTC")
    return pd.DataFrame({"node_id": node, "metric": metric, "ts": ts, "value": value})


def test_completeness_counts_the_23_hour_day_and_duplicates_lower_consistency():
    # given the spring-forward day (23 h) complete at 15 min, with one duplicated row
    frame = _series("2026-03-29", "2026-03-30")
    frame = pd.concat([frame, frame.iloc[[5]]], ignore_index=True)
    q = daily_quality(frame, pd.Timestamp("2026-03-30 00:00", tz="Europe/Rome")).iloc[0]
    assert (q["expected"], q["received"], q["duplicates"]) == (92, 92, 1)
    assert q["completeness"] == 1.0 and q["consistency"] < 1.0


def _noisy(frame, seed=1, scale=0.01):
    rng = np.random.default_rng(seed)
    return frame.assign(value=frame["value"] + rng.normal(0, scale, len(frame)).round(3))


def test_out_of_range_values_lower_validity_a_half_empty_day_is_broken_and_silence_is_stale():
    frame = _noisy(_series("2026-03-02", "2026-03-03", metric="pressure", value=4.0))
    frame.loc[:9, "value"] = 99.0 + np.arange(10)  # beyond 25 bar
    # F2 reports one reading in four on the 2nd, then falls silent at 10:15
    half = _noisy(_series("2026-03-02", "2026-03-02 10:00", node="F2", freq="60min"), seed=2)
    tail = _noisy(_series("2026-03-02 10:00", "2026-03-02 10:16", node="F2"), seed=3)
    whole = _noisy(_series("2026-03-01", "2026-03-02", node="F2"), seed=4)
    q = daily_quality(pd.concat([frame, half, tail, whole]), pd.Timestamp("2026-03-03 00:30", tz="Europe/Rome"))
    p1 = q[q["node_id"] == "F1"].iloc[0]
    assert p1["validity"] == (96 - 10) / 96
    found = problems(q, dt.date(2026, 3, 3))
    assert set(zip(found["node_id"], found["day"].astype(str), found["problem"], strict=True)) == {
        ("F1", "2026-03-02", "broken_sensor"),
        ("F2", "2026-03-02", "broken_sensor"),  # 12 of the 42 readings due before it fell silent
        ("F2", "2026-03-03", "stale_sensor"),  # silent since 10:15 yesterday
    }


def test_a_window_without_readings_reports_the_silent_series_as_stale_and_nothing_breaks():
    # given no reading in the window, one series known from latest_readings (30 h ago)
    now = pd.Timestamp("2026-03-03 06:00", tz="Europe/Rome")
    empty = pd.DataFrame(columns=["node_id", "metric", "ts", "value"])
    latest = pd.DataFrame({"node_id": ["P1"], "metric": ["pressure"], "ts": [now - pd.Timedelta(hours=30)]})
    # when its quality is computed, then it is stale today (and an empty window alone is no error)
    q = daily_quality(empty, now, latest=latest)
    found = problems(q, dt.date(2026, 3, 3))
    assert list(zip(found["node_id"], found["problem"], strict=True)) == [("P1", "stale_sensor")]
    assert found["staleness_s"].iloc[0] == 30 * 3600
    assert problems(daily_quality(empty, now), dt.date(2026, 3, 3)).empty
    # and a latest reading after the replayed `now` does not hide that silence
    later = latest.assign(ts=[now + pd.Timedelta(hours=5)])
    assert problems(daily_quality(empty, now, latest=later), dt.date(2026, 3, 3))["problem"].tolist() == [
        "stale_sensor"
    ]


def test_a_six_hour_gap_and_a_twelve_hour_stuck_logger_raise_one_alert_each():
    # given yesterday's readings of three loggers: one with a 6 h hole, one frozen for 12 h
    day = _noisy(_series("2026-03-02", "2026-03-03 05:00", metric="pressure", value=4.0))
    gap = day.assign(node_id="G1")
    gap = gap[~gap["ts"].between(pd.Timestamp("2026-03-02 08:00Z"), pd.Timestamp("2026-03-02 14:00Z"))]
    stuck = day.assign(node_id="S1")
    frozen = stuck["ts"].between(pd.Timestamp("2026-03-02 06:00Z"), pd.Timestamp("2026-03-02 18:00Z"))
    stuck.loc[frozen, "value"] = 3.912
    q = daily_quality(pd.concat([day, gap, stuck]), pd.Timestamp("2026-03-03 06:00", tz="Europe/Rome"))
    # when its problems are listed, then the gap and the frozen logger are found, the healthy one not
    found = problems(q, dt.date(2026, 3, 3))
    assert set(zip(found["node_id"], found["problem"], found["severity"], strict=True)) == {
        ("G1", "data_gap", "medium"),
        ("S1", "stuck_sensor", "medium"),
    }
    assert found.set_index("node_id").loc["G1", "longest_gap_s"] == pytest.approx(6.5 * 3600)  # 07:45 to 14:15
    assert found.set_index("node_id").loc["S1", "longest_flat_s"] == pytest.approx(12 * 3600)


def test_a_partial_last_day_of_data_is_stale_not_one_broken_sensor_per_series():
    # given 106 series whose data ends at 09:00 yesterday (an export cut short)
    frames = [
        _noisy(_series("2026-03-01", "2026-03-02 09:00", node=f"P{i}", metric="pressure", value=4.0), seed=i)
        for i in range(106)
    ]
    q = daily_quality(pd.concat(frames), pd.Timestamp("2026-03-03 06:00", tz="Europe/Rome"))
    # when its problems are listed, then no day is broken: each series is stale, once
    found = problems(q, dt.date(2026, 3, 3))
    assert found["problem"].value_counts().to_dict() == {"stale_sensor": 106}


def test_totalizer_that_disagrees_with_integrated_flow_is_inconsistent():
    flow = _series("2026-03-02", "2026-03-03", value=10.0)  # 10 l/s = 864 m3/day
    total = flow.assign(metric="total_flow", value=[i * 9.0 for i in range(len(flow))])  # 9 m3 / 15 min = 864
    good = daily_quality(pd.concat([flow, total]), pd.Timestamp("2026-03-03", tz="UTC"))
    bad = daily_quality(pd.concat([flow, total.assign(value=total["value"] * 2)]), pd.Timestamp("2026-03-03", tz="UTC"))
    pick = lambda q: q[q["metric"] == "total_flow"]["consistency"].iloc[0]  # noqa: E731
    assert pick(good) > 0.98 and pick(bad) < 0.6


def test_stale_sensor_raises_one_data_quality_alert_across_reruns(db, settings, pubsub_project):
    now = EVENING
    ts = pd.date_range(now - dt.timedelta(hours=20), now - dt.timedelta(hours=8), freq="15min")
    with db.begin() as conn:
        conn.execute(sa.text("SELECT ensure_readings_partitions(:a, :b)"), {"a": ts[0], "b": now})
        conn.execute(sa.text("INSERT INTO tenants (tenant_id, name) VALUES ('abbanoa', 'Abbanoa')"))
        conn.execute(sa.text("INSERT INTO nodes (node_id, tenant_id) VALUES ('Q1', 'abbanoa')"))
        postgres.copy_rows(
            conn,
            "readings",
            ["node_id", "metric", "ts", "value"],
            [("Q1", "ph", t, 7.4 + i % 3 / 100) for i, t in enumerate(ts)],
        )
    for _ in range(2):
        data_quality.run(JobContext("data_quality", settings, now=now))
    with db.begin() as conn:
        alerts = conn.execute(sa.text("SELECT alert_type, source, published_at FROM alerts")).all()
        rows = conn.execute(sa.text("SELECT count(*) FROM data_quality WHERE node_id = 'Q1'")).scalar()
    assert [(a.alert_type, a.source) for a in alerts] == [("stale_sensor", "data_quality")]
    assert alerts[0].published_at is not None
    assert rows >= 1


def test_a_district_gone_stale_is_one_alert_and_a_lone_stale_sensor_its_own(db, settings, pubsub_project):
    # given districts D1 (three loggers, all silent for 8 h) and D2 (three loggers, one silent)
    now = EVENING
    live = pd.date_range(now - dt.timedelta(hours=20), now, freq="15min")
    with db.begin() as conn:
        conn.execute(sa.text("SELECT ensure_readings_partitions(:a, :b)"), {"a": live[0], "b": now})
        conn.execute(sa.text("INSERT INTO tenants (tenant_id, name) VALUES ('abbanoa', 'Abbanoa')"))
        rows = []
        for district in ("D1", "D2"):
            conn.execute(
                sa.text("INSERT INTO districts (district_id, tenant_id, name) VALUES (:d, 'abbanoa', :d)"),
                {"d": district},
            )
            for i in range(3):
                node = f"{district}-P{i}"
                conn.execute(
                    sa.text("INSERT INTO nodes (node_id, tenant_id, district_id) VALUES (:n, 'abbanoa', :d)"),
                    {"n": node, "d": district},
                )
                silent = district == "D1" or i == 0
                rows += [
                    (node, "pressure", t, 3.0 + j % 5 / 1000)
                    for j, t in enumerate(live)
                    if not silent or t < now - dt.timedelta(hours=8)
                ]
        postgres.copy_rows(conn, "readings", ["node_id", "metric", "ts", "value"], rows)
    # when the data-quality job runs
    data_quality.run(JobContext("data_quality", settings, now=now))
    # then D1 is one district alert and D2's silent logger one sensor alert
    with db.begin() as conn:
        alerts = conn.execute(sa.text("SELECT alert_type, payload FROM alerts ORDER BY alert_type")).all()
    assert [a.alert_type for a in alerts] == ["stale_district", "stale_sensor"]
    assert alerts[0].payload["district_id"] == "D1" and alerts[0].payload["series"] == 3
    assert alerts[1].payload["node_id"] == "D2-P0"
