"""A skipped or degraded run says so to its caller: Pub/Sub gets a nack when the run
holding the lock may not do the event's work; `run-job` exits non-zero; cache_refresh
with Redis stopped is degraded, not succeeded."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from contextlib import contextmanager

import sqlalchemy as sa
from functions_framework import create_app

from abbanoa.jobs.runner import run_job
from abbanoa.repository import job_runs
from abbanoa.stores import postgres

from ..conftest import REPO_ROOT, subprocess_env

PAYLOADS = REPO_ROOT / "tests" / "jobs" / "payloads"
MAIN = str(REPO_ROOT / "functions" / "main.py")
CLOSED_PORT = 18301  # nothing listens here: Redis "stopped" (the reliability range 18300-18399)


@contextmanager
def another_run(settings, job, running_since: dt.datetime | None):
    """Another live run of `job`: its lock held on a connection, its row recorded."""
    conn = postgres.engine(settings).connect().execution_options(isolation_level="AUTOCOMMIT")
    assert job_runs.try_lock(conn, job)
    if running_since is not None:
        with postgres.engine(settings).begin() as tx:
            job_runs.start(tx, job, "test", None, running_since)
    try:
        yield
    finally:
        job_runs.unlock(conn, job)  # a session lock outlives close() on a pooled connection
        conn.close()


def push(settings, event_time: dt.datetime):
    client = create_app("job_pubsub", MAIN, "cloudevent").test_client()
    body = json.loads((PAYLOADS / "scheduler_push.json").read_text())
    stamp = event_time.strftime("%Y-%m-%dT%H:%M:%SZ")
    body["message"]["publishTime"] = body["message"]["publish_time"] = stamp
    return client.post(f"/projects/{settings.gcp_project}/topics/job-daily-sync", json=body)


def test_a_pubsub_run_skipped_behind_an_older_run_is_nacked_and_behind_a_newer_one_acked(jobs_settings, registry):
    sent = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=30)
    with another_run(jobs_settings, "daily_sync", sent - dt.timedelta(minutes=10)):
        nacked = push(jobs_settings, sent)
    with registry.begin() as conn:
        conn.execute(sa.text("DELETE FROM job_runs"))
    with another_run(jobs_settings, "daily_sync", sent + dt.timedelta(seconds=5)):
        acked = push(jobs_settings, sent)

    assert nacked.status_code == 500  # redelivered later: that day's daily_sync is not lost
    assert acked.status_code == 200  # the running run started after the event: it does the work


def test_run_job_exits_non_zero_when_skipped(jobs_settings, registry):
    with another_run(jobs_settings, "cache_refresh", dt.datetime.now(dt.UTC)):
        done = subprocess.run(
            [sys.executable, "-m", "abbanoa", "run-job", "cache_refresh"],
            cwd=REPO_ROOT,
            env=subprocess_env(jobs_settings),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 4
    assert "another run is in progress" in done.stderr


def test_cache_refresh_with_redis_stopped_is_degraded(jobs_settings, registry):
    from abbanoa.stores import cache as cache_module

    cache_module.reset_clients()
    settings = jobs_settings.with_(redis_url=f"redis://127.0.0.1:{CLOSED_PORT}/0")
    started = time.monotonic()
    try:
        record = run_job("cache_refresh", settings)
    finally:
        cache_module.reset_clients()

    assert record.status == "degraded"
    assert "Redis took 0 of" in record.error
    assert time.monotonic() - started < 30
    with registry.connect() as conn:
        assert conn.execute(sa.text("SELECT status FROM job_runs")).scalar() == "degraded"
