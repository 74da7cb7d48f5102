"""`simulate --network`: any EPANET network as metered districts with sensors, its labels in
the documented format, its water balance closed by the meters."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from abbanoa.__main__ import main
from abbanoa.errors import AbbanoaError
from abbanoa.evaluation.evaluate_labels import load_labels
from abbanoa.simulate import networks
from abbanoa.simulate.cli import parse_start
from abbanoa.simulate.demand import demand_multipliers
from abbanoa.simulate.run import Options, simulate


@pytest.mark.parametrize("name", networks.SHIPPED)
def test_every_shipped_network_becomes_districts_whose_every_edge_is_metered(name):
    # given a network WNTR ships, cut into districts from its topology
    network = networks.build(name)
    wn = network.wn
    dma_of = {j: d for d, x in network.districts.items() for j in x.junctions}
    metered = {(link, d) for d, x in network.districts.items() for link, _, _ in x.meters}
    # then every link with one end in a district (and the other elsewhere) carries its meter
    for link_name, link in wn.links():
        a, b = dma_of.get(link.start_node_name), dma_of.get(link.end_node_name)
        for district in {a, b} - {None}:
            if a != b:
                assert (link_name, district) in metered, (name, link_name)
    # and every district has a pressure logger and a quality probe; about 60 junctions each
    for district in network.districts:
        kinds = {s.node_type for s in network.sensors if s.dma_id == district}
        assert {"pressure_logger", "quality_probe"} <= kinds
    assert len(network.districts) == networks.default_districts(wn.num_junctions)
    assert len({s.node_id for s in network.sensors}) == len(network.sensors)


def test_sensor_density_is_configurable_and_a_given_partition_is_used(tmp_path):
    sparse = networks.build("ky10", logger_density=0.02)
    dense = networks.build("ky10", logger_density=0.2)
    count = lambda n: sum(s.node_type == "pressure_logger" for s in n.sensors)  # noqa: E731
    assert count(dense) > 5 * count(sparse) >= 5 * len(sparse.districts)
    wn = networks.load(networks.resolve("Net3"))
    given = tmp_path / "zones.csv"
    with open(given, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["junction", "dma_id"])
        for i, junction in enumerate(sorted(wn.junction_name_list)):
            writer.writerow([junction, "NORTH" if i % 2 else "SOUTH"])
    zoned = networks.build("Net3", partition_file=given)
    assert set(zoned.districts) == {"NORTH", "SOUTH"}
    with pytest.raises(AbbanoaError, match="not an .inp file, nor one of"):
        networks.build("Net7")


def test_a_short_run_on_net1_closes_its_water_balance_and_labels_where_leaks_are(tmp_path):
    # given two days of Net1 (one district fed by a pump and a tank) read every 15 minutes
    start = parse_start("2026-12-07", 2, "Europe/Rome")
    summary = simulate(tmp_path, 2, 5, start, "Europe/Rome", Options(network="Net1", interval_min=15))
    readings = pd.read_csv(tmp_path / "readings.csv")
    readings = readings[pd.to_numeric(readings["value"], errors="coerce").notna()]
    readings = readings[pd.to_datetime(readings["timestamp"], errors="coerce", utc=True).notna()]
    readings["ts"] = pd.to_datetime(readings["timestamp"], utc=True)
    # then readings come every 15 minutes
    flows = readings[readings["metric"] == "flow_rate"].drop_duplicates(["node_id", "ts"])
    steps = flows.sort_values("ts").groupby("node_id")["ts"].diff().dropna().dt.total_seconds()
    assert steps.median() == 900
    # and the district's inflow integrated from its meters equals consumption + leaks (truth)
    meters = pd.read_csv(tmp_path / "district_meters.csv")
    flows = flows.merge(meters, on="node_id")
    flows["value"] = flows["value"].astype(float) * flows["direction"]
    inflow_m3 = flows.groupby("ts")["value"].sum().sum() * 900 / 1000
    truth = pd.read_csv(tmp_path / "truth.csv")
    assert inflow_m3 == pytest.approx(truth["inflow_m3"].sum(), rel=0.02)
    assert truth["inflow_m3"].sum() == pytest.approx((truth["consumption_m3"] + truth["leak_m3"]).sum(), rel=0.01)
    # and its labels are in the documented format, each leak with its junction and position
    scenario, events = load_labels(tmp_path / "labels.json")
    assert scenario["network"] == "Net1" and summary.events == len(events)
    leaks = events[events["type"].isin(["burst", "growing_leak"])]
    assert len(leaks) == 2 and leaks["junction"].notna().all()
    assert leaks["latitude"].between(39.1, 39.4).all() and leaks["longitude"].between(9.0, 9.3).all()
    # leaks start at whatever hour the seed gives, not at fixed fractions of the run
    assert not (leaks["start"].dt.minute % 15).any()


def test_leaks_on_a_large_run_start_at_every_hour_of_the_day():
    from abbanoa.simulate.scenario import plan_any_network

    start = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    hosts = {f"DMA-{i:02d}": ["j1", "j2"] for i in range(1, 13)}
    hours = set()
    for seed in range(6):
        leaks, _ = plan_any_network(
            start,
            start + dt.timedelta(days=28),
            900,
            hosts,
            dict.fromkeys(hosts, 10.0),
            dict.fromkeys(hosts, ["a", "b"]),
            np.random.default_rng(seed),
        )
        hours |= {leak.start.hour for leak in leaks}
        assert all(leak.start >= start + dt.timedelta(days=7) for leak in leaks)
    assert len(hours) >= 20


def test_public_holidays_follow_the_sunday_profile():
    # Tuesday 8 December 2026 (Immaculate Conception) against Tuesday 1 December, 08:00 local
    rome = dt.timezone(dt.timedelta(hours=1))
    times = [dt.datetime(2026, 12, d, 8, tzinfo=rome).astimezone(dt.UTC) for d in (1, 6, 8)]
    rng = np.random.default_rng(1)
    workday, sunday, holiday = demand_multipliers(times, "Europe/Rome", rng)
    assert holiday / sunday == pytest.approx(1.0, abs=0.2) and workday / holiday > 1.2  # profiles 1.65 vs 0.80 at 08:00


def test_network_options_without_a_network_are_a_one_line_error(tmp_path, capsys):
    assert main(["simulate", "--days", "1", "--out", str(tmp_path), "--districts", "3"]) == 1
    assert (
        capsys.readouterr().err.strip()
        == "error: --districts, --partition, --interval and --hydraulic-step need --network"
    )
    assert main(["simulate", "--days", "1", "--out", str(tmp_path), "--network", str(Path(tmp_path) / "x.inp")]) == 1
    assert "not an .inp file" in capsys.readouterr().err
