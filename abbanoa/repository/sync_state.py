"""The sync jobs' own state in PostgreSQL: watermarks (sync_watermarks) and the
ingestion batches already copied (sync_batches)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa


def get_watermark(conn: sa.Connection, name: str) -> dt.datetime | None:
    return conn.execute(sa.text("SELECT value FROM sync_watermarks WHERE name = :n"), {"n": name}).scalar()


def set_watermark(conn: sa.Connection, name: str, value: dt.datetime) -> None:
    conn.execute(
        sa.text(
            "INSERT INTO sync_watermarks (name, value, updated_at) VALUES (:n, :v, now()) "
            "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, updated_at = now()"
        ),
        {"n": name, "v": value},
    )


def seen_batches(conn: sa.Connection, name: str, since: dt.datetime) -> dict[dt.datetime, int]:
    """Batches (ingestion time -> rows) copied whose ingestion time is after `since`."""
    return dict(
        conn.execute(
            sa.text("SELECT ingested_at, rows FROM sync_batches WHERE name = :n AND ingested_at > :s"),
            {"n": name, "s": since},
        ).all()
    )


def seen_of(conn: sa.Connection, name: str, times: list[dt.datetime]) -> dict[dt.datetime, int]:
    """The copied row counts of these ingestion times (absent: never copied)."""
    if not times:
        return {}
    return dict(
        conn.execute(
            sa.text("SELECT ingested_at, rows FROM sync_batches WHERE name = :n AND ingested_at = ANY(:t)"),
            {"n": name, "t": list(times)},
        ).all()
    )


def record_batches(conn: sa.Connection, name: str, counts: dict[dt.datetime, int]) -> None:
    """Remember which ingestion batches have been copied whole (and how many rows they had)."""
    if counts:
        conn.execute(
            sa.text(
                "INSERT INTO sync_batches (name, ingested_at, rows) VALUES (:n, :t, :r) "
                "ON CONFLICT (name, ingested_at) DO UPDATE SET rows = EXCLUDED.rows, synced_at = now()"
            ),
            [{"n": name, "t": t, "r": n} for t, n in counts.items()],
        )


def forget_batches(conn: sa.Connection, name: str, ingested_before: dt.datetime, synced_before: dt.datetime) -> None:
    """Drop the memory of batches both older than the re-read window and copied long ago."""
    conn.execute(
        sa.text("DELETE FROM sync_batches WHERE name = :n AND ingested_at <= :old AND synced_at < :synced"),
        {"n": name, "old": ingested_before, "synced": synced_before},
    )
