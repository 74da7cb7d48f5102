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


def test_a_directory_imports_its_known_files_and_names_the_others(tmp_path, db, warehouse, tenant, network):
    (tmp_path / "truth.csv").write_text("ts,dma_id,inflow_m3,consumption_m3,leak_m3\n")
    (tmp_path / "readings.csv").write_text(
        f"timestamp,node_id,metric,value,unit\n2025-05-01T00:00:00Z,{network['pressure']},pressure,3.2,bar\n"
    )

    done = run_cli(warehouse.settings, str(tmp_path), "--tenant", tenant)

    assert done.returncode == 0, done.stderr
    assert f"{tmp_path / 'truth.csv'}: skipped (not a known kind of file)" in done.stdout
    assert f"{tmp_path / 'readings.csv'} (readings): 1 rows read, 1 loaded" in done.stdout
    assert f"{tmp_path / 'nodes.csv'} (nodes): 3 rows read, 2 loaded" in done.stdout


def test_a_progress_bar_is_drawn_on_a_terminal(tmp_path, db, warehouse, tenant, network):
    import fcntl
    import os
    import pty
    import select
    import struct
    import termios

    main, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 100 columns
    try:
        done = subprocess.run(
            [sys.executable, "-m", "abbanoa", "import", str(network["files"][1]), "--tenant", tenant],
            env=subprocess_env(warehouse.settings),
            stdout=subprocess.PIPE,
            stderr=terminal,
            timeout=120,
        )
        drawn = b""
        while select.select([main], [], [], 0.5)[0]:
            drawn += os.read(main, 4096)
    finally:
        os.close(terminal)
        os.close(main)

    assert done.returncode == 0
    assert b"nodes.csv:" in drawn and b"%" in drawn
