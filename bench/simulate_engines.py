"""Simulator timing: EPANET toolkit (EpanetSimulator) vs WNTR's pure-Python WNTRSimulator.

Prints the seconds each engine takes for the same configured network and the ratio.
Usage: python bench/simulate_engines.py [DAYS]   (default 2)
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta

import numpy as np

from abbanoa.simulate import hydraulics
from abbanoa.simulate.demand import demand_multipliers, step_times
from abbanoa.simulate.network import build_network
from abbanoa.simulate.scenario import plan_episodes, plan_leaks


def configured(days: int):
    start = datetime(2026, 3, 26, 23, tzinfo=UTC)
    end = start + timedelta(days=days)
    times = step_times(start, int((end - start).total_seconds() // 300), 300)
    rng = np.random.default_rng(1)
    network = build_network()
    patterns = {a: demand_multipliers(times, "Europe/Rome", rng) for a in [*network.districts, "trunk"]}
    hosts = {d: sorted(x.junctions) for d, x in network.districts.items()}
    leaks = plan_leaks(start, end, 300, hosts, {"DMA-SEL": 50.0, "DMA-QRT": 34.0}, rng)
    episodes = plan_episodes(start, end, 300)
    hydraulics._configure(network, len(times), 300, start, patterns, leaks, times, episodes)
    return network.wn


def main() -> None:
    import wntr

    days = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    wn = configured(days)
    began = time.perf_counter()
    wntr.sim.EpanetSimulator(wn).run_sim(file_prefix="/tmp/abbanoa-bench-epanet")
    epanet_s = time.perf_counter() - began
    wn = configured(days)
    wn.options.quality.parameter = "NONE"  # WNTRSimulator is hydraulics only
    began = time.perf_counter()
    wntr.sim.WNTRSimulator(wn).run_sim()
    python_s = time.perf_counter() - began
    print(
        f"{days} days, 5-min steps: EpanetSimulator {epanet_s:.2f} s (hydraulics + water age), "
        f"WNTRSimulator {python_s:.2f} s (hydraulics only); ratio {python_s / epanet_s:.0f}x"
    )


if __name__ == "__main__":
    main()
