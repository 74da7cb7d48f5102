"""Benchmark: realtime sync into PostgreSQL.

1. Rows per second of the sync's PostgreSQL side (COPY to a temporary table, upsert,
   rollups for the touched buckets, latest values) against a bare COPY of the same rows
   into the same table, measured in the same run: the ratio is the price of idempotence
   and incremental rollups.
2. The time of one 5-minute sync (one new reading per series) when the table holds one
   week versus three months of history: it should not grow with history.
3. One whole realtime_sync through the BigQuery emulator, for scale.

Run: .venv/bin/python bench/bench_sync.py [--series 100] [--rows 200000]
It creates and drops its own database and dataset.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from abbanoa.jobs.runner import run_job  # noqa: E402
from abbanoa.repository import readings_upsert
from abbanoa.stores import postgres  # noqa: E402
from abbanoa.stores.bigquery import Warehouse  # noqa: E402
from bench.scratch import scratch_settings  # noqa: E402

STEP = pd.Timedelta(minutes=5)
NOW = pd.Timestamp("2026-11-20 12:00", tz="UTC")


def frame(series: int, start: pd.Timestamp, periods: int) -> pd.DataFrame:
    ts = pd.date_range(start, periods=periods, freq=STEP)
    nodes = [f"N{i:04d}" for i in range(series)]
    grid = pd.MultiIndex.from_product([nodes, ts], names=["node_id", "ts"]).to_frame(index=False)
    grid["metric"] = "pressure"
    grid["value"] = 3.0 + np.random.default_rng(1).normal(0, 0.1, len(grid))
    grid["ingested_at"] = grid["ts"]
    return grid[readings_upsert.COLUMNS]


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def truncate(eng) -> None:
    with eng.begin() as conn:
        conn.exec_driver_sql(
            "TRUNCATE readings, readings_5m, readings_1h, readings_1d, latest_readings, sync_watermarks, job_runs"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", type=int, default=100)
    parser.add_argument("--rows", type=int, default=200_000, help="rows for the throughput comparison")
    parser.add_argument("--emulator-rows", type=int, default=20_000, help="rows for the end-to-end sync")
    args = parser.parse_args()

    with scratch_settings("bench") as settings:
        eng = postgres.engine(settings)
        tz = settings.timezone
        # 1. throughput against a bare COPY
        periods = max(1, args.rows // args.series)
        rows = frame(args.series, NOW - periods * STEP, periods)
        with eng.begin() as conn:
            conn.execute(sa.text("SELECT ensure_readings_partitions(:a, :b)"), {"a": rows.ts.min(), "b": NOW})

        def bare_copy():
            with eng.begin() as conn:
                postgres.copy_rows(conn, "readings", readings_upsert.COLUMNS, readings_upsert.records(rows))

        def sync_side():
            with eng.begin() as conn:
                readings_upsert.upsert(conn, rows, tz, 14)

        truncate(eng)
        copy_s = timed(bare_copy)
        truncate(eng)
        sync_s = timed(sync_side)
        resync_s = timed(sync_side)  # the same rows again: a redelivery
        n = len(rows)
        print(f"rows: {n:,}")
        print(f"bare COPY into readings        {n / copy_s:>10,.0f} rows/s  ({copy_s:.2f} s)  reference")
        print(
            f"sync upsert + rollups + latest {n / sync_s:>10,.0f} rows/s  ({sync_s:.2f} s)  "
            f"ratio to COPY {copy_s / sync_s:.2f}"
        )
        print(f"same rows redelivered          {n / resync_s:>10,.0f} rows/s  ({resync_s:.2f} s)")

        # 2. one 5-minute batch with 1 week vs 3 months of history
        batch = frame(args.series, NOW, 1)
        for label, days in (("1 week", 7), ("3 months", 90)):
            truncate(eng)
            history = frame(args.series, NOW - pd.Timedelta(days=days), days * 288)
            with eng.begin() as conn:
                conn.execute(sa.text("SELECT ensure_readings_partitions(:a, :b)"), {"a": history.ts.min(), "b": NOW})
                postgres.copy_rows(conn, "readings", readings_upsert.COLUMNS, readings_upsert.records(history))
            with eng.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("ANALYZE readings")
            samples = []
            for k in range(5):
                shifted = batch.assign(ts=batch.ts + k * STEP, ingested_at=batch.ts + k * STEP)
                samples.append(timed(lambda shifted=shifted: _upsert(eng, shifted, tz)))
            print(
                f"one 5-min batch ({len(batch)} rows), {label:>8} of history ({len(history):>9,} rows): "
                f"median {1000 * sorted(samples)[2]:.1f} ms"
            )

        # 3. end to end through the emulator
        truncate(eng)
        wh = Warehouse(settings)
        wh.create_all()
        e2e = frame(args.series, NOW - (args.emulator_rows // args.series) * STEP, args.emulator_rows // args.series)
        e2e["unit"] = "bar"
        e2e["source"] = "bench"
        wh.load_rows("readings", e2e.to_dict("records"))
        started = time.perf_counter()
        record = run_job("realtime_sync", settings, now=NOW.to_pydatetime())
        took = time.perf_counter() - started
        print(
            f"realtime_sync through the BigQuery emulator: {record.rows:,} rows in {took:.2f} s "
            f"({record.rows / took:,.0f} rows/s; the emulator's query is most of it)"
        )
        wh.client.delete_dataset(wh.dataset, delete_contents=True, not_found_ok=True)
    return 0


def _upsert(eng, rows, tz):
    with eng.begin() as conn:
        readings_upsert.upsert(conn, rows, tz, 14)


if __name__ == "__main__":
    sys.exit(main())
