"""Writers of the output directory (CONTRACTS.md, "Simulator output directory")."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from abbanoa.ingest import formats

# the contract's headers come from the importer's definition (one source of truth)
HEADERS = {
    "readings.csv": formats.HEADERS[formats.READINGS],
    "nodes.csv": formats.HEADERS[formats.NODES],
    "district_meters.csv": formats.HEADERS[formats.DISTRICT_METERS],
    "districts.csv": formats.HEADERS[formats.DISTRICTS],
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
