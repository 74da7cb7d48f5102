"""`check` and `import` against a BigQuery endpoint that answers 500 or never answers:
one line of error, well within 30 s (before: 10-12 minutes of silent client retries)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from ..conftest import REPO_ROOT, subprocess_env


def start_cli(settings, bigquery_url, *args):
    return subprocess.Popen(
        [sys.executable, "-m", "abbanoa", *args],
        cwd=REPO_ROOT,
        env=subprocess_env(settings, BIGQUERY_EMULATOR_HOST=bigquery_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# "hang" (about 20 s here) runs in bench/faults/run_faults.py
@pytest.mark.parametrize("mode", ["500"])
def test_check_and_import_report_a_failing_or_hung_bigquery_in_one_line_within_30_s(
    database, stub_bigquery, tmp_path, mode
):
    stub = stub_bigquery(mode)
    csv = tmp_path / "readings.csv"
    csv.write_text("timestamp,node_id,metric,value,unit\n2026-11-20T10:00:00Z,FM1,flow_rate,1.5,l/s\n")

    started = time.monotonic()
    check = start_cli(database, stub.url, "check")
    imported = start_cli(database, stub.url, "import", str(csv))
    check_out, check_err = check.communicate(timeout=60)
    import_out, import_err = imported.communicate(timeout=60)
    took = time.monotonic() - started

    assert took < 30
    assert check.returncode == 1 and imported.returncode == 1
    line = [x for x in check_out.splitlines() if x.startswith("bigquery")]
    assert len(line) == 1 and "FAIL" in line[0] and stub.url in line[0], check_out
    assert "Traceback" not in check_err
    errors = import_err.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("error: BigQuery at " + stub.url), import_err
    assert stub.requests >= 2
