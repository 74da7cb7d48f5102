"""Leak scenarios on any EPANET network, for evaluating leak localisation (issue 20).

The same path as the district simulator (abbanoa.simulate.hydraulics): EPANET through
WNTR with pressure-driven demand, the local-time household demand profile of
abbanoa.simulate.demand (one pattern per zone of the network, so the districts' parts do
not move in lock-step), a leak as a pressure-driven demand on its own junction one metre
off a host junction (a step for a burst, a ramp for a growing leak), and logger noise of
the simulator's pressure loggers. The "true" network differs from the model handed to the
localisation by a random +-10 % on every pipe's roughness (a calibrated model is never
exact).
"""

from __future__ import annotations

import contextlib
import copy
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from abbanoa.simulate.demand import demand_multipliers, step_times

BAR_PER_M = 0.0980665  # 1 m of water head in bar
LOGGER_NOISE_BAR = 0.004  # as the district simulator's pressure loggers
ZONES = 4
ROUGHNESS_ERROR = 0.10
REQUIRED_PRESSURE_M = 20.0


@dataclass
class LeakRun:
    network: str
    seed: int
    kind: str  # burst | growing_leak
    junction: str
    size_lps: float
    start: pd.Timestamp  # leak start (UTC)
    onset: pd.Timestamp  # when detection would flag it (burst: start; growing: a day later)
    pressure: pd.DataFrame  # logger junction, ts, value (bar)


def load(name: str):
    """A network shipped with WNTR (Net1, Net2, Net3, Net6, ky4, ky10...) or a path."""
    from importlib.resources import files

    import wntr

    path = name if os.path.exists(name) else str(files("wntr") / "library" / "networks" / f"{name}.inp")
    return wntr.network.WaterNetworkModel(path)


def place_loggers(wn, count: int, rng: np.random.Generator) -> list[str]:
    """`count` junctions spread over the network (farthest-point sampling from a random start)."""
    names = list(wn.junction_name_list)
    xy = np.array([wn.get_node(n).coordinates for n in names], dtype=float)
    chosen = [int(rng.integers(len(names)))]
    dist = np.linalg.norm(xy - xy[chosen[0]], axis=1)
    while len(chosen) < min(count, len(names)):
        nxt = int(np.argmax(dist))
        chosen.append(nxt)
        dist = np.minimum(dist, np.linalg.norm(xy - xy[nxt], axis=1))
    return [names[i] for i in chosen]


def metres_per_unit(wn) -> float:
    """The model's coordinate unit in metres, from its pipes (median length / drawn length)."""
    ratios = []
    for _, pipe in wn.pipes():
        a, b = wn.get_node(pipe.start_node_name).coordinates, wn.get_node(pipe.end_node_name).coordinates
        drawn = float(np.hypot(a[0] - b[0], a[1] - b[1]))
        if drawn > 0:
            ratios.append(pipe.length / drawn)
    return float(np.median(ratios)) if ratios else 1.0


def _zones(wn, rng) -> dict[str, int]:
    names = list(wn.junction_name_list)
    xy = np.array([wn.get_node(n).coordinates for n in names], dtype=float)
    seeds = xy[rng.choice(len(names), size=min(ZONES, len(names)), replace=False)]
    zone = np.argmin(((xy[:, None, :] - seeds[None, :, :]) ** 2).sum(axis=2), axis=1)
    return dict(zip(names, map(int, zone), strict=True))


