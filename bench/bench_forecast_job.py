"""Benchmark: the daily demand_forecast job for many districts, end to end.

Seeds a throwaway database with N districts (one inlet meter each) and their hourly rollups
(readings_1h, generated in PostgreSQL: daily and weekly cycle, noise), then runs the job
twice through the runner: with FORECAST_HISTORY_DAYS (default 365) and then, as the
reference measured in the same run, with the 28 days the job read before (short histories
take the MSTL path, whose first call also compiles numba code). Prints the job's seconds,
seconds per district, and the ratio to the reference and to the 5-minute budget.

Run: .venv/bin/python bench/bench_forecast_job.py [--districts 50] [--days 365]
It creates and drops its own database; report `uptime` with the figures (shared CPU).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from abbanoa.jobs.runner import run_job  # noqa: E402
from abbanoa.stores import postgres  # noqa: E402
from bench.scratch import scratch_settings  # noqa: E402

NOW = dt.datetime(2026, 11, 20, 6, 30, tzinfo=dt.UTC)
BUDGET_S = 300


def seed(engine: sa.Engine, districts: int, days: int) -> int:
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO tenants VALUES ('t1', 't1')"))
        for i in range(districts):
            conn.execute(
                sa.text("INSERT INTO districts (district_id, tenant_id, name) VALUES (:d, 't1', :d)"),
                {"d": f"D{i:03d}"},
            )
            conn.execute(
                sa.text("INSERT INTO nodes (node_id, tenant_id, district_id) VALUES (:n, 't1', :d)"),
                {"n": f"FM{i:03d}", "d": f"D{i:03d}"},
            )
            conn.execute(
                sa.text("INSERT INTO district_meters VALUES (:d, :n, 1)"), {"d": f"D{i:03d}", "n": f"FM{i:03d}"}
            )
        # hourly rollups straight into readings_1h: a morning and an evening peak, quieter weekends
        conn.execute(
            sa.text(
                "INSERT INTO readings_1h (node_id, metric, bucket, n, sum_value, min_value, max_value, avg_value) "
                "SELECT node_id, 'flow_rate', b, 12, 12 * v, v, v, v FROM ("
                " SELECT 'FM' || lpad(i::text, 3, '0') AS node_id, b,"
                "  (10 + mod(i, 7))"
                "  * (1 + 0.5 * exp(-power(extract(hour FROM b AT TIME ZONE 'Europe/Rome') - 8, 2) / 4)"
                "   + 0.4 * exp(-power(extract(hour FROM b AT TIME ZONE 'Europe/Rome') - 20, 2) / 6))"
                "  * CASE WHEN extract(isodow FROM b AT TIME ZONE 'Europe/Rome') >= 6"
                "    THEN 0.85 ELSE 1 END"
                "  + random() AS v"
                " FROM generate_series(0, :k - 1) AS i,"
                "  generate_series(date_trunc('hour', CAST(:a AS timestamptz)), CAST(:b AS timestamptz),"
                "   interval '1 hour') AS b) s"
            ),
            {"k": districts, "a": NOW - dt.timedelta(days=days), "b": NOW - dt.timedelta(hours=1)},
        )
        return conn.execute(sa.text("SELECT count(*) FROM readings_1h")).scalar()


def timed(settings, days: int) -> tuple[float, dict]:
    t0, c0 = time.perf_counter(), time.process_time()
    outcome = run_job("demand_forecast", settings.with_(forecast_history_days=days), now=NOW)
    # CPU seconds of this process (all its threads): on a shared machine the wall time
    # mostly measures the other users; the CPU time is what 2 idle cores would need
    return time.perf_counter() - t0, dict(outcome.details, cpu_s=time.process_time() - c0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--districts", type=int, default=50)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--no-reference", action="store_true", help="skip the 28-day reference run")
    args = parser.parse_args()
    with scratch_settings("fcjob") as settings:
        rows = seed(postgres.engine(settings), args.districts, args.days)
        print(f"seeded {rows} hourly rows for {args.districts} districts, {args.days} days", flush=True)
        print(f"{'history':<12}{'seconds':>9}{'CPU s':>8}{'s/district':>12}{'series':>8}  load average", flush=True)
        new_s, new = timed(settings, args.days)
        report(f"{args.days} days", new_s, args.districts, new)
        print(f"CPU time against the {BUDGET_S} s budget: {new['cpu_s'] / BUDGET_S:.2f}", flush=True)
        if args.no_reference:
            return
        ref_s, ref = timed(settings, 28)
        report("28 days", ref_s, args.districts, ref)
        print(f"ratio to the 28-day run {new_s / ref_s:.2f}; to the {BUDGET_S} s budget {new_s / BUDGET_S:.2f}")


def report(name: str, seconds: float, districts: int, details: dict) -> None:
    print(
        f"{name:<12}{seconds:>9.1f}{details['cpu_s']:>8.1f}{seconds / districts:>12.2f}{details.get('series', 0):>8}"
        f"  {os.getloadavg()[0]:.1f} (2 cores shared)",
        flush=True,
    )


if __name__ == "__main__":
    main()
