"""Run discipline for every job: a lock that dies with its holder, a run record, Pub/Sub
dedupe, and an outcome its caller can act on.

- Lock: a PostgreSQL session advisory lock on a connection held for the run
  (abbanoa/repository/job_runs.py). A killed process or a dropped connection releases it
  at once; the next run marks the dead run's `running` row failed.
- A run that finds the lock taken is recorded `skipped` and says so: the CLI exits
  non-zero, and `covered` tells a Pub/Sub caller whether the running run started after
  the event was sent (it then does the event's work) or not (nack, so it is redelivered).
- A job that ran but could not do its work returns JobOutcome(degraded=reason): recorded
  `degraded`, not `succeeded`.
- Failures are recorded, then re-raised.
"""

from __future__ import annotations

import datetime as dt
import logging
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from abbanoa import faults
from abbanoa.jobs import schedule
from abbanoa.jobs.base import JobContext, JobOutcome
from abbanoa.repository import job_runs
from abbanoa.settings import Settings, get_settings
from abbanoa.stores import postgres

log = logging.getLogger(__name__)


@dataclass
class RunRecord:
    run_id: int | None
    job_name: str
    status: str  # succeeded | degraded | failed | skipped | duplicate
    rows: int = 0
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    watermark_before: dt.datetime | None = None
    watermark_after: dt.datetime | None = None
    details: dict[str, Any] | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, dt.datetime) else v) for k, v in asdict(self).items()}


def run_job(
    name: str,
    settings: Settings | None = None,
    trigger: str = "cli",
    event_id: str | None = None,
    params: dict[str, Any] | None = None,
    now: dt.datetime | None = None,
    event_time: dt.datetime | None = None,
) -> RunRecord:
    """Run one job once under its lock; raise what the job raised after recording it."""
    settings = settings or get_settings()
    spec = schedule.job(name)
    eng = postgres.engine(settings)
    if event_id is not None and _already_handled(eng, name, event_id):
        log.info("event %s for %s already handled: acknowledged, not run again", event_id, name)
        return RunRecord(None, name, "duplicate")
    started = dt.datetime.now(dt.UTC)
    with _job_lock(eng, name) as held:
        if not held:
            return _skip(eng, name, trigger, event_id, started, event_time)
        with eng.begin() as conn:
            orphans = job_runs.fail_orphans(conn, name)
            run_id = job_runs.start(conn, name, trigger, event_id, started)
        if orphans:
            log.warning("%s: %d earlier run(s) had died while running; marked failed", name, orphans)
        ctx = JobContext(job_name=name, settings=settings, now=now or started, run_id=run_id, params=params or {})
        outcome = _execute(eng, spec, ctx)
        return _finish(eng, name, run_id, started, outcome, event_id)


def _already_handled(eng, name: str, event_id: str) -> bool:
    with eng.connect() as conn:
        return job_runs.event_seen(conn, event_id, f"job:{name}")


@contextmanager
def _job_lock(eng, name: str):
    """Hold the job's advisory lock on a dedicated connection for the block's duration."""
    conn = eng.connect().execution_options(isolation_level="AUTOCOMMIT")
    held = False
    try:
        held = job_runs.try_lock(conn, name)
        yield held
    finally:
        try:
            if held:
                job_runs.unlock(conn, name)
        except Exception:  # the connection is gone, and the lock with it
            conn.invalidate()
        conn.close()


def _skip(eng, name, trigger, event_id, started, event_time) -> RunRecord:
    with eng.begin() as conn:
        since = job_runs.running_since(conn, name)
        # the running run does this event's work only if it started after the event was sent
        covered = event_time is None or (since is not None and since >= event_time)
        details = {"reason": "another run of this job is in progress", "running_since": since, "covered": covered}
        run_id = job_runs.record_skip(conn, name, trigger, event_id, started, details)
    log.warning("%s is already running (since %s): run %s skipped", name, since, run_id)
    return RunRecord(run_id, name, "skipped", started_at=started, finished_at=dt.datetime.now(dt.UTC), details=details)


def _execute(eng, spec, ctx: JobContext) -> JobOutcome:
    faults.stage(f"{ctx.job_name}:start")
    try:
        return spec.load()(ctx) or JobOutcome()
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        try:
            with eng.begin() as conn:
                job_runs.fail(conn, ctx.run_id, error)
        except Exception:  # e.g. PostgreSQL itself went away: the next run marks the row failed
            log.exception("job %s run %s: the failure could not be recorded", ctx.job_name, ctx.run_id)
        log.exception("job %s run %s failed", ctx.job_name, ctx.run_id)
        raise


def _finish(eng, name: str, run_id: int, started, outcome: JobOutcome, event_id: str | None) -> RunRecord:
    finished = dt.datetime.now(dt.UTC)
    status = "degraded" if outcome.degraded else "succeeded"
    with eng.begin() as conn:
        job_runs.finish(
            conn,
            run_id,
            status,
            finished,
            outcome.rows,
            outcome.watermark_before,
            outcome.watermark_after,
            outcome.details,
            error=outcome.degraded,
        )
        if event_id is not None and status == "succeeded":
            job_runs.mark_event_processed(conn, event_id, f"job:{name}")
    log.log(
        logging.WARNING if outcome.degraded else logging.INFO,
        "job %s run %s %s: %s rows%s",
        name,
        run_id,
        status,
        outcome.rows,
        f" ({outcome.degraded})" if outcome.degraded else "",
    )
    return RunRecord(
        run_id,
        name,
        status,
        rows=outcome.rows,
        started_at=started,
        finished_at=finished,
        watermark_before=outcome.watermark_before,
        watermark_after=outcome.watermark_after,
        details=outcome.details,
        error=outcome.degraded,
    )
