"""The whole fault suite, the slow injections included (docs/reliability.md):

    .venv/bin/python bench/faults/run_faults.py

runs tests/faults (also part of `make test`) plus tests/faults/slow_faults.py (the rest
of the kill -9 stage matrix, a hung BigQuery endpoint) against the local services, and
prints each injection with its result and duration. Bounded: each test has its own
timeouts; the whole run takes a few minutes on 2 cores."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def main() -> int:
    started = time.monotonic()
    code = 0
    # two runs: given with its directory, pytest would fold slow_faults.py into tests/faults
    # and not collect it (its name does not start with test_)
    for target in ("tests/faults", "tests/faults/slow_faults.py"):
        done = subprocess.run(
            [sys.executable, "-m", "pytest", target, "-p", "no:randomly", "-n", "0", "-rA", "-q", "--durations=0"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=1800,
        )
        for line in done.stdout.splitlines():
            if (
                line.startswith(("PASSED", "FAILED", "ERROR", "E   "))
                or " call " in line
                or " passed" in line
                or " inside the process" in line
            ):
                print(line)
        code = code or done.returncode
    print(f"fault suite: exit {code} in {time.monotonic() - started:.0f} s; load average {os.getloadavg()[0]:.2f}")
    return code


if __name__ == "__main__":
    sys.exit(main())
