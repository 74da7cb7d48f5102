"""Each detector fires on its crafted case and stays silent on clean weeks of daily cycles,
including the weeks of both daylight-saving changes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from abbanoa.analytics import detectors as d
from abbanoa.analytics.bqml import create_model_sql, detect_anomalies_sql, flags_from_result
from abbanoa.analytics.config import DetectorConfig
from abbanoa.analytics.episodes import build_episodes, next_status, severity_level
from abbanoa.analytics.night_flow import minimum_night_flow, rising_night_flow
from abbanoa.errors import AbbanoaError
from tests.anomaly.series import daily_cycle, series

SPRING = ("2026-03-01", "2026-04-05")  # DST starts 2026-03-29
AUTUMN = ("2026-09-27", "2026-11-01")  # DST ends 2026-10-25


@pytest.mark.parametrize("span", [SPRING, AUTUMN], ids=["spring_dst", "autumn_dst"])
def test_clean_weeks_with_a_dst_change_raise_nothing(span):
    # given five weeks of normal daily cycles spanning a daylight-saving change
    readings = daily_cycle(*span)
    # when every detector runs up to the end of the data
    flags = d.detect_readings(readings, now=pd.Timestamp(span[1], tz="UTC"))
    # then nothing is flagged
    assert flags.empty, flags.groupby("anomaly_type").size()


def test_burst_is_detected_within_an_hour_and_pressure_drop_too():
    readings = daily_cycle(*SPRING)
    start = pd.Timestamp("2026-04-02 14:00", tz="UTC")
    readings.loc[series(readings, "fm1", "flow_rate") & (readings["ts"] >= start), "value"] += 6.0
    readings.loc[series(readings, "fm1p", "pressure") & (readings["ts"] >= start), "value"] -= 0.3
    episodes = build_episodes(d.detect_readings(readings))
    burst = episodes[episodes["anomaly_type"] == d.BURST]
    drop = episodes[episodes["anomaly_type"] == d.PRESSURE_DROP]
    assert len(burst) == 1 and len(drop) == 1
    assert start <= burst["start_ts"].iloc[0] <= start + pd.Timedelta(hours=1)
    assert start <= drop["start_ts"].iloc[0] <= start + pd.Timedelta(hours=1)
    assert burst["severity"].iloc[0] in ("high", "critical")


def test_baseline_deviation_reports_expected_value_and_ignores_a_past_anomalous_week():
    readings = daily_cycle(*SPRING)
    flow = series(readings, "fm1", "flow_rate")
    # a whole past week doubled: the median over four weeks is not moved by it
    past = (readings["ts"] >= "2026-03-09") & (readings["ts"] < "2026-03-16")
    readings.loc[flow & past, "value"] *= 2
    hour = (readings["ts"] >= "2026-04-03 01:00") & (readings["ts"] < "2026-04-03 03:00")
    readings.loc[flow & hour, "value"] += 8
    flags = d.detect_readings(readings, detectors=("baseline",))
    late = flags[flags["ts"] >= pd.Timestamp("2026-03-30", tz="UTC")]
    assert set(late["ts"]) == {
        pd.Timestamp("2026-04-03 01:00", tz="UTC"),
        pd.Timestamp("2026-04-03 02:00", tz="UTC"),
    }
    assert (late["expected"] < 15).all() and (late["observed"] > 18).all()


def test_rising_night_flow_flags_a_growing_leak_within_three_nights():
    readings = daily_cycle(*SPRING)
    flow = readings[readings["metric"] == "flow_rate"].assign(district_id="D1")
    leak_start = pd.Timestamp("2026-03-25 12:00", tz="UTC")
    grow = ((flow["ts"] - leak_start).dt.total_seconds() / 86400).clip(lower=0, upper=5) * 0.8  # l/s/day
    flow["value"] += grow
    nights = minimum_night_flow(flow[["district_id", "ts", "value"]], DetectorConfig())
    flags = rising_night_flow(nights, DetectorConfig())
    assert not flags.empty
    first = flags["ts"].min()
    assert leak_start < first <= leak_start + pd.Timedelta(days=3, hours=16)
    clean = rising_night_flow(
        minimum_night_flow(flow.assign(value=flow["value"] - grow), DetectorConfig()), DetectorConfig()
    )
    assert clean.empty


def test_night_window_is_local_time_and_one_hour_on_the_spring_forward_night():
    flow = daily_cycle("2026-03-27", "2026-03-31")
    flow = flow[flow["metric"] == "flow_rate"].assign(district_id="D1")
    nights = minimum_night_flow(flow, DetectorConfig()).set_index("night")
    assert nights.loc[pd.Timestamp("2026-03-28"), "hours"] == 2
    assert nights.loc[pd.Timestamp("2026-03-29"), "hours"] == 1
    # 04:00 local = 02:00 UTC in summer time
    assert nights.loc[pd.Timestamp("2026-03-30"), "night_end"] == pd.Timestamp("2026-03-30 02:00", tz="UTC")


def test_rising_night_flow_found_during_the_night_is_not_dated_after_the_run():
    # given a district whose night flow jumped by 6 l/s two nights before, read by a run at
    # 03:15 local (01:15Z in summer), inside the 02:00-04:00 night window
    now = pd.Timestamp("2026-04-03 01:15", tz="UTC")
    flow = daily_cycle("2026-03-10", "2026-04-04")
    flow = flow[(flow["metric"] == "flow_rate") & (flow["ts"] <= now)].assign(district_id="D1")
    flow.loc[flow["ts"] >= "2026-03-31 12:00", "value"] += 6.0
    flags = rising_night_flow(minimum_night_flow(flow, DetectorConfig()), DetectorConfig())
    tonight = flags[flags["ts"] >= pd.Timestamp("2026-04-02 23:00", tz="UTC")]
    # then tonight's flag starts at the hour its minimum was seen and ends by the run's clock
    assert len(tonight) == 1
    assert tonight["ts"].iloc[0] == pd.Timestamp("2026-04-03 00:00", tz="UTC")  # 02:00 local
    assert tonight["end_ts"].iloc[0] <= now
    # and a complete night ends with its last reading in the window (03:45 local)
    earlier = flags[flags["ts"] < pd.Timestamp("2026-04-02 23:00", tz="UTC")]
    assert not earlier.empty
    assert (earlier["end_ts"].dt.tz_convert("Europe/Rome").dt.strftime("%H:%M") == "03:45").all()


def test_a_pump_driven_meter_raises_nothing_its_districts_balance_is_judged_instead():
    from dataclasses import replace

    # given a meter on a pump link (0 or 30 l/s as a tank's level decides, at no fixed hour)
    readings = daily_cycle("2026-03-02", "2026-03-23")
    rng = np.random.default_rng(3)
    ts = readings["ts"].drop_duplicates().sort_values().reset_index(drop=True)
    on = pd.Series(np.repeat(rng.random(len(ts) // 8 + 1) < 0.5, 8)[: len(ts)], index=ts)
    flow = series(readings, "fm1", "flow_rate")
    readings.loc[flow, "value"] = np.where(on.loc[readings.loc[flow, "ts"]].to_numpy(), 30.0, 0.0)
    # when the job's per-node detectors run (steps on pressure only, as the job does)
    node = replace(DetectorConfig(), step_metrics=("pressure",))
    flags = d.detect_readings(readings, node, detectors=("baseline", "sudden", "spike"))
    # then the meter's switching is no anomaly
    assert not (flags["node_id"] == "fm1").any()
    # while the same series as a district balance (flow a step metric) is still judged
    balance = d.detect_readings(readings[flow], DetectorConfig(), detectors=("baseline", "spike"))
    assert not balance.empty


def test_out_of_physical_range_and_node_threshold_breach():
    readings = daily_cycle("2026-03-01", "2026-03-03")
    readings.loc[series(readings, "fm1p", "pressure") & (readings["ts"] == "2026-03-02 10:00"), "value"] = 40.0
    thresholds = pd.DataFrame(
        {"node_id": ["fm1"], "metric": ["flow_rate"], "low": [None], "high": [21.0], "sensitivity": [None]}
    )
    flags = d.physical_range(d.prepare(readings), thresholds)
    out = flags[flags["anomaly_type"] == d.OUT_OF_RANGE]
    assert list(out["node_id"]) == ["fm1p"] and out["observed"].iloc[0] == 40.0
    breach = flags[flags["anomaly_type"] == d.THRESHOLD]
    assert not breach.empty and (breach["observed"] > 21.0).all() and set(breach["node_id"]) == {"fm1"}


def test_sensor_faults_stuck_spike_gap_and_totalizer_backwards():
    readings = daily_cycle("2026-03-01", "2026-03-08")
    flow = series(readings, "fm1", "flow_rate")
    stuck = (readings["ts"] >= "2026-03-05 06:00") & (readings["ts"] < "2026-03-05 14:00")
    readings.loc[flow & stuck, "value"] = 17.25
    readings.loc[series(readings, "fm1p", "pressure") & (readings["ts"] == "2026-03-06 09:00"), "value"] = 9.0
    gap = (
        series(readings, "fm1p", "pressure")
        & (readings["ts"] >= "2026-03-04 03:00")
        & (readings["ts"] < "2026-03-04 07:00")
    )
    readings = readings[~gap]
    total = pd.DataFrame(
        {
            "node_id": "fm1",
            "metric": "total_flow",
            "ts": pd.date_range("2026-03-01", periods=10, freq="1h", tz="UTC"),
            "value": [100, 110, 120, 130, 90, 100, 110, 120, 130, 140],
        }
    )
    flags = d.detect_readings(pd.concat([readings, total]), detectors=("stuck", "spike", "gap", "totalizer"))
    episodes = build_episodes(flags)
    by_type = episodes.groupby("anomaly_type")
    assert set(by_type.groups) == {d.STUCK, d.SPIKE, d.GAP, d.TOTALIZER}
    s = episodes[episodes["anomaly_type"] == d.STUCK].iloc[0]
    assert s["start_ts"] == pd.Timestamp("2026-03-05 06:00", tz="UTC")
    assert s["end_ts"] == pd.Timestamp("2026-03-05 13:45", tz="UTC")
    g = episodes[episodes["anomaly_type"] == d.GAP].iloc[0]
    assert (g["start_ts"], g["end_ts"]) == (
        pd.Timestamp("2026-03-04 02:45", tz="UTC"),
        pd.Timestamp("2026-03-04 07:00", tz="UTC"),
    )
    assert episodes[episodes["anomaly_type"] == d.SPIKE].iloc[0]["observed"] == 9.0
    assert episodes[episodes["anomaly_type"] == d.TOTALIZER].iloc[0]["observed"] == 90


def test_a_silent_sensor_is_an_open_gap_until_now():
    readings = daily_cycle("2026-03-01", "2026-03-02")
    flags = d.sensor_gap(d.prepare(readings), DetectorConfig(), now=pd.Timestamp("2026-03-02 06:00", tz="UTC"))
    assert set(flags["node_id"]) == {"fm1", "fm1p"}
    assert (flags["end_ts"] == pd.Timestamp("2026-03-02 06:00", tz="UTC")).all()


def test_a_long_anomaly_is_one_episode_with_severity_growing_with_duration():
    readings = daily_cycle("2026-03-01", "2026-03-08")
    flow = series(readings, "fm1", "flow_rate")
    readings.loc[flow & (readings["ts"] >= "2026-03-03 00:00") & (readings["ts"] < "2026-03-04 12:00"), "value"] = 3.0
    episodes = build_episodes(d.detect_readings(readings, detectors=("stuck",)))
    assert len(episodes) == 1
    assert episodes["points"].iloc[0] > 100
    assert episodes["severity"].iloc[0] == "high"


def test_node_sensitivity_silences_or_sharpens_one_node():
    readings = daily_cycle("2026-03-01", "2026-03-03")
    readings.loc[series(readings, "fm1p", "pressure") & (readings["ts"] == "2026-03-02 09:00"), "value"] += 0.35
    quiet = pd.DataFrame(
        {"node_id": ["fm1p"], "metric": ["pressure"], "low": [None], "high": [None], "sensitivity": [0.5]}
    )
    keen = quiet.assign(sensitivity=2.0)
    assert d.spike(d.prepare(readings), DetectorConfig(), quiet).empty
    assert d.spike(d.prepare(readings), DetectorConfig()).empty
    assert not d.spike(d.prepare(readings), DetectorConfig(), keen).empty


def test_severity_rules_and_status_life_cycle():
    assert severity_level(d.BASELINE, 1.2, 0.0) == 0
    assert severity_level(d.BASELINE, 4.0, 2.0) == 2
    assert severity_level(d.BURST, 1.0, 0.0) == 2
    assert severity_level(d.SPIKE, 50.0, 0.0) == 1
    assert severity_level(d.RISING_MNF, 1.2, 48.0, points=3) == 2
    assert next_status("open", "acknowledge") == "acknowledged"
    assert next_status("acknowledged", "resolve") == "resolved"
    with pytest.raises(AbbanoaError):
        next_status("resolved", "acknowledge")


def test_bigquery_ml_sql_uses_arima_plus_per_series_and_bound_parameters():
    create = create_model_sql("proj.water_network")
    assert "model_type = 'ARIMA_PLUS'" in create
    assert "time_series_id_col = ['node_id', 'metric']" in create
    assert "CREATE OR REPLACE MODEL `proj.water_network.anomaly_arima`" in create
    assert "@until" in create
    detect = detect_anomalies_sql("proj.water_network", 0.95)
    assert "ML.DETECT_ANOMALIES(" in detect and "STRUCT(0.95 AS anomaly_prob_threshold)" in detect
    assert "@since" in detect and "@until" in detect and "WHERE is_anomaly" in detect
    with pytest.raises(ValueError):
        detect_anomalies_sql("p.d", 1.5)
    result = pd.DataFrame(
        {
            "node_id": ["n"],
            "metric": ["pressure"],
            "ts": ["2026-03-01T10:00:00Z"],
            "observed": [3.0],
            "expected": [4.0],
            "lower_bound": [3.5],
            "upper_bound": [4.5],
            "anomaly_probability": [0.999],
        }
    )
    flags = flags_from_result(result)
    assert flags["score"].iloc[0] == pytest.approx(-2.0)


def test_a_return_to_normal_after_an_odd_spell_is_not_a_pressure_drop():
    # given pressure that stood 0.4 bar above its usual level for four hours, then came back
    readings = daily_cycle(*SPRING)
    pressure = series(readings, "fm1p", "pressure")
    odd = (readings["ts"] >= "2026-04-02 01:00") & (readings["ts"] < "2026-04-02 05:00")
    readings.loc[pressure & odd, "value"] += 0.4
    # when the sudden-change detector runs
    flags = d.detect_readings(readings, detectors=("sudden",))
    # then the step back down is not a drop: the new level is the expected one
    assert flags.empty, flags
    # while the same step down from the usual level, to below it, is one
    readings.loc[pressure & odd, "value"] -= 0.8
    flags = d.detect_readings(readings, detectors=("sudden",))
    assert set(flags["anomaly_type"]) == {d.PRESSURE_DROP}
    assert flags["ts"].min() < pd.Timestamp("2026-04-02 02:00", tz="UTC")


def test_the_last_reading_before_a_pump_start_is_not_a_spike():
    # given a flow that sags for half an hour and then jumps when a pump starts (a step)
    ts = pd.date_range("2026-03-02", periods=48, freq="5min", tz="UTC")
    value = [60.0] * 20 + [58.0, 57.0, 56.0, 53.0, 50.0] + [190.0] * 23
    readings = pd.DataFrame({"node_id": "fm", "metric": "flow_rate", "ts": ts, "value": value})
    assert d.detect_readings(readings, detectors=("spike",)).empty
    # while one reading off on its own, with its neighbours on both sides level, is a spike
    readings.loc[10, "value"] = 20.0
    flags = d.detect_readings(readings, detectors=("spike",))
    assert flags["ts"].tolist() == [ts[10]] and flags["score"].iloc[0] < 0


def test_on_a_new_sensors_second_day_a_drop_is_seen_against_the_first_day():
    # given a logger installed on a Monday, whose pressure drops 0.3 bar on Tuesday afternoon
    readings = daily_cycle("2026-03-02", "2026-03-03 18:00")
    drop = pd.Timestamp("2026-03-03 14:00", tz="UTC")
    readings.loc[series(readings, "fm1p", "pressure") & (readings["ts"] >= drop), "value"] -= 0.3
    # when the detectors run
    flags = d.detect_readings(readings, detectors=("baseline", "sudden"))
    # then the drop is found within the hour against Monday's same hours, while one day is
    # not reference enough to judge whole hours as deviations
    drops = flags[flags["anomaly_type"] == d.PRESSURE_DROP]
    assert not drops.empty and drop <= drops["ts"].min() <= drop + pd.Timedelta(hours=1)
    assert set(flags["anomaly_type"]) == {d.PRESSURE_DROP}


def test_metric_sensitivity_from_the_settings_sharpens_or_dulls_one_metric():
    from abbanoa.settings import Settings

    # given a 0.12 bar drop: below the default step threshold of this quiet logger's spread
    readings = daily_cycle(*SPRING)
    start = pd.Timestamp("2026-04-02 14:00", tz="UTC")
    readings.loc[series(readings, "fm1p", "pressure") & (readings["ts"] >= start), "value"] -= 0.12
    default = DetectorConfig.from_settings(Settings.from_env({}))
    sharp = DetectorConfig.from_settings(Settings.from_env({"ANOMALY_SENSITIVITY": "pressure=2, flow_rate=0.5"}))
    assert sharp.sensitivity("pressure") == 2.0 and sharp.sensitivity("flow_rate") == 0.5
    # when the step detector runs with each, then only the sharpened pressure sees it
    assert d.detect_readings(readings, default, detectors=("sudden",)).empty
    drops = d.detect_readings(readings, sharp, detectors=("sudden",))
    assert set(drops["anomaly_type"]) == {d.PRESSURE_DROP} and (drops["threshold"] == 2.0).all()
