"""Writers of the output directory (CONTRACTS.md, "Simulator output directory")."""

from __future__ import annotations

import csv
import json
from pathlib import Path

HEADERS = {
    "readings.csv": ("timestamp", "node_id", "metric", "value", "unit"),
    "nodes.csv": ("node_id", "name", "node_type", "latitude", "longitude", "dma_id"),
    "district_meters.csv": ("dma_id", "node_id", "direction"),
    "districts.csv": (
        "dma_id",
        "name",
        "mains_length_km",
        "service_connections",
        "private_pipe_km",
        "avg_pressure_m",
        "night_use_l_per_conn_h",
    ),
    "truth.csv": ("ts", "dma_id", "inflow_m3", "consumption_m3", "leak_m3"),
}


def write_csv(out: Path, name: str, rows) -> None:
    with open(out / name, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADERS[name])
        writer.writerows(rows)


def write_labels(out: Path, scenario: dict, events: list[dict]) -> None:
    events = sorted(events, key=lambda e: (e["start"], e["id"]))
    with open(out / "labels.json", "w", encoding="utf-8") as handle:
        json.dump({"scenario": scenario, "events": events}, handle, indent=2)
        handle.write("\n")
