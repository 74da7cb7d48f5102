"""Benchmark: one 15-minute anomaly_detection run on four weeks of a simulated network.

The job reads the recent hours raw and the baselines' weeks as hourly means from
readings_1h. The reference, measured in the same run on the same database, is the same
detection reading all of those weeks raw (how the job worked before): the ratio is what
the hourly rollup saves. Both must find the same anomalies.

Run: .venv/bin/python bench/bench_detection.py [--days 28] [--seed 7] [--runs 3]
It simulates into a temporary directory, and creates and drops its own database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from abbanoa.analytics.config import DetectorConfig  # noqa: E402
from abbanoa.jobs import anomaly_detection
from abbanoa.jobs.base import JobContext  # noqa: E402
from abbanoa.repository import rollups  # noqa: E402
from abbanoa.simulate.run import simulate  # noqa: E402
from abbanoa.stores import postgres  # noqa: E402
from bench.scratch import scratch_settings  # noqa: E402

TENANT = "abbanoa"


def load(settings, directory: Path) -> tuple[pd.Timestamp, int]:
    """The scenario's registry and readings straight into PostgreSQL, with rollups and latest values."""
    readings = pd.read_csv(directory / "readings.csv", dtype=str).rename(columns={"timestamp": "ts"})
    readings["ts"] = pd.to_datetime(readings["ts"], utc=True, errors="coerce")
    readings["value"] = pd.to_numeric(readings["value"], errors="coerce")
    readings = readings.dropna(subset=["ts", "value"]).drop_duplicates(["node_id", "metric", "ts"], keep="last")
    nodes = pd.read_csv(directory / "nodes.csv")
    districts = pd.read_csv(directory / "districts.csv")
    meters = pd.read_csv(directory / "district_meters.csv")
    with postgres.engine(settings).begin() as conn:
        conn.execute(sa.text("INSERT INTO tenants (tenant_id, name) VALUES (:t, 'Abbanoa')"), {"t": TENANT})
        for d in districts.itertuples():
            conn.execute(
                sa.text("INSERT INTO districts (district_id, tenant_id, name) VALUES (:d, :t, :n)"),
                {"d": d.dma_id, "t": TENANT, "n": d.name},
            )
        for n in nodes.itertuples():
            conn.execute(
                sa.text("INSERT INTO nodes (node_id, tenant_id, node_type, district_id) VALUES (:n, :t, :k, :d)"),
                {"n": n.node_id, "t": TENANT, "k": n.node_type, "d": n.dma_id},
            )
        for m in meters.itertuples():
            conn.execute(
                sa.text("INSERT INTO district_meters VALUES (:d, :n, :r)"),
                {"d": m.dma_id, "n": m.node_id, "r": int(m.direction)},
            )
        conn.execute(
            sa.text("SELECT ensure_readings_partitions(:a, :b)"),
            {"a": readings["ts"].min(), "b": readings["ts"].max()},
        )
        postgres.copy_rows(
            conn,
            "readings",
            ["node_id", "metric", "ts", "value"],
            readings[["node_id", "metric", "ts", "value"]].values,
        )
        conn.execute(
            sa.text(
                "INSERT INTO latest_readings SELECT DISTINCT ON (node_id, metric) node_id, metric, ts, value"
                " FROM readings ORDER BY node_id, metric, ts DESC"
            )
        )
        ranges = [(n, m, g["ts"].min(), g["ts"].max()) for (n, m), g in readings.groupby(["node_id", "metric"])]
        rollups.refresh(conn, ranges, tz=settings.timezone)
    return readings["ts"].max(), len(readings)


def all_raw(settings, now: dt.datetime) -> pd.DataFrame:
    """The reference: the same detection with every reading of the history read raw."""
    config = DetectorConfig.from_settings(settings)
    history = dt.timedelta(days=7 * config.baseline_weeks + 2)
    with postgres.engine(settings).connect() as conn:
        data = anomaly_detection.gather(conn, now - history, now)
    return anomaly_detection.decide(data, config, now, now - dt.timedelta(hours=anomaly_detection.WINDOW_H))


def split(settings, now: dt.datetime) -> pd.DataFrame:
    """The job's own gather and decide, without storing (the part that scales with history)."""
    config = DetectorConfig.from_settings(settings)
    history = dt.timedelta(days=7 * config.baseline_weeks + 2)
    window = dt.timedelta(hours=anomaly_detection.WINDOW_H)
    raw_since = pd.Timestamp(now - window - dt.timedelta(hours=anomaly_detection.RAW_LOOKBACK_H)).floor("h")
    with postgres.engine(settings).connect() as conn:
        data = anomaly_detection.gather(conn, now - history, now, raw_since=raw_since.to_pydatetime())
    return anomaly_detection.decide(data, config, now, now - window)


def _keys(episodes: pd.DataFrame) -> list[tuple]:
    return sorted(zip(episodes["anomaly_type"], episodes["start_ts"].astype(str), strict=True))


def timed(fn, runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each (the median is printed)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="abbanoa-bench-") as tmp, scratch_settings("bench") as settings:
        start = pd.Timestamp("2026-11-01", tz="UTC").to_pydatetime()
        simulate(Path(tmp), args.days, args.seed, start, settings.timezone)
        last, rows = load(settings, Path(tmp))
        print(f"{rows:,} readings over {args.days} days loaded")
        for hours_before_end in (30, 0):
            now = (last - pd.Timedelta(hours=hours_before_end)).to_pydatetime()
            t_job, job = timed(lambda now=now: split(settings, now), args.runs)
            t_ref, ref = timed(lambda now=now: all_raw(settings, now), args.runs)
            same = _keys(job) == _keys(ref)
            print(
                f"now = {now:%Y-%m-%d %H:%M}Z: job (hourly history) {t_job * 1000:,.0f} ms, "
                f"reference (all raw) {t_ref * 1000:,.0f} ms, ratio {t_job / t_ref:.2f}; "
                f"{len(job)} episodes, {'the same' if same else 'DIFFERENT'} as the reference"
            )
            if not same:
                return 1
        started = time.perf_counter()
        outcome = anomaly_detection.run(JobContext("anomaly_detection", settings, now=now))
        print(f"whole job run (store and publish too): {time.perf_counter() - started:.2f} s, {outcome.details}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
