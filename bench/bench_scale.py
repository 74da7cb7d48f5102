"""Benchmark: every scheduled job on a utility-sized network (issue #14).

For each size (nodes) it generates a network in a scratch PostgreSQL database
(bench/network.py: districts, meters and loggers, raw 5-minute readings for the last
hours, hourly and daily rollups for the weeks before; 9 metrics per node by default) and
runs each job once in a process of its own, at 06:10 local time (data_quality's hour),
printing wall time, CPU time and peak RSS, the goal where issue #14 sets one, and how
the cost grows with nodes (cost ratio / nodes ratio: 1.00 = linear). The reference for
the detection tick, measured in the same run, is reading its raw window alone (bulk COPY
to pandas): the floor any tick pays. Then the reliability engineer's import and sync
benchmarks (bench_import.py, bench_sync.py) run as they are, with their own references.

Run: .venv/bin/python bench/bench_scale.py                 (100 and 1,000 nodes; `make bench`)
     .venv/bin/python bench/bench_scale.py --full          (100, 1,000 and 5,000 nodes)
     .venv/bin/python bench/bench_scale.py --nodes 1000 --jobs anomaly_detection,data_quality
Each size's database (bench_scale_<nodes>_<run>) is dropped when done; generating 1,000
nodes x 9 metrics (6.5 M hourly rows, 2.6 M raw) takes some minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402

from abbanoa.settings import Settings  # noqa: E402
from bench import network, scratch  # noqa: E402

HERE = Path(__file__).resolve().parent
NOW = dt.datetime(2026, 11, 20, 5, 10, tzinfo=dt.UTC)  # 06:10 in Rome: data_quality's hour
# (label, job, minutes after NOW, params, goal at 1,000 nodes)
STEPS = [
    ("detection baselines, one day", "detection_baselines", 0, {}, "daily"),
    ("anomaly_detection tick", "anomaly_detection", 0, {}, "< 10 s, < 1 GB"),
    ("  reference: its raw window read", "raw_window", 0, {}, ""),
    ("data_quality", "data_quality", 0, {}, "< 60 s"),
    ("network_efficiency, first run", "network_efficiency", 0, {}, "(backfills history)"),
    ("network_efficiency, 5 min later", "network_efficiency", 5, {}, "< 15 s (20 districts)"),
    ("quality_compliance", "quality_compliance", 0, {}, ""),
    ("cache_refresh", "cache_refresh", 0, {}, ""),
    ("demand_forecast", "demand_forecast", 0, {}, "50 districts < 5 min"),
    ("weekly_cleanup", "weekly_cleanup", 0, {}, ""),
]


def child_env(settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=settings.database_url,
        BQ_DATASET=settings.bq_dataset,
        REDIS_KEY_PREFIX=settings.redis_key_prefix,
        GCP_PROJECT=f"bench-scale-{settings.bq_dataset.rsplit('_', 1)[-1]}",  # its own Pub/Sub topics
        ABBANOA_ENV="test",
        LOG_LEVEL="WARNING",
    )
    return env


def measure(job: str, now: dt.datetime, params: dict, env: dict, timeout_s: float) -> dict:
    """Run one job in a child process; its wall, CPU (user + system) and peak RSS from wait4."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, str(HERE / "scale_job.py"), job, now.isoformat(), json.dumps(params)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = started + timeout_s
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            child.kill()
            pid, status, usage = os.wait4(child.pid, 0)
            return {"wall": None, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024,
                    "note": f"killed after {timeout_s:.0f} s"}  # fmt: skip
        time.sleep(0.05)
    wall = time.perf_counter() - started
    out, err = child.stdout.read(), child.stderr.read()
    line = out.strip().splitlines()[-1] if out.strip() else ""
    result = {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "rss_mb": usage.ru_maxrss / 1024, "note": ""}
    if os.waitstatus_to_exitcode(status) != 0:
        result["note"] = "FAILED: " + (err.strip().splitlines() or ["?"])[-1][:100]
    elif line:
        details = json.loads(line).get("details") or {}
        result["note"] = ", ".join(f"{k}={v}" for k, v in list(details.items())[:4])[:100]
    return result


