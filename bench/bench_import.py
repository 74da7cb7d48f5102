"""Import benchmark: N readings (default 1,000,000) through `import_paths` (validation,
unit conversion, quarantine, staging + MERGE dedupe) against a plain
`load_table_from_file` of the same CSV file without validation, in the same run.

    /work/main/.venv/bin/python bench/bench_import.py [--rows N] [--chunk-rows C]

Uses the configured PostgreSQL server and BigQuery (emulator locally) with a database
and a dataset of its own, dropped at the end. Each side runs in a child process, so
its peak memory (the child's VmHWM high-water mark) is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench.scratch import scratch_settings  # noqa: E402

# metric -> ((unit, typical value, spread) per node parity): half the nodes send
# non-canonical units, so unit conversion is exercised
SERIES = (
    ("pressure", (("bar", 3.5, 0.4), ("kPa", 350.0, 40.0))),
    ("flow_rate", (("l/s", 25.0, 8.0), ("m3/h", 90.0, 30.0))),
    ("temperature", (("degC", 18.0, 3.0), ("degC", 18.0, 3.0))),
)


def generate(directory: Path, rows: int, nodes: int = 250, seed: int = 7) -> tuple[Path, Path]:
    """nodes.csv and readings.csv with `rows` readings (every 5 minutes per series, ~0.5% resent)."""
    rng = np.random.default_rng(seed)
    node_ids = [f"BENCH-{i:04d}" for i in range(nodes)]
    nodes_csv = directory / "nodes.csv"
    pd.DataFrame(
        {
            "node_id": node_ids,
            "name": [f"bench node {i}" for i in range(nodes)],
            "node_type": "pressure_logger",
            "latitude": 39.25 + rng.random(nodes) * 0.02,
            "longitude": 9.15 + rng.random(nodes) * 0.03,
            "dma_id": [f"BENCH-D{i % 4}" for i in range(nodes)],
        }
    ).to_csv(nodes_csv, index=False)

    readings_csv = directory / "readings.csv"
    series = nodes * len(SERIES)
    unique = int(rows * 0.995)
    step = np.arange(unique) // series
    which = np.arange(unique) % series
    start = np.datetime64("2025-01-01T00:00:00")
    ts = start + step.astype("timedelta64[m]") * 5
    node = which // len(SERIES)
    metric = which % len(SERIES)
    variant = node % 2
    pick = lambda k: np.array([[v[k] for v in s[1]] for s in SERIES])[metric, variant]  # noqa: E731
    base, spread = pick(1).astype(float), pick(2).astype(float)
    frame = pd.DataFrame(
        {
            "timestamp": np.char.add(np.datetime_as_string(ts, unit="s"), "Z"),
            "node_id": np.array(node_ids)[node],
            "metric": np.array([s[0] for s in SERIES])[metric],
            "value": np.round(base + rng.standard_normal(unique) * spread * 0.3, 3),
            "unit": pick(0),
        }
    )
    resent = frame.sample(rows - unique, random_state=seed)  # a gateway that sends twice
    frame = pd.concat([frame, resent], ignore_index=True)
    frame.to_csv(readings_csv, index=False)
    return nodes_csv, readings_csv


# The child's own high-water mark (VmHWM): getrusage's maxrss of a child also counts
# the parent's memory at fork time, and the parent holds the generated data.
PEAK = """
def peak_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
"""

IMPORT_CHILD = (
    PEAK
    + """
import json, sys, time
from abbanoa.settings import Settings
from abbanoa.ingest.importer import import_paths
settings = Settings.from_env()
started = time.perf_counter()
summary = import_paths([sys.argv[1]], settings, "bench", chunk_rows=int(sys.argv[2]), progress=False)
print(json.dumps({"seconds": time.perf_counter() - started, "rows_read": summary.rows_read,
                  "loaded": summary.loaded, "duplicates": summary.duplicates,
                  "quarantined": sum(summary.quarantined.values()), "peak_mib": peak_mib()}))
"""
)

PLAIN_CHILD = (
    PEAK
    + """
import json, sys, time
from google.cloud import bigquery
from abbanoa.settings import Settings
from abbanoa.stores.bigquery import Warehouse
warehouse = Warehouse(Settings.from_env())
fields = [bigquery.SchemaField("timestamp", "TIMESTAMP"), bigquery.SchemaField("node_id", "STRING"),
          bigquery.SchemaField("metric", "STRING"), bigquery.SchemaField("value", "FLOAT64"),
          bigquery.SchemaField("unit", "STRING")]
started = time.perf_counter()
with open(sys.argv[1], "rb") as handle:
    job = warehouse.client.load_table_from_file(
        handle, warehouse.table_id("plain_load"),
        job_config=bigquery.LoadJobConfig(source_format="CSV", skip_leading_rows=1, schema=fields))
    job.result()
print(json.dumps({"seconds": time.perf_counter() - started, "peak_mib": peak_mib()}))
"""
)


def run_child(code: str, args: list[str], env: dict[str, str]) -> tuple[dict, float]:
    """Run a Python child; returns its JSON output and its peak RSS in MiB."""
    done = subprocess.run([sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"child failed ({done.returncode}):\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result, result["peak_mib"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="readings to import (default 1,000,000)")
    parser.add_argument("--chunk-rows", type=int, default=50_000, help="importer chunk size")
    args = parser.parse_args()

    from abbanoa.ingest.importer import import_paths
    from abbanoa.stores.bigquery import Warehouse

    with scratch_settings("bench") as settings:
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "DATABASE_URL": settings.database_url,
            "BQ_DATASET": settings.bq_dataset,
            "LOG_LEVEL": "WARNING",
        }
        warehouse = Warehouse(settings)
        try:
            _compare(args, settings, env, import_paths)
        finally:
            warehouse.client.delete_dataset(warehouse.dataset, delete_contents=True, not_found_ok=True)
    return 0


def _compare(args, settings, env, import_paths) -> None:
    """The importer against a plain load of the same CSV, each in a child process (peak RSS)."""
    with tempfile.TemporaryDirectory(prefix="bench-import-") as tmp:
        started = time.perf_counter()
        nodes_csv, readings_csv = generate(Path(tmp), args.rows)
        size = readings_csv.stat().st_size / 2**20
        print(f"generated {args.rows:,} readings ({size:.0f} MiB) in {time.perf_counter() - started:.1f} s")
        import_paths([nodes_csv], settings, "bench", progress=False)

        plain, plain_rss = run_child(PLAIN_CHILD, [str(readings_csv)], env)
        imported, import_rss = run_child(IMPORT_CHILD, [str(readings_csv), str(args.chunk_rows)], env)

    plain_rate = args.rows / plain["seconds"]
    import_rate = args.rows / imported["seconds"]
    print(
        f"import_paths:        {imported['seconds']:7.1f} s  {import_rate:10,.0f} rows/s  "
        f"peak RSS {import_rss:6.0f} MiB  (loaded {imported['loaded']:,}, duplicates "
        f"{imported['duplicates']:,}, quarantined {imported['quarantined']:,})"
    )
    print(
        f"plain load_table_from_file (CSV, no validation): {plain['seconds']:7.1f} s  "
        f"{plain_rate:10,.0f} rows/s  peak RSS {plain_rss:6.0f} MiB"
    )
    print(f"ratio import / plain load: {imported['seconds'] / plain['seconds']:.2f}x the time")


if __name__ == "__main__":
    sys.exit(main())
