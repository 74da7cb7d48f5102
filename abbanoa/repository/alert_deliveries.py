"""alert_deliveries: one row per (alert idempotency key, webhook), claimed before the POST."""

from __future__ import annotations

import sqlalchemy as sa

FINAL = ("delivered", "dead_lettered", "unconfirmed")


def claim(conn: sa.Connection, key: str, target: str, claim_s: float) -> int | None:
    """Claim the delivery for `claim_s` seconds; returns this attempt's number, or None when
    it is delivered / given up, or claimed by a live attempt elsewhere."""
    return conn.execute(
        sa.text(
            "INSERT INTO alert_deliveries (idempotency_key, target, status, attempts, claimed_until)"
            " VALUES (:k, :t, 'sending', 1, now() + make_interval(secs => :c))"
            " ON CONFLICT (idempotency_key, target) DO UPDATE SET status = 'sending',"
            " attempts = alert_deliveries.attempts + 1, claimed_until = EXCLUDED.claimed_until, updated_at = now()"
            " WHERE alert_deliveries.status = 'failed'"
            " OR (alert_deliveries.status = 'sending' AND alert_deliveries.claimed_until < now())"
            " RETURNING attempts"
        ),
        {"k": key, "t": target, "c": claim_s},
    ).scalar()


def status_of(conn: sa.Connection, key: str, target: str) -> str | None:
    return conn.execute(
        sa.text("SELECT status FROM alert_deliveries WHERE idempotency_key = :k AND target = :t"),
        {"k": key, "t": target},
    ).scalar()


def record(conn: sa.Connection, key: str, target: str, status: str, http_status: int | None, error: str | None) -> None:
    """The claimed attempt's result; the claim is released."""
    conn.execute(
        sa.text(
            "UPDATE alert_deliveries SET status = :s, http_status = :h, error = :e, claimed_until = NULL,"
            " updated_at = now() WHERE idempotency_key = :k AND target = :t"
        ),
        {"k": key, "t": target, "s": status, "h": http_status, "e": error},
    )
