"""`python -m abbanoa run-job NAME [--param k=v]` in a child process."""

from __future__ import annotations

import json
import subprocess
import sys

import sqlalchemy as sa

from ..conftest import REPO_ROOT, subprocess_env


def run_cli(settings, *args):
    return subprocess.run(
        [sys.executable, "-m", "abbanoa", "run-job", *args],
        cwd=REPO_ROOT,
        env=subprocess_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_run_job_runs_the_job_once_with_its_parameters_and_prints_the_run(jobs_settings, registry):
    done = run_cli(jobs_settings, "daily_sync", "--param", "days=2")

    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout.strip().splitlines()[-1])
    assert record["status"] == "succeeded"
    assert record["details"]["days"] == 2
    with registry.connect() as conn:
        assert conn.execute(sa.text("SELECT trigger, status FROM job_runs")).all() == [("cli", "succeeded")]


def test_a_malformed_parameter_is_one_line_of_error_and_runs_nothing(jobs_settings, registry):
    done = run_cli(jobs_settings, "daily_sync", "--param", "days")

    assert done.returncode == 1
    assert done.stderr.strip() == "error: --param must look like KEY=VALUE, got 'days'"
    with registry.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM job_runs")).scalar() == 0