@contextlib.contextmanager
def size_settings(nodes: int, args):
    """A freshly generated network (dropped on exit unless --keep), or --database's as it is."""
    kept = dict(item.split("=", 1) for item in args.database.split(",") if item)
    if str(nodes) in kept:
        base = Settings.from_env()
        url = sa.make_url(base.sqlalchemy_url).set(database=kept[str(nodes)])
        run = kept[str(nodes)].rsplit("_", 1)[-1]
        yield (
            base.with_(
                database_url=url.render_as_string(hide_password=False),
                bq_dataset=f"bench_scale_{run}",
                redis_key_prefix=f"bench_scale:{run}:",
            ),
            None,
        )
        return
    settings = scratch.create(f"bench_scale_{nodes}", database_prefix="")
    try:
        started = time.perf_counter()
        cpu = time.process_time()
        counts = network.generate(settings, nodes, args.districts or max(2, nodes // 50), args.days,
                                  args.raw_hours, NOW, args.metrics)  # fmt: skip
        counts["seconds"] = time.perf_counter() - started
        counts["client_cpu"] = time.process_time() - cpu
        yield settings, counts
    finally:
        if args.keep:
            print(f"(kept database {sa.make_url(settings.sqlalchemy_url).database})")
        else:
            scratch.drop(settings)


def run_size(nodes: int, args) -> dict[str, dict]:
    districts = args.districts or max(2, nodes // 50)
    results = {}
    with size_settings(nodes, args) as (settings, counts):
        if counts:
            print(
                f"\n== {nodes:,} nodes, {districts} districts, {counts['series']:,} series: {counts['raw']:,} raw"
                f" readings ({args.raw_hours} h), {counts['hourly']:,} hourly rows ({args.days} days);"
                f" generated in {counts['seconds']:.0f} s wall; load {os.getloadavg()[0]:.1f}"
            )
        else:
            name = sa.make_url(settings.sqlalchemy_url).database
            print(f"\n== {nodes:,} nodes: database {name} as generated before (--keep); load {os.getloadavg()[0]:.1f}")
        env = child_env(settings)
        # the window reaches into yesterday (local): its baselines first, untimed
        if not args.jobs or "anomaly_detection" in args.jobs:
            measure("detection_baselines", NOW - dt.timedelta(days=1), {}, env, args.timeout)
        print(f"{'job':<34} {'wall s':>8} {'CPU s':>8} {'RSS MB':>8}  {'goal (1,000 nodes)':<22} notes")
        for label, job, minutes, params, goal in STEPS:
            if args.jobs and job not in args.jobs and not (job == "raw_window" and "anomaly_detection" in args.jobs):
                continue
            r = measure(job, NOW + dt.timedelta(minutes=minutes), params, env, args.timeout)
            results[label] = r
            wall = f"{r['wall']:8.2f}" if r["wall"] is not None else f"{'> ' + str(int(args.timeout)):>8}"
            print(f"{label:<34} {wall} {r['cpu']:8.2f} {r['rss_mb']:8.0f}  {goal:<22} {r['note']}", flush=True)
    return results


def growth(sizes: list[int], results: dict[int, dict[str, dict]]) -> None:
    print("\nGrowth with nodes (wall ratio / nodes ratio; 1.00 = linear, below = better than linear)")
    pairs = list(zip(sizes, sizes[1:], strict=False))
    print(f"{'job':<34} " + " ".join(f"{f'{a:,}->{b:,}':>16}" for a, b in pairs))
    for label in results[sizes[0]]:
        cells = []
        for a, b in pairs:
            ra, rb = results[a].get(label), results[b].get(label)
            if not ra or not rb or not ra["wall"] or not rb["wall"]:
                cells.append(f"{'-':>16}")
                continue
            cells.append(f"{rb['wall'] / ra['wall']:7.1f}x /{b / a:4.0f} = {rb['wall'] / ra['wall'] / (b / a):4.2f}")
        print(f"{label:<34} " + " ".join(cells))


def others(args) -> None:
    """The import and sync benchmarks as their owner wrote them (their own references)."""
    for script in ("bench_import.py", "bench_sync.py"):
        path = HERE / script
        if not path.exists():
            continue
        print(f"\n== {script} (as on this branch; its own reference)", flush=True)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=args.timeout * 2)
        print(done.stdout.rstrip() or done.stderr.strip().splitlines()[-1])
        print(f"({time.perf_counter() - started:.0f} s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", default="100,1000", help="comma-separated sizes (default 100,1000)")
    parser.add_argument("--full", action="store_true", help="100, 1,000 and 5,000 nodes")
    parser.add_argument("--metrics", type=int, default=9, help="metrics per node (9 = all; 0 = each type's own)")
    parser.add_argument("--districts", type=int, default=0, help="districts (default: nodes / 50)")
    parser.add_argument("--days", type=int, default=30, help="days of hourly history")
    parser.add_argument("--raw-hours", type=int, default=32, help="hours of raw 5-minute readings before now")
    parser.add_argument("--jobs", default="", help="comma-separated job names (default: all)")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds before a job is killed")
    parser.add_argument("--keep", action="store_true", help="keep each size's generated database (name printed)")
    parser.add_argument("--database", default="", help="N=DB,...: size N runs on kept database DB")
    parser.add_argument("--skip-import-sync", action="store_true", help="leave out bench_import.py / bench_sync.py")
    args = parser.parse_args()
    args.jobs = [j for j in args.jobs.split(",") if j]
    sizes = [100, 1000, 5000] if args.full else [int(n) for n in args.nodes.split(",")]
    print(f"bench_scale: {', '.join(f'{n:,}' for n in sizes)} nodes x {args.metrics or 'typed'} metrics;"
          f" {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f} (shared machine: figures vary with it)")  # fmt: skip
    results = {n: run_size(n, args) for n in sizes}
    if len(sizes) > 1:
        growth(sizes, results)
    if not args.skip_import_sync and not args.jobs:
        others(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
