"""Benchmark: realtime_sync's memory against the size of its backlog (issue 21, item 9).

For each backlog size (default 100 k and 1 M readings) it puts that many readings in a
fresh warehouse dataset of the BigQuery emulator (one CSV load job: the store's own load
path), runs `python -m abbanoa run-job realtime_sync` in a process of its own against a
fresh database, and prints that process's peak resident memory (os.wait4's ru_maxrss),
CPU time, wall time and the rows it copied, then checks PostgreSQL holds every row.
The schedule gives the job 1 GB: the peak must stay under it and must not grow with
the backlog (the job fetches and upserts PAGE_ROWS at a time).

Run: nice -n 10 .venv/bin/python bench/faults/bench_sync_backlog.py [--rows 100000 1000000]
It creates and drops its own database and dataset (bench/scratch.py).
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from google.cloud import bigquery  # noqa: E402

from abbanoa.jobs import realtime_sync, schedule  # noqa: E402
from abbanoa.stores import postgres  # noqa: E402
from abbanoa.stores.bigquery import Warehouse, schema  # noqa: E402
from bench.scratch import scratch_settings  # noqa: E402

SERIES = 200  # pressure loggers; one reading each every 5 minutes
STEP = pd.Timedelta(minutes=5)
LIMIT_MB = schedule.job("realtime_sync").memory_mb  # the job's memory in production


def backlog_csv(rows: int, now: pd.Timestamp) -> bytes:
    """`rows` readings of SERIES loggers, ending at `now`, as CSV in the warehouse's column
    order; each 5-minute batch ingested at its own time, as a stream would."""
    periods = -(-rows // SERIES)
    ts = pd.date_range(end=now, periods=periods, freq=STEP)
    grid = pd.MultiIndex.from_product([[f"P{i:04d}" for i in range(SERIES)], ts], names=["node_id", "ts"])
    frame = grid.to_frame(index=False).iloc[:rows]
    frame["metric"] = "pressure"
    frame["value"] = np.round(3.0 + np.random.default_rng(21).normal(0, 0.2, len(frame)), 4)
    frame["unit"] = "bar"
    frame["ingested_at"] = frame["ts"]
    frame["source"] = "bench"
    stamp = "%Y-%m-%d %H:%M:%S+00:00"
    frame["ts"] = frame["ts"].dt.strftime(stamp)
    frame["ingested_at"] = frame["ingested_at"].dt.strftime(stamp)
    out = io.StringIO()
    frame[["ts", "node_id", "metric", "value", "unit", "ingested_at", "source"]].to_csv(out, index=False)
    return out.getvalue().encode()


def register_nodes(settings) -> None:
    with postgres.engine(settings).begin() as conn:
        conn.execute(sa.text("INSERT INTO tenants VALUES ('t1', 'Tenant one') ON CONFLICT DO NOTHING"))
        conn.execute(
            sa.text(
                "INSERT INTO nodes (node_id, tenant_id, name, node_type) "
                "SELECT 'P' || lpad(i::text, 4, '0'), 't1', 'logger ' || i, 'pressure_logger' "
                "FROM generate_series(0, :n - 1) i"
            ),
            {"n": SERIES},
        )


def run_child(settings) -> dict:
    """realtime_sync in a process of its own: peak RSS, CPU and wall time, exit code."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ABBANOA_ENV": "test",
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "REDIS_KEY_PREFIX": settings.redis_key_prefix,
        "GCP_PROJECT": settings.gcp_project,
        "BQ_DATASET": settings.bq_dataset,
        "BIGQUERY_EMULATOR_HOST": settings.bigquery_emulator_host,
        "LOG_LEVEL": "WARNING",
    }
    started = time.monotonic()
    child = subprocess.Popen(
        [sys.executable, "-m", "abbanoa", "run-job", "realtime_sync"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return {
        "exit": child.returncode,
        "peak_mb": usage.ru_maxrss / 1024,  # kilobytes on Linux
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "wall_s": time.monotonic() - started,
        "output": output.decode(errors="replace")[-2000:],
    }


def measure(rows: int) -> dict:
    now = pd.Timestamp.now(tz="UTC").floor("5min") - STEP
    with scratch_settings("reliability_backlog") as settings:
        wh = Warehouse(settings)
        wh.create_all()
        register_nodes(settings)
        data = backlog_csv(rows, now)
        started = time.monotonic()
        wh.load_file(
            io.BytesIO(data),
            wh.table_id("readings"),
            bigquery.LoadJobConfig(
                source_format=bigquery.SourceFormat.CSV,
                skip_leading_rows=1,
                schema=schema("readings"),
                write_disposition=bigquery.WriteDisposition.WRITE_APPEND,
            ),
        )
        loaded_s = time.monotonic() - started
        in_warehouse = wh.query_rows("SELECT COUNT(*) AS n FROM `{dataset}.readings`")[0]["n"]
        result = run_child(settings)
        with postgres.engine(settings).connect() as conn:
            copied = conn.execute(sa.text("SELECT count(*) FROM readings")).scalar()
            run = conn.execute(
                sa.text("SELECT status, rows_processed, details->>'fetched' FROM job_runs ORDER BY run_id DESC LIMIT 1")
            ).one()
        wh.client.delete_dataset(wh.dataset, delete_contents=True, not_found_ok=True)
    return {
        "rows": rows,
        "in_warehouse": in_warehouse,
        "load_s": loaded_s,
        "copied": copied,
        "status": run[0],
        "fetched": int(run[2] or 0),
        **result,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args()
    print(f"PAGE_ROWS {realtime_sync.PAGE_ROWS:,}; load average {os.getloadavg()[0]:.2f}")
    results = []
    for rows in args.rows:
        r = measure(rows)
        results.append(r)
        print(
            f"backlog {r['rows']:>9,} rows (warehouse {r['in_warehouse']:,}, CSV load {r['load_s']:.0f} s): "
            f"run {r['status']}, fetched {r['fetched']:,}, PostgreSQL {r['copied']:,}; "
            f"peak RSS {r['peak_mb']:.0f} MB, CPU {r['cpu_s']:.0f} s, wall {r['wall_s']:.0f} s; "
            f"load average {os.getloadavg()[0]:.2f}",
            flush=True,
        )
        if r["exit"] != 0:
            print(r["output"])
    ok = all(r["exit"] == 0 and r["copied"] == r["rows"] and r["peak_mb"] < LIMIT_MB for r in results)
    if len(results) > 1:
        small, big = results[0], results[-1]
        print(
            f"peak RSS {big['peak_mb']:.0f} MB at {big['rows']:,} rows vs {small['peak_mb']:.0f} MB at "
            f"{small['rows']:,} ({big['peak_mb'] / small['peak_mb']:.2f}x for "
            f"{big['rows'] / small['rows']:.0f}x rows); "
            f"limit {LIMIT_MB} MB: {'held' if ok else 'NOT held'}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
