"""Water-quality compliance (every 15 minutes): per node and parameter, daily compliance %
against Directive (EU) 2020/2184 limits and operational ranges (abbanoa.analytics.compliance),
excursions with start, end and peak; a new excursion raises one alert on the alert topic
(alerts.idempotency_key makes reruns and redeliveries record nothing twice).

The whole stored history is covered: each run recomputes the last DEFAULT_DAYS local days
(the tail) and, further back, every local day whose samples in the daily rollup
(readings_1d) differ from the samples its stored compliance row counted (history imported,
gaps filled): the first run after history arrives computes all of it, later runs only the tail.
Excursions found in history older than the tail are stored, not alerted; recent ones are
alerted once."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa

from abbanoa.alerts.publish import publish_pending, record_alert
from abbanoa.analytics import compliance
from abbanoa.jobs.base import JobContext, JobOutcome

DEFAULT_DAYS = 2  # local days recomputed each run (late readings land in them)


def window_start(now: dt.datetime, tz: str, days: int) -> dt.datetime:
    local = now.astimezone(ZoneInfo(tz))
    start = (local - dt.timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return start.astimezone(dt.UTC)


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


def run(ctx: JobContext) -> JobOutcome:
    tz = ctx.settings.timezone
    days = int(ctx.params.get("days", DEFAULT_DAYS))
    tail = window_start(ctx.now, tz, days)
    with ctx.engine.connect() as conn:
        backfill = stale_start(conn, tail, tz)
        start = min(tail, backfill) if backfill is not None else tail
        readings, overrides = gather(conn, start, ctx.now)
    if readings.empty:
        return JobOutcome(details={"message": "no quality readings in the window", "from": start.isoformat()})
    tenants = readings.drop_duplicates("node_id").set_index("node_id")["tenant_id"].to_dict()
    checked = compliance.attach_limits(readings.drop(columns="tenant_id"), compliance.limits_frame(overrides))
    daily = compliance.daily_compliance(checked, tz)
    runs = compliance.excursions(checked)
    new_alerts = 0
    with ctx.engine.begin() as conn:
        for r in daily.itertuples(index=False):
            conn.execute(
                sa.text(
                    "INSERT INTO quality_compliance (node_id, metric, day, samples, compliant, compliance_pct, "
                    "computed_at) VALUES (:n, :m, :d, :s, :c, :p, :now) ON CONFLICT (node_id, metric, day) DO UPDATE "
                    "SET samples = EXCLUDED.samples, compliant = EXCLUDED.compliant, "
                    "compliance_pct = EXCLUDED.compliance_pct, computed_at = EXCLUDED.computed_at"
                ),
                {"n": r.node_id, "m": r.metric, "d": r.day, "s": int(r.samples), "c": int(r.compliant),
                 "p": float(r.compliance_pct), "now": ctx.now},
            )  # fmt: skip
        for r in runs.itertuples(index=False):
            start_ts = pd.Timestamp(r.start_ts).to_pydatetime()
            excursion_id = conn.execute(
                sa.text(
                    "INSERT INTO quality_excursions (node_id, metric, limit_kind, low, high, start_ts, end_ts, "
                    "peak_value, open) VALUES (:n, :m, :k, :lo, :hi, :s, :e, :p, :o) "
                    "ON CONFLICT (node_id, metric, start_ts) DO UPDATE SET end_ts = EXCLUDED.end_ts, "
                    "peak_value = EXCLUDED.peak_value, open = EXCLUDED.open RETURNING excursion_id"
                ),
                {"n": r.node_id, "m": r.metric, "k": r.kind, "lo": _num(r.low), "hi": _num(r.high), "s": start_ts,
                 "e": pd.Timestamp(r.end_ts).to_pydatetime(), "p": float(r.peak_value), "o": bool(r.open)},
            ).scalar()  # fmt: skip
            if pd.Timestamp(r.end_ts) < pd.Timestamp(tail):
                continue  # history found by a backfill is stored, not paged to the control room
            alert_id = record_alert(
                conn,
                tenant_id=tenants[r.node_id],
                idempotency_key=f"compliance:{r.node_id}:{r.metric}:{start_ts.isoformat()}",
                source="compliance",
                source_id=excursion_id,
                alert_type="quality_excursion",
                severity="critical" if r.kind == "directive" else "warning",
                payload={
                    "node_id": r.node_id, "metric": r.metric, "limit_kind": r.kind, "low": _num(r.low),
                    "high": _num(r.high), "start_ts": start_ts.isoformat(), "peak_value": float(r.peak_value),
                },
            )  # fmt: skip
            new_alerts += alert_id is not None
    published = publish_pending(ctx.engine, ctx.settings, ctx.now)
    return JobOutcome(
        rows=len(daily) + len(runs),
        details={
            "days": len(daily),
            "excursions": len(runs),
            "new_alerts": new_alerts,
            "published": published,
            "from": start.isoformat(),
            "backfill": backfill is not None,
        },  # fmt: skip
    )


def _num(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)
