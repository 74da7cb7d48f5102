"""The simulator's files are what the importer expects: only the labelled bad rows are set aside."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from abbanoa.ingest.importer import import_paths
from abbanoa.simulate.cli import parse_start
from abbanoa.simulate.run import simulate


def test_a_simulated_day_imports_with_only_the_labelled_bad_rows_quarantined(tmp_path, db, warehouse):
    # given one simulated day
    out = tmp_path / "sim"
    summary = simulate(out, 1, 11, parse_start("2026-03-10", 1, "Europe/Rome"), "Europe/Rome")
    events = json.loads((out / "labels.json").read_text())["events"]
    malformed = next(e for e in events if e["type"] == "malformed_rows")["magnitude"]
    duplicated = next(e for e in events if e["type"] == "duplicates")["magnitude"]
    # when all its files are imported, an hour after it ends
    files = [out / n for n in ("districts.csv", "nodes.csv", "district_meters.csv", "readings.csv")]
    result = import_paths(files, warehouse.settings, "simtenant", now=summary.end + timedelta(hours=1))
    # then the registry and every good reading load; duplicates are absorbed; bad rows are quarantined
    readings = next(f for f in result.files if f.kind == "readings")
    assert readings.rows_read == summary.rows
    assert sum(readings.quarantined.values()) == malformed
    assert set(readings.quarantined) <= {"unparseable_time", "non_numeric", "unknown_node", "malformed_row"}
    assert readings.duplicates == duplicated
    assert readings.loaded == summary.rows - malformed - duplicated
    assert all(sum(f.quarantined.values()) == 0 for f in result.files if f.kind != "readings")
    assert isinstance(summary.end, datetime)
