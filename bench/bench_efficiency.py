"""Benchmark: network_efficiency on a utility-sized network (issue 16): the first run after
history arrives (backfill of every stored day and month) and the 5-minute runs after it
(the tail), beside a reference measured in the same run: reading the tail's hourly meter
rollups alone (the floor any run pays). Goal: a 5-minute run < 15 s at 20 districts /
1,000 nodes; its cost must follow new data, not history (a tail run on 90 days of history
should cost about what it costs on 30).

Run: .venv/bin/python bench/bench_efficiency.py [--nodes 1000] [--days 30]
Uses bench/network.py (each node type's own metrics) in a scratch database, dropped after.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

from bench import network, scratch  # noqa: E402

NOW = dt.datetime(2026, 11, 20, 5, 10, tzinfo=dt.UTC)


def timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30, help="days of hourly history")
    args = parser.parse_args()
    from abbanoa.jobs.runner import run_job
    from abbanoa.stores import postgres

    districts = max(1, args.nodes // 50)
    with scratch.scratch_settings("bench_eff") as settings:
        t_gen, counts = timed(lambda: network.generate(settings, args.nodes, districts, args.days, 32, NOW, 0))
        print(f"generated {args.nodes} nodes, {districts} districts, {args.days} days in {t_gen:.0f} s: {counts}")
        t_first, first = timed(lambda: run_job("network_efficiency", settings, now=NOW))
        later = NOW + dt.timedelta(minutes=5)
        t_tail, tail = timed(lambda: run_job("network_efficiency", settings, now=later))
        engine = postgres.engine(settings)

        def reference():
            with engine.connect() as conn:
                return conn.execute(
                    sa.text(
                        "SELECT count(*) FROM readings_1h WHERE metric = 'flow_rate' AND node_id IN "
                        "(SELECT node_id FROM district_meters) AND bucket >= :a AND bucket < :b"
                    ),
                    {"a": later - dt.timedelta(days=4), "b": later},
                ).scalar()

        t_ref, rows = timed(reference)
        print(f"first run (backfill): {t_first:.2f} s, {first.status}, {first.details}")
        print(f"5-minute run (tail):  {t_tail:.2f} s, {tail.status}, {tail.details}")
        print(
            f"reference (tail's meter hours read, {rows} rows): {t_ref:.3f} s; tail / reference = {t_tail / t_ref:.1f}"
        )
        print(f"goal: tail < 15 s at 20 districts -> {'met' if t_tail < 15 else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
