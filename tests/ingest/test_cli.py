"""`python -m abbanoa import`: the summary, and one clear line for bad input."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import subprocess_env


def run_cli(settings, *args):
    return subprocess.run(
        [sys.executable, "-m", "abbanoa", "import", *args],
        env=subprocess_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_command_prints_a_summary_by_reason(tmp_path, db, warehouse, tenant, network):
    readings = tmp_path / "readings.csv"
    readings.write_text(
        "timestamp,node_id,metric,value,unit\n"
        f"2025-05-01T00:00:00Z,{network['pressure']},pressure,3.2,bar\n"
        f"2025-05-01T00:00:00Z,{network['pressure']},pressure,3.2,bar\n"
        f"2025-05-01T00:15:00Z,{network['pressure']},pressure,abc,bar\n"
    )

    done = run_cli(warehouse.settings, *map(str, network["files"]), str(readings), "--tenant", tenant)

    assert done.returncode == 0, done.stderr
    assert f"{readings} (readings): 3 rows read, 1 loaded, 1 duplicates, 1 quarantined" in done.stdout
    assert "quarantined by reason: invalid_field 1, non_numeric 1, unknown_node 1" in done.stdout
    assert "\r" not in done.stderr  # no progress bar when not on a terminal


def test_an_unknown_header_is_one_line_and_nothing_is_imported(tmp_path, db, warehouse, tenant, network):
    strange = tmp_path / "export.csv"
    strange.write_text("Zeit;Messstelle;Wert\n")

    done = run_cli(warehouse.settings, str(network["files"][1]), str(strange), "--tenant", tenant)

    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert done.stderr.startswith(f"error: {strange}: unrecognised header 'Zeit;Messstelle;Wert'")


def test_a_missing_file_is_one_line(tmp_path, settings):
    done = run_cli(settings, str(tmp_path / "nowhere.csv"))

    assert done.returncode == 1
    assert done.stderr == f"error: {tmp_path / 'nowhere.csv'}: no such file\n"
