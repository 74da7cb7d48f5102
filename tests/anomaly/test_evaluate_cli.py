"""`python -m abbanoa evaluate DIR` end to end: simulate, import through the BigQuery
emulator, sync into PostgreSQL, detect and score; and its errors."""

from __future__ import annotations

import csv
import json
import re

import pandas as pd
import pytest
import sqlalchemy as sa

from abbanoa import settings as settings_module
from abbanoa.__main__ import main
from abbanoa.errors import AbbanoaError
from abbanoa.evaluation.evaluate_labels import load_labels
from abbanoa.simulate.cli import parse_start
from abbanoa.simulate.run import simulate


def test_evaluate_scores_a_simulated_scenario(tmp_path, db, warehouse, capsys):
    # given four simulated days
    out = tmp_path / "scenario"
    simulate(out, 4, 3, parse_start("2026-03-02", 4, "Europe/Rome"), "Europe/Rome")
    # when they are evaluated
    assert main(["evaluate", str(out), "--tenant", "evaltenant", "--batch"]) == 0
    report = capsys.readouterr().out
    # then every labelled event has a row, each type a line, and the false-alert rate is given
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^(\S+)\s+\S+\s+\S+\s+(yes|NO)\b", report, re.M)}
    assert {"leak-1", "leak-2", "pressure-drop-1", "gap-QRT-PL-02", "quality-1-free_chlorine"} <= set(rows)
    # the sensor faults and the quality excursion are found on their own nodes
    assert rows["gap-QRT-PL-02"] == rows["gap-SEL-QP-02"] == rows["quality-1-turbidity"] == "yes"
    assert sum(1 for k, v in rows.items() if k.startswith("spike-") and v == "yes") == 3
    for kind in ("burst", "growing_leak", "spike", "sensor_gap", "quality_excursion"):
        assert re.search(rf"^{kind}\s+\d+\s+\d+\s+\d\.\d\d", report, re.M), kind
    assert re.search(
        r"^false alerts: \d+ = \d+\.\d\d per district per week = \d+\.\d\d per 100 sensor-weeks$", report, re.M
    )
    # and a labels file from another generator (CSV, no scenario block, its own extra column,
    # offsets instead of Z) scores the same events over the readings' own span
    events = json.loads((out / "labels.json").read_text())["events"]
    foreign = tmp_path / "their-labels.csv"
    with open(foreign, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "type", "node_id", "dma_id", "start", "end", "operator"])
        writer.writeheader()
        for ev in events:
            start = pd.Timestamp(ev["start"]).tz_convert("Europe/Rome").isoformat()
            end = pd.Timestamp(ev["end"]).tz_convert("Europe/Rome").isoformat()
            writer.writerow({**{k: ev[k] for k in ("id", "type", "node_id", "dma_id")}, "start": start, "end": end})
    assert main(["evaluate", str(out), "--skip-import", "--batch", "--labels", str(foreign)]) == 0
    theirs = capsys.readouterr().out
    found = {m.group(1): m.group(2) for m in re.finditer(r"^(\S+)\s+\S+\s+\S+\s+(yes|NO)\b", theirs, re.M)}
    assert found == rows


def test_labels_in_the_documented_format_load_and_bad_ones_are_one_line_errors(tmp_path):
    good = tmp_path / "events.json"
    good.write_text(
        json.dumps([{"id": "a", "type": "burst", "start": "2026-03-02T10:00:00+01:00", "end": "2026-03-02T12:00Z"}])
    )
    scenario, events = load_labels(good)
    assert scenario == {} and events["start"].iloc[0] == pd.Timestamp("2026-03-02 09:00", tz="UTC")
    assert {"node_id", "dma_id", "junction", "latitude", "longitude"} <= set(events.columns)
    for body, message in (
        ([{"id": "a", "type": "burst", "start": "2026-03-02T10:00Z"}], "lacks end"),
        ([{"id": "a", "type": "burst", "start": "2026-03-02T10:00", "end": "2026-03-02T11:00"}], "no offset"),
        ([{"id": "a", "type": "burst", "start": "2026-03-02T12:00Z", "end": "2026-03-02T11:00Z"}], "ends before"),
        ({"scenario": {}}, "expected a list of events"),
    ):
        good.write_text(json.dumps(body))
        with pytest.raises(AbbanoaError, match=message):
            load_labels(good)


def test_evaluate_without_data_is_a_one_line_error(tmp_path, db, settings, capsys):
    # given a scenario directory without labels, then one whose data was never imported
    assert main(["evaluate", str(tmp_path)]) == 1
    assert "labels.json not found" in capsys.readouterr().err
    out = tmp_path / "scenario"
    simulate(out, 1, 3, parse_start("2020-01-06", 1, "Europe/Rome"), "Europe/Rome")
    assert main(["evaluate", str(out), "--skip-import", "--batch"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no readings in PostgreSQL") and err.count("\n") == 1
    # and a database that does not exist is named, not a traceback
    url = sa.make_url(settings.sqlalchemy_url).set(database="abbanoa_no_such_db")
    settings_module.reset_settings(settings.with_(database_url=url.render_as_string(hide_password=False)))
    assert main(["evaluate", str(out), "--skip-import", "--batch"]) == 1
    err = capsys.readouterr().err
    assert "abbanoa_no_such_db" in err and err.count("\n") == 1
