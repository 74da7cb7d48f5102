"""Run discipline for every job: a lock, a run record, Pub/Sub dedupe, failures re-raised.

The lock is the partial unique index `job_runs_one_running` (one 'running' row per job):
a second run that cannot insert its row is recorded as skipped and returns cleanly. A
crashed run's row keeps the lock only until its lease (the job's timeout) expires.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa

from abbanoa.jobs import schedule
from abbanoa.jobs.base import JobContext, JobOutcome
from abbanoa.settings import Settings, get_settings
from abbanoa.stores import postgres

log = logging.getLogger(__name__)


@dataclass
class RunRecord:
    run_id: int | None
    job_name: str
    status: str  # succeeded | failed | skipped | duplicate
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
) -> RunRecord:
    """Run one job once under its lock; raise what the job raised after recording it."""
    settings = settings or get_settings()
    spec = schedule.job(name)
    func = spec.load()
    eng = postgres.engine(settings)
    handler = f"job:{name}"

    with eng.begin() as conn:
        if event_id is not None:
            seen = conn.execute(
                sa.text("SELECT 1 FROM processed_events WHERE event_id = :e AND handler = :h"),
                {"e": event_id, "h": handler},
            ).scalar()
            if seen:
                log.info("event %s for %s already handled: acknowledged, not run again", event_id, name)
                return RunRecord(None, name, "duplicate")
        # a crashed run's lock lapses with its lease
        conn.execute(
            sa.text(
                "UPDATE job_runs SET status = 'failed', finished_at = now(), "
                "error = 'lease expired: the run did not finish (crash or timeout)' "
                "WHERE job_name = :n AND status = 'running' AND lease_expires_at < now()"
            ),
            {"n": name},
        )

    started = dt.datetime.now(dt.UTC)
    try:
        with eng.begin() as conn:
            run_id = conn.execute(
                sa.text(
                    "INSERT INTO job_runs (job_name, trigger, event_id, status, started_at, lease_expires_at)"
                    " VALUES (:n, :t, :e, 'running', :s, CAST(:s AS timestamptz) + make_interval(secs => :lease))"
                    " RETURNING run_id"
                ),
                {"n": name, "t": trigger, "e": event_id, "s": started, "lease": spec.timeout_s},
            ).scalar_one()
    except sa.exc.IntegrityError:
        with eng.begin() as conn:
            run_id = conn.execute(
                sa.text(
                    "INSERT INTO job_runs (job_name, trigger, event_id, status, started_at, finished_at,"
                    " details) VALUES (:n, :t, :e, 'skipped', :s, now(), :d) RETURNING run_id"
                ),
                {
                    "n": name,
                    "t": trigger,
                    "e": event_id,
                    "s": started,
                    "d": json.dumps({"reason": "another run of this job is in progress"}),
                },
            ).scalar_one()
        log.info("%s is already running: run %s skipped", name, run_id)
        return RunRecord(run_id, name, "skipped", started_at=started, finished_at=dt.datetime.now(dt.UTC))

    ctx = JobContext(job_name=name, settings=settings, now=now or started, run_id=run_id, params=params or {})
    try:
        outcome = func(ctx) or JobOutcome()
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:4000]
        with eng.begin() as conn:
            conn.execute(
                sa.text("UPDATE job_runs SET status = 'failed', finished_at = now(), error = :err WHERE run_id = :r"),
                {"err": error, "r": run_id},
            )
        log.exception("job %s run %s failed", name, run_id)
        raise

    finished = dt.datetime.now(dt.UTC)
    with eng.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE job_runs SET status = 'succeeded', finished_at = :f, rows_processed = :rows, "
                "watermark_before = :wb, watermark_after = :wa, details = :d WHERE run_id = :r"
            ),
            {
                "f": finished,
                "rows": outcome.rows,
                "wb": outcome.watermark_before,
                "wa": outcome.watermark_after,
                "d": json.dumps(outcome.details, default=str),
                "r": run_id,
            },
        )
        if event_id is not None:
            conn.execute(
                sa.text("INSERT INTO processed_events (event_id, handler) VALUES (:e, :h) ON CONFLICT DO NOTHING"),
                {"e": event_id, "h": handler},
            )
    log.info("job %s run %s succeeded: %s rows", name, run_id, outcome.rows)
    return RunRecord(
        run_id,
        name,
        "succeeded",
        rows=outcome.rows,
        started_at=started,
        finished_at=finished,
        watermark_before=outcome.watermark_before,
        watermark_after=outcome.watermark_after,
        details=outcome.details,
    )
