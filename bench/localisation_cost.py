"""What leak localisation adds to a detection tick on a ~1,000-junction model (issue 20).

    .venv/bin/python bench/localisation_cost.py [--network ky4] [--loggers 32 95] [--repeat 5]

Per logger count: the stored model's sensitivity matrix (959 x loggers for ky4) is
computed once (the reference: what every tick would pay without precomputation), stored
as JSON as the import does, then one leak-type event is localised by both methods from a
week of its loggers' hourly pressure (JSON decoding of the stored matrix included), the
median of `--repeat` runs. The SQL reads (the district's pressure, the stored model) are
not in the figure: bounded queries of one district's week of readings and one row.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from abbanoa.analytics import localisation as loc  # noqa: E402
from abbanoa.analytics.sensitivity import sensitivity_matrix, stored_form  # noqa: E402
from abbanoa.simulate import leak_suite as ls  # noqa: E402

START = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", default="ky4")
    parser.add_argument("--loggers", nargs="+", type=int, default=[32, 95])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    model = ls.load(args.network)
    junctions = list(model.junction_name_list)
    for count in args.loggers:
        loggers = ls.place_loggers(model, count, np.random.default_rng(1))
        began = time.perf_counter()
        sens = sensitivity_matrix(ls.load(args.network), loggers)
        precompute_s = time.perf_counter() - began
        text = json.dumps(
            {"loggers": {j: j for j in loggers}, "candidates": junctions, "sensitivity": stored_form(sens)}
        )
        run = ls.simulate_leak(
            model,
            network=args.network,
            loggers=loggers,
            junction=junctions[len(junctions) // 3],
            kind="burst",
            size_lps=8.0,
            seed=1,
            start=START,
            leak_day=6.3,
            step_s=3600,
        )
        times, cpu = [], []
        for _ in range(args.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            stored = json.loads(text)
            results = loc.localise_event(
                run.pressure, run.onset, "burst", {j: (39.2, 9.1) for j in loggers}, "Europe/Rome", stored, 8.0
            )
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            assert {r.method for r in results} == {"pressure_loggers", "hydraulic_model"}
        tick = statistics.median(times)
        print(
            f"{args.network}: {len(junctions)} junctions x {count} loggers: localisation per event {tick:.3f} s "
            f"wall, {statistics.median(cpu):.3f} s CPU "
            f"(stored matrix {len(text) / 1e6:.1f} MB JSON) vs computing the matrix {precompute_s:.1f} s "
            f"(ratio {precompute_s / tick:.0f}x); limit 2 s per tick"
        )
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
