"""quality_compliance's rows: which stored days are stale, the quality readings and
threshold overrides of a window, and the upserts of daily compliance and excursions."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa

from abbanoa.analytics import compliance


def stale_start(conn: sa.Connection, before: dt.datetime, tz: str) -> dt.datetime | None:
    """UTC start of the oldest local day before `before` whose quality samples in the daily
    rollup differ from its stored compliance row (or that has none); None when all agree."""
    day = conn.execute(
        sa.text(
            "SELECT min(r.bucket) FROM readings_1d r LEFT JOIN quality_compliance q ON q.node_id = r.node_id "
            "AND q.metric = r.metric AND q.day = CAST(r.bucket AT TIME ZONE :tz AS date) "
            "WHERE r.metric = ANY(:m) AND r.bucket < :b AND q.samples IS DISTINCT FROM r.n"
        ),
        {"m": list(compliance.LIMITS), "b": before, "tz": tz},
    ).scalar()
    return None if day is None else day.astimezone(dt.UTC)


def gather(conn: sa.Connection, start: dt.datetime, end: dt.datetime):
    metrics = list(compliance.LIMITS)
    readings = pd.read_sql_query(
        sa.text(
            "SELECT r.node_id, r.metric, r.ts, r.value, n.tenant_id FROM readings r JOIN nodes n USING (node_id) "
            "WHERE r.metric = ANY(:m) AND r.ts >= :a AND r.ts < :b"
        ),
        conn,
        params={"m": metrics, "a": start, "b": end},
    )
    overrides = pd.read_sql_query(
        sa.text("SELECT node_id, metric, low, high FROM node_thresholds WHERE metric = ANY(:m)"),
        conn,
        params={"m": metrics},
    )
    if not readings.empty:
        readings["ts"] = pd.to_datetime(readings["ts"], utc=True)
    return readings, overrides


def upsert_days(conn: sa.Connection, daily: pd.DataFrame, now: dt.datetime) -> None:
    """Daily compliance rows (compliance.daily_compliance), replaced where they exist."""
    for r in daily.itertuples(index=False):
        conn.execute(
            sa.text(
                "INSERT INTO quality_compliance (node_id, metric, day, samples, compliant, compliance_pct, "
                "computed_at) VALUES (:n, :m, :d, :s, :c, :p, :now) ON CONFLICT (node_id, metric, day) DO UPDATE "
                "SET samples = EXCLUDED.samples, compliant = EXCLUDED.compliant, "
                "compliance_pct = EXCLUDED.compliance_pct, computed_at = EXCLUDED.computed_at"
            ),
            {"n": r.node_id, "m": r.metric, "d": r.day, "s": int(r.samples), "c": int(r.compliant),
             "p": float(r.compliance_pct), "now": now},
        )  # fmt: skip


def upsert_excursion(conn: sa.Connection, r) -> int:
    """One excursion (a compliance.excursions row); returns its id."""
    start_ts = pd.Timestamp(r.start_ts).to_pydatetime()
    return conn.execute(
        sa.text(
            "INSERT INTO quality_excursions (node_id, metric, limit_kind, low, high, start_ts, end_ts, "
            "peak_value, open) VALUES (:n, :m, :k, :lo, :hi, :s, :e, :p, :o) "
            "ON CONFLICT (node_id, metric, start_ts) DO UPDATE SET end_ts = EXCLUDED.end_ts, "
            "peak_value = EXCLUDED.peak_value, open = EXCLUDED.open RETURNING excursion_id"
        ),
        {"n": r.node_id, "m": r.metric, "k": r.kind, "lo": num(r.low), "hi": num(r.high), "s": start_ts,
         "e": pd.Timestamp(r.end_ts).to_pydatetime(), "p": float(r.peak_value), "o": bool(r.open)},
    ).scalar()  # fmt: skip


def num(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)
