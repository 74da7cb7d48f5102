"""`check` and `import` against a BigQuery endpoint that answers 500 or never answers:
one line of error, well within 30 s (before: 10-12 minutes of silent client retries).

The promise to the user is 30 s from the command. What the product bounds is measured
where it happens, so that a machine too loaded to start Python quickly does not decide
the result: inside the child (from its first line of Python to its exit), and the
BigQuery part on its own (from the stub's first request to the child's exit, against
the probe's deadline, CHECK_DEADLINE_S). The wall time from spawning is kept as a guard
against a hang only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from abbanoa.stores.bigquery import CHECK_DEADLINE_S

from ..conftest import REPO_ROOT, subprocess_env

PROMISE_S = 30  # the user's bound for a one-line error
EXIT_SLACK_S = 3  # printing the line and leaving the interpreter after the probe gave up
HANG_GUARD_S = 120

# the CLI with its own clock: time.monotonic() is the system's monotonic clock, so the
# child's readings compare with the stub's in this process
TIMED_CLI = (
    "import json, os, sys, time\n"
    "started = time.monotonic()\n"
    "from abbanoa.__main__ import main\n"
    "try:\n"
    "    code = main(sys.argv[1:])\n"
    "finally:\n"
    "    with open(os.environ['CLI_TIMING'], 'w') as out:\n"
    "        json.dump({'started': started, 'exited': time.monotonic(), 'cpu_s': time.process_time()}, out)\n"
    "sys.exit(code)\n"
)


def start_cli(settings, bigquery_url, timing, *args):
    return subprocess.Popen(
        [sys.executable, "-c", TIMED_CLI, *args],
        cwd=REPO_ROOT,
        env=subprocess_env(settings, BIGQUERY_EMULATOR_HOST=bigquery_url, CLI_TIMING=str(timing)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def assert_bounded(timing, stub, what):
    t = json.loads(timing.read_text())
    inside = t["exited"] - t["started"]
    probing = t["exited"] - stub.first_request_at
    assert probing <= CHECK_DEADLINE_S + EXIT_SLACK_S, f"{what}: {probing:.1f} s from the first BigQuery request"
    assert inside < PROMISE_S, f"{what}: {inside:.1f} s inside the process (CPU {t['cpu_s']:.1f} s)"
    print(
        f"{what}: {inside:.1f} s inside the process (CPU {t['cpu_s']:.1f} s), of which {probing:.1f} s "
        f"from the first BigQuery request; load average {os.getloadavg()[0]:.1f}"
    )


# "hang" runs in bench/faults/run_faults.py (slow_faults.py)
@pytest.mark.parametrize("mode", ["500"])
def test_check_and_import_report_a_failing_or_hung_bigquery_in_one_line_within_30_s(
    database, stub_bigquery, tmp_path, mode
):
    stub, import_stub = stub_bigquery(mode), stub_bigquery(mode)  # one each: each its own first request
    csv = tmp_path / "readings.csv"
    csv.write_text("timestamp,node_id,metric,value,unit\n2026-11-20T10:00:00Z,FM1,flow_rate,1.5,l/s\n")

    started = time.monotonic()
    check = start_cli(database, stub.url, tmp_path / "check.json", "check")
    imported = start_cli(database, import_stub.url, tmp_path / "import.json", "import", str(csv))
    check_out, check_err = check.communicate(timeout=HANG_GUARD_S)
    import_out, import_err = imported.communicate(timeout=HANG_GUARD_S)

    assert_bounded(tmp_path / "check.json", stub, "check")
    assert_bounded(tmp_path / "import.json", import_stub, "import")
    assert time.monotonic() - started < HANG_GUARD_S, os.getloadavg()
    assert check.returncode == 1 and imported.returncode == 1
    line = [x for x in check_out.splitlines() if x.startswith("bigquery")]
    assert len(line) == 1 and "FAIL" in line[0] and stub.url in line[0], check_out
    assert "Traceback" not in check_err
    errors = import_err.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("error: BigQuery at " + import_stub.url), import_err
    retried = 2 if mode == "500" else 1  # a hung request takes half the deadline: no time for a second
    assert stub.requests >= retried and import_stub.requests >= retried
