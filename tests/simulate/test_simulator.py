"""The simulator: physics consistent with its own labels, contract files, faults, DST, seeds.

One 4-day run (27-30 March 2026, over the spring DST change) is shared by the module.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from abbanoa.errors import AbbanoaError
from abbanoa.simulate.cli import parse_start
from abbanoa.simulate.scenario import plan_leaks
from abbanoa.simulate.writers import HEADERS
from tests.conftest import subprocess_env

STEP_S = 300
ROME = ZoneInfo("Europe/Rome")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, base_settings) -> Path:
    out = tmp_path_factory.mktemp("sim") / "a"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "abbanoa",
            "simulate",
            "--days",
            "4",
            "--start",
            "2026-03-27",
            "--seed",
            "7",
            "--out",
            str(out),
        ],
        env=subprocess_env(base_settings),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return out


def _read(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _parse_ts(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return None


def _clean_readings(run_dir: Path) -> dict[tuple[str, str], dict[datetime, float]]:
    """What an importer keeps: parseable, numeric, known node; duplicates absorbed."""
    known = {row["node_id"] for row in _read(run_dir / "nodes.csv")}
    series: dict[tuple[str, str], dict[datetime, float]] = defaultdict(dict)
    for row in _read(run_dir / "readings.csv"):
        ts = _parse_ts(row["timestamp"])
        try:
            value = float(row["value"])
        except ValueError:
            continue
        if ts is None or row["node_id"] not in known or value != value:
            continue
        series[(row["node_id"], row["metric"])].setdefault(ts, value)
    return series


def _labels(run_dir: Path) -> dict:
    return json.loads((run_dir / "labels.json").read_text())


def test_district_inflow_from_meter_readings_equals_consumption_plus_leaks(run_dir):
    # given the written meter readings (faults included) and the district meter directions
    series = _clean_readings(run_dir)
    truth = _read(run_dir / "truth.csv")
    meters = _read(run_dir / "district_meters.csv")
    labels = _labels(run_dir)
    start, end = _parse_ts(labels["scenario"]["start"]), _parse_ts(labels["scenario"]["end"])
    steps = int((end - start).total_seconds() // STEP_S)
    for dma in {m["dma_id"] for m in meters}:
        # when the direction-signed flows are integrated over the run
        inflow_m3 = 0.0
        for meter in (m for m in meters if m["dma_id"] == dma):
            flows = series[(meter["node_id"], "flow_rate")]
            assert len(flows) == steps, f"{meter['node_id']} has gaps in flow_rate"
            inflow_m3 += int(meter["direction"]) * sum(flows.values()) * STEP_S / 1000
        # then it equals the district's consumption plus leaks in the ground truth within 1 %
        rows = [r for r in truth if r["dma_id"] == dma]
        consumption = sum(float(r["consumption_m3"]) for r in rows)
        leaks = sum(float(r["leak_m3"]) for r in rows)
        assert abs(inflow_m3 - (consumption + leaks)) / (consumption + leaks) < 0.01, (
            dma,
            inflow_m3,
            consumption,
        )
        assert sum(float(r["inflow_m3"]) for r in rows) == pytest.approx(consumption + leaks, rel=1e-3)


def test_truth_leak_volume_matches_each_labelled_leak(run_dir):
    # given the labelled leaks and the hourly truth (leak_m3 = background leakage + labelled leaks)
    truth = _read(run_dir / "truth.csv")
    leaks = [e for e in _labels(run_dir)["events"] if e["type"] in ("burst", "growing_leak")]
    assert {e["type"] for e in leaks} == {"burst", "growing_leak"}
    assert len({e["dma_id"] for e in leaks}) == 2

    def in_a_leak(dma, ts):
        return any(
            e["dma_id"] == dma and _parse_ts(e["start"]) - timedelta(hours=1) < ts < _parse_ts(e["end"]) for e in leaks
        )

    for leak in leaks:
        dma = leak["dma_id"]
        rows = [(_parse_ts(r["ts"]), float(r["leak_m3"])) for r in truth if r["dma_id"] == dma]
        quiet = [(ts, v) for ts, v in rows if not in_a_leak(dma, ts)]
        background = {h: np.mean([v for ts, v in quiet if ts.hour == h]) for h in range(24)}
        typical = np.median([v for _, v in quiet])
        # then outside the leaks there is only a steady background leakage
        assert typical > 0 and all(0.6 * typical < v < 1.4 * typical for _, v in quiet)
        # and inside, the leak adds its labelled size: in full for a burst, growing to it otherwise
        t0, t1 = _parse_ts(leak["start"]), _parse_ts(leak["end"])
        excess = sum(v - background[ts.hour] for ts, v in rows if t0 - timedelta(hours=1) < ts < t1)
        full_m3 = leak["magnitude"] * (t1 - t0).total_seconds() / 1000
        if leak["type"] == "burst":
            assert excess == pytest.approx(full_m3, rel=0.05)
        else:
            assert 0.3 * full_m3 < excess < 0.95 * full_m3


def test_output_files_have_the_contract_headers(run_dir):
    for name, header in HEADERS.items():
        with open(run_dir / name, encoding="utf-8") as handle:
            assert tuple(next(csv.reader(handle))) == header, name
    labels = _labels(run_dir)
    assert set(labels["scenario"]) == {"seed", "start", "end", "days", "timezone"}
    keys = {"id", "type", "dma_id", "node_id", "metric", "start", "end", "magnitude", "unit", "description"}
    keys |= {"junction", "latitude", "longitude"}
    assert all(set(e) == keys for e in labels["events"])
    # a leak says where it is: its junction and that junction's position
    for leak in (e for e in labels["events"] if e["type"] in ("burst", "growing_leak")):
        assert leak["junction"] and f"junction {leak['junction']} " in leak["description"]
        assert 39.2 < leak["latitude"] < 39.3 and 9.1 < leak["longitude"] < 9.25
    nodes = _read(run_dir / "nodes.csv")
    assert {n["node_type"] for n in nodes} == {"flow_meter", "pressure_logger", "tank", "quality_probe"}
    assert all(39.2 < float(n["latitude"]) < 39.3 and 9.1 < float(n["longitude"]) < 9.25 for n in nodes)
    districts = _read(run_dir / "districts.csv")
    assert {d["name"] for d in districts} == {"Selargius", "Quartucciu"}
    assert all(20 < float(d["avg_pressure_m"]) < 100 and int(d["service_connections"]) > 0 for d in districts)


def test_every_fault_type_is_labelled_and_visible_in_the_readings(run_dir):
    labels = _labels(run_dir)["events"]
    types = {e["type"] for e in labels}
    assert types == {
        "burst",
        "growing_leak",
        "pressure_drop",
        "quality_excursion",
        "sensor_gap",
        "stuck_value",
        "spike",
        "duplicates",
        "out_of_order",
        "malformed_rows",
    }
    raw = _read(run_dir / "readings.csv")
    series = _clean_readings(run_dir)
    for event in labels:
        t0, t1 = _parse_ts(event["start"]), _parse_ts(event["end"])
        node, metric = event["node_id"], event["metric"]
        if event["type"] == "sensor_gap":
            assert not [
                r for r in raw if r["node_id"] == node and t0 <= (_parse_ts(r["timestamp"]) or t0 - timedelta(1)) < t1
            ]
        elif event["type"] == "stuck_value":
            values = {v for ts, v in series[(node, metric)].items() if t0 <= ts < t1}
            assert values == {event["magnitude"]}
        elif event["type"] == "spike":
            values = series[(node, metric)]
            jump = values[t0] - (values[t0 - timedelta(seconds=STEP_S)] + values[t1]) / 2
            assert abs(jump - event["magnitude"]) < 0.3 * abs(event["magnitude"])
        elif event["type"] == "duplicates":
            rows = [tuple(r.values()) for r in raw if r["node_id"] == node and t0 <= _parse_ts(r["timestamp"]) < t1]
            assert len(rows) == 2 * len(set(rows)) == 2 * event["magnitude"]
        elif event["type"] == "out_of_order":
            stamps = [_parse_ts(r["timestamp"]) for r in raw if r["node_id"] == node]
            assert any(b < a for a, b in zip(stamps, stamps[1:], strict=False))
        elif event["type"] == "malformed_rows":
            bad = [
                r
                for r in raw
                if _parse_ts(r["timestamp"]) is None
                or r["value"] in ("n/a", "#####", "NaN")
                or r["node_id"] in ("SEL-XX-99", "UNKNOWN-NODE")
            ]
            assert len(bad) == event["magnitude"]
        elif event["type"] == "pressure_drop":
            values = series[(node, "pressure")]
            before = np.mean([v for ts, v in values.items() if t0 - (t1 - t0) <= ts < t0])
            during = min(v for ts, v in values.items() if t0 <= ts < t1)
            assert before - during == pytest.approx(event["magnitude"], abs=0.01) and event["magnitude"] > 0.5
        elif event["type"] == "quality_excursion" and metric == "turbidity":
            assert max(v for ts, v in series[(node, metric)].items() if t0 <= ts < t1) > 2.0
            assert max(v for ts, v in series[(node, metric)].items() if not t0 <= ts < t1) < 1.0


def test_totalizer_advances_by_the_forward_flow(run_dir):
    series = _clean_readings(run_dir)
    for (node, metric), totals in series.items():
        if metric != "total_flow":
            continue
        flows = series[(node, "flow_rate")]
        stamps = sorted(totals)
        for a, b in zip(stamps, stamps[1:], strict=False):
            assert totals[b] - totals[a] == pytest.approx(max(flows[a], 0) * STEP_S / 1000, abs=2e-3)


def test_dst_day_has_23_local_hours_of_data(run_dir):
    series = _clean_readings(run_dir)
    stamps = series[("SEL-FM-01", "flow_rate")]
    local = [ts.astimezone(ROME) for ts in stamps]
    by_day = defaultdict(list)
    for lt in local:
        by_day[lt.date()].append(lt)
    day = datetime(2026, 3, 29).date()
    assert len(by_day[day]) == 23 * 12
    assert len({lt.hour for lt in by_day[day]}) == 23 and 2 not in {lt.hour for lt in by_day[day]}
    assert all(len(v) == 24 * 12 for d, v in by_day.items() if d != day)
    # and the morning peak stays at local 07-09 on both sides of the change
    truth = _read(run_dir / "truth.csv")
    for date in (datetime(2026, 3, 27).date(), datetime(2026, 3, 30).date()):
        hourly = {
            _parse_ts(r["ts"]).astimezone(ROME).hour: float(r["consumption_m3"])
            for r in truth
            if r["dma_id"] == "DMA-QRT" and _parse_ts(r["ts"]).astimezone(ROME).date() == date
        }
        assert max(hourly, key=hourly.get) in (7, 8, 19, 20)
        assert min(hourly, key=hourly.get) in (1, 2, 3, 4)


def test_same_seed_gives_identical_files_and_another_seed_does_not(run_dir, tmp_path):
    from abbanoa.simulate.run import simulate

    start = parse_start("2026-03-27", 4, "Europe/Rome")
    simulate(tmp_path / "same", 4, 7, start, "Europe/Rome")
    for name in (*HEADERS, "labels.json"):
        assert (tmp_path / "same" / name).read_bytes() == (run_dir / name).read_bytes(), name
    simulate(tmp_path / "other", 2, 8, start, "Europe/Rome")
    assert (tmp_path / "other" / "readings.csv").read_bytes() != (run_dir / "readings.csv").read_bytes()


def test_four_week_plan_has_separate_leaks_in_both_districts():
    start = datetime(2026, 10, 1, tzinfo=UTC)
    end = start + timedelta(days=28)
    hosts = {"DMA-SEL": ["a", "b"], "DMA-QRT": ["c", "d"]}
    leaks = plan_leaks(start, end, STEP_S, hosts, {"DMA-SEL": 50.0, "DMA-QRT": 30.0}, np.random.default_rng(1))
    assert len(leaks) >= 4
    assert {lk.kind for lk in leaks} == {"burst", "growing_leak"}
    assert {lk.dma_id for lk in leaks} == {"DMA-SEL", "DMA-QRT"}
    ordered = sorted(leaks, key=lambda lk: lk.start)
    assert all(b.start - a.end >= timedelta(days=1) for a, b in zip(ordered, ordered[1:], strict=False))


def test_start_that_is_not_a_date_is_a_clear_error():
    with pytest.raises(AbbanoaError, match="not an ISO"):
        parse_start("next tuesday", 3, "Europe/Rome")
    assert parse_start("2026-03-27", 3, "Europe/Rome") == datetime(2026, 3, 26, 23, tzinfo=UTC)


def test_autumn_change_day_has_25_local_hours_of_demand_following_local_time():
    from abbanoa.simulate.demand import demand_multipliers, step_times

    # given the local day of 25 October 2026 (clocks go back: 25 hours)
    start = parse_start("2026-10-25", 1, "Europe/Rome")
    end = parse_start("2026-10-26", 1, "Europe/Rome")
    times = step_times(start, int((end - start).total_seconds() // STEP_S), STEP_S)
    # when its demand multipliers are drawn
    values = demand_multipliers(times, "Europe/Rome", np.random.default_rng(3))
    # then there are 25 hours of steps and the Sunday peak is mid-morning local time, night lowest
    assert len(times) == 25 * 12
    hourly = defaultdict(list)
    for t, v in zip(times, values, strict=True):
        hourly[t.astimezone(ROME).hour].append(v)
    assert len(hourly[2]) == 24  # 02:00-03:00 happens twice
    means = {h: np.mean(v) for h, v in hourly.items()}
    assert max(means, key=means.get) in (9, 10, 11, 12, 13)
    assert min(means, key=means.get) in (2, 3, 4, 5)


def test_the_lake_pump_keeps_its_local_hours_across_the_spring_change():
    from wntr.network import LinkStatus

    from abbanoa.simulate.hydraulics import _local_schedule

    # given a run from Saturday 28 March 2026 00:00 UTC (clocks go forward on the 29th)
    start = datetime(2026, 3, 28, tzinfo=UTC)
    # when the pump schedule for three days is laid out
    schedule = _local_schedule(start, 3 * 86400, "Europe/Rome", (1, 15))
    # then it starts at 01:00 and stops at 15:00 local time every day, so an hour earlier
    # in UTC after the change
    opens = [start + timedelta(seconds=s) for s, status in schedule if status == LinkStatus.Open]
    closes = [start + timedelta(seconds=s) for s, status in schedule if status == LinkStatus.Closed]
    assert [t.astimezone(ROME).hour for t in opens + closes] == [1] * len(opens) + [15] * len(closes)
    assert [t.hour for t in opens] == [0, 0, 23, 23]
    assert [t.hour for t in closes] == [14, 13, 13]