def simulate_leak(
    model,
    *,
    network: str,
    loggers: list[str],
    junction: str,
    kind: str,
    size_lps: float,
    seed: int,
    start: datetime,
    leak_day: float,
    step_s: int = 900,
    window_h: float = 6.0,
    timezone: str = "Europe/Rome",
) -> LeakRun:
    """Simulate the network with one leak at `junction` from `leak_day` days after `start`;
    the loggers' pressures (bar, with noise) until `window_h` after the onset."""
    import wntr
    from wntr.network.controls import SimTimeCondition

    rng = np.random.default_rng(seed)
    wn = copy.deepcopy(model)
    leak_start = start + timedelta(seconds=int(leak_day * 86400) // step_s * step_s)
    onset = leak_start + (timedelta(days=1) if kind == "growing_leak" else timedelta(0))
    end = onset + timedelta(hours=window_h)
    n = int((end - start).total_seconds() // step_s) + 1
    times = step_times(start, n, step_s)
    opts = wn.options
    opts.time.duration = (n - 1) * step_s
    for attr in ("hydraulic_timestep", "pattern_timestep", "report_timestep", "quality_timestep", "rule_timestep"):
        setattr(opts.time, attr, step_s)
    opts.time.start_clocktime = 0
    opts.time.pattern_start = 0
    opts.quality.parameter = "NONE"
    opts.hydraulic.demand_model = "PDD"
    opts.hydraulic.required_pressure = REQUIRED_PRESSURE_M
    opts.hydraulic.minimum_pressure = 0.0
    # absolute-time controls are written for the model's own horizon (often a week from a
    # clock of its own); they would act at arbitrary hours of this run
    for name in list(wn.control_name_list):
        if isinstance(wn.get_control(name).condition, SimTimeCondition):
            wn.remove_control(name)
    zones = _zones(wn, rng)
    for z in range(ZONES):
        wn.add_pattern(f"zone-{z}", list(map(float, demand_multipliers(times, timezone, rng))))
    for name in wn.junction_name_list:
        demands = wn.get_node(name).demand_timeseries_list
        total = sum(d.base_value for d in demands)
        while len(demands) > 1:
            del demands[-1]
        demands[0].base_value = total
        demands[0].pattern_name = f"zone-{zones[name]}"
    for _, pipe in wn.pipes():
        pipe.roughness = pipe.roughness * float(rng.uniform(1 - ROUGHNESS_ERROR, 1 + ROUGHNESS_ERROR))
    profile = []
    for t in times:
        if t < leak_start:
            profile.append(0.0)
        elif kind == "burst":
            profile.append(1.0)
        else:  # growing: 3 % at the start, full size after three days
            profile.append(min(1.0, 0.03 + (t - leak_start).total_seconds() / (3 * 86400)))
    host = wn.get_node(junction)
    wn.add_pattern("leak", profile)
    wn.add_junction(
        "leak-node",
        base_demand=size_lps / 1000.0,
        demand_pattern="leak",
        elevation=host.elevation,
        coordinates=host.coordinates,
    )
    wn.add_pipe("leak-pipe", junction, "leak-node", length=1.0, diameter=0.3, roughness=130)
    # EPANET writes its scratch files (enXXXXXX) into the working directory: run inside tmp
    with tempfile.TemporaryDirectory(prefix="abbanoa-leak-") as tmp, contextlib.chdir(tmp):
        results = wntr.sim.EpanetSimulator(wn).run_sim(file_prefix=os.path.join(tmp, "run"))
    p = results.node["pressure"][loggers].iloc[:n].to_numpy() * BAR_PER_M
    p = np.round(p + rng.normal(0.0, LOGGER_NOISE_BAR, p.shape), 3)
    stamps = pd.DatetimeIndex(times).tz_convert("UTC")
    frame = pd.DataFrame(p, index=stamps, columns=loggers).rename_axis("ts").reset_index()
    long = frame.melt(id_vars="ts", var_name="node_id", value_name="value")
    return LeakRun(network, seed, kind, junction, size_lps, pd.Timestamp(leak_start), pd.Timestamp(onset), long)


def mean_demand_lps(wn) -> float:
    """Sum of the junctions' base demands, l/s."""
    return 1000.0 * sum(sum(d.base_value for d in wn.get_node(n).demand_timeseries_list) for n in wn.junction_name_list)


def pipe_distances(wn, source: str) -> dict[str, float]:
    """Shortest distance along pipes (m) from `source` to every node."""
    import networkx as nx

    graph = nx.Graph()
    for _, link in wn.links():
        length = getattr(link, "length", 0.0) or 0.0
        graph.add_edge(link.start_node_name, link.end_node_name, weight=float(length))
    return nx.single_source_dijkstra_path_length(graph, source, weight="weight")
