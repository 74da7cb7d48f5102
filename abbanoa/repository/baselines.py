"""Detection's stored baselines (sql/0060_detection_baselines.sql): per local day, each
series' reference per local hour, and what its hours share (typical spread, scale, usual
reporting interval). Written by the day's baseline step, read by every tick."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa

from abbanoa.analytics.baseline import REFERENCE_COLUMNS, SERIES_COLUMNS
from abbanoa.repository.bulk import read_frame
from abbanoa.stores import postgres

KEEP_DAYS = 7  # days of stored baselines kept (a tick reaches back 3 at most)


def node_batches(conn: sa.Connection, size: int) -> list[list[str]]:
    """The active nodes in batches of `size` (ordered by id): the baseline step reads each
    batch's hours through the readings_1h key (node_id first), so together they read the
    weeks once; a hash of the id per batch read every hour of the weeks once per batch."""
    ids = [r[0] for r in conn.execute(sa.text("SELECT node_id FROM nodes WHERE active ORDER BY node_id"))]
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def stored_days(conn: sa.Connection, days: list[dt.date]) -> set[dt.date]:
    """Which of `days` have their baselines stored."""
    rows = conn.execute(sa.text("SELECT day FROM detection_baseline_days WHERE day = ANY(:d)"), {"d": days}).all()
    return {r.day for r in rows}


def replace_day(
    conn: sa.Connection,
    day: dt.date,
    refs: pd.DataFrame,
    stats: pd.DataFrame,
    history: tuple[dt.datetime, dt.datetime],
) -> None:
    """Store one day's baselines in place of any earlier ones (idempotent); older days expire."""
    for table in ("detection_baselines", "detection_series", "detection_baseline_days"):
        conn.execute(sa.text(f"DELETE FROM {table} WHERE day = :d OR day < :old"), {"d": day, "old": _oldest(day)})
    postgres.copy_rows(conn, "detection_baselines", REFERENCE_COLUMNS, _rows(refs.assign(day=day), REFERENCE_COLUMNS))
    columns = SERIES_COLUMNS + ["interval_s"]
    postgres.copy_rows(conn, "detection_series", ["day", *columns], _rows(stats.assign(day=day), ["day", *columns]))
    conn.execute(
        sa.text(
            "INSERT INTO detection_baseline_days (day, history_from, history_until, series) VALUES (:d, :f, :u, :n)"
        ),
        {"d": day, "f": history[0], "u": history[1], "n": len(stats)},
    )


def _oldest(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=KEEP_DAYS)


def _rows(frame: pd.DataFrame, columns: list[str]):
    frame = frame[columns].astype(object).where(frame[columns].notna(), None)
    return frame.itertuples(index=False, name=None)


def read_hours(conn: sa.Connection, hours: list[tuple[dt.date, int]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """References of every series for the (local day, hod) pairs, and the series rows of those days."""
    days = sorted({d for d, _ in hours})
    pairs = ", ".join(f"('{d.isoformat()}'::date, {int(h)})" for d, h in sorted(set(hours)))
    refs = read_frame(
        conn,
        "SELECT b.node_id, b.metric, b.day, b.hod, b.expected, b.spread, b.basis FROM detection_baselines b"
        f" JOIN (VALUES {pairs}) AS want(day, hod) ON want.day = b.day AND want.hod = b.hod",
        REFERENCE_COLUMNS,
        {"node_id": "str", "metric": "str", "day": "str", "hod": "int64", "expected": "float64", "spread": "float64"},
    )
    stats = read_frame(
        conn,
        "SELECT day, node_id, metric, typical_spread, series_scale, interval_s FROM detection_series"
        " WHERE day = ANY(:days)",
        ["day", *SERIES_COLUMNS, "interval_s"],
        {
            "node_id": "str",
            "metric": "str",
            "day": "str",
            **dict.fromkeys(SERIES_COLUMNS[2:] + ["interval_s"], "float64"),
        },
        days=days,
    )
    refs["day"] = pd.to_datetime(refs["day"])
    stats["day"] = pd.to_datetime(stats["day"])
    return refs, stats
