"""The job runs' records and locks (job_runs, processed_events): the runner's SQL.

The lock is a PostgreSQL session advisory lock held on a connection of its own for the
whole run: it dies with its holder (a killed process, a dropped connection), so a crashed
run never blocks the next one. The `running` row of a run whose holder died is found by
the next run that takes the lock and marked failed.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa

# advisory lock keys are bigints; the job's lock is (LOCK_CLASS, hashtext(job name))
LOCK_CLASS = 20_021


def try_lock(conn: sa.Connection, name: str) -> bool:
    """Take the job's session lock on this connection without waiting; False when held."""
    return bool(
        conn.execute(sa.text("SELECT pg_try_advisory_lock(:c, hashtext(:n))"), {"c": LOCK_CLASS, "n": name}).scalar()
    )


def unlock(conn: sa.Connection, name: str) -> None:
    conn.execute(sa.text("SELECT pg_advisory_unlock(:c, hashtext(:n))"), {"c": LOCK_CLASS, "n": name})


def event_seen(conn: sa.Connection, event_id: str, handler: str) -> bool:
    """True when this Pub/Sub message already ran successfully for this handler."""
    found = conn.execute(
        sa.text("SELECT 1 FROM processed_events WHERE event_id = :e AND handler = :h"),
        {"e": event_id, "h": handler},
    ).scalar()
    return bool(found)


def mark_event_processed(conn: sa.Connection, event_id: str, handler: str) -> None:
    conn.execute(
        sa.text("INSERT INTO processed_events (event_id, handler) VALUES (:e, :h) ON CONFLICT DO NOTHING"),
        {"e": event_id, "h": handler},
    )


def fail_orphans(conn: sa.Connection, name: str) -> int:
    """Mark failed the `running` rows of this job; only called while holding its lock, so
    their process is gone (killed, or lost its database connection). Returns rows marked."""
    return conn.execute(
        sa.text(
            "UPDATE job_runs SET status = 'failed', finished_at = now(), "
            "error = 'the run died before finishing (process killed or database connection lost)' "
            "WHERE job_name = :n AND status = 'running'"
        ),
        {"n": name},
    ).rowcount


def running_since(conn: sa.Connection, name: str) -> dt.datetime | None:
    """When the job's current run started (None when none is recorded)."""
    return conn.execute(
        sa.text("SELECT max(started_at) FROM job_runs WHERE job_name = :n AND status = 'running'"), {"n": name}
    ).scalar()


def start(conn: sa.Connection, name: str, trigger: str, event_id: str | None, started: dt.datetime) -> int:
    """Record a run as running; returns its id."""
    return conn.execute(
        sa.text(
            "INSERT INTO job_runs (job_name, trigger, event_id, status, started_at)"
            " VALUES (:n, :t, :e, 'running', :s) RETURNING run_id"
        ),
        {"n": name, "t": trigger, "e": event_id, "s": started},
    ).scalar_one()


def record_skip(
    conn: sa.Connection, name: str, trigger: str, event_id: str | None, started: dt.datetime, details: dict[str, Any]
) -> int:
    return conn.execute(
        sa.text(
            "INSERT INTO job_runs (job_name, trigger, event_id, status, started_at, finished_at, details)"
            " VALUES (:n, :t, :e, 'skipped', :s, now(), :d) RETURNING run_id"
        ),
        {"n": name, "t": trigger, "e": event_id, "s": started, "d": json.dumps(details, default=str)},
    ).scalar_one()


def fail(conn: sa.Connection, run_id: int, error: str) -> None:
    conn.execute(
        sa.text("UPDATE job_runs SET status = 'failed', finished_at = now(), error = :err WHERE run_id = :r"),
        {"err": error[:4000], "r": run_id},
    )


def finish(
    conn: sa.Connection,
    run_id: int,
    status: str,
    finished: dt.datetime,
    rows: int,
    watermark_before: dt.datetime | None,
    watermark_after: dt.datetime | None,
    details: dict[str, Any],
    error: str | None = None,
) -> None:
    """Record a run's end: succeeded, or degraded (it ran but could not do all its work)."""
    conn.execute(
        sa.text(
            "UPDATE job_runs SET status = :st, finished_at = :f, rows_processed = :rows, "
            "watermark_before = :wb, watermark_after = :wa, details = :d, error = :err WHERE run_id = :r"
        ),
        {
            "st": status,
            "f": finished,
            "rows": rows,
            "wb": watermark_before,
            "wa": watermark_after,
            "d": json.dumps(details, default=str),
            "err": error,
            "r": run_id,
        },
    )
