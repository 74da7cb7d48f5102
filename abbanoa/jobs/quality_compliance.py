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

from abbanoa.alerts.publish import publish_pending, record_alert
from abbanoa.analytics import compliance
from abbanoa.jobs.base import JobContext, JobOutcome
from abbanoa.repository import compliance_store

DEFAULT_DAYS = 2  # local days recomputed each run (late readings land in them)


def window_start(now: dt.datetime, tz: str, days: int) -> dt.datetime:
    local = now.astimezone(ZoneInfo(tz))
    start = (local - dt.timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return start.astimezone(dt.UTC)


def run(ctx: JobContext) -> JobOutcome:
    tz = ctx.settings.timezone
    days = int(ctx.params.get("days", DEFAULT_DAYS))
    tail = window_start(ctx.now, tz, days)
    with ctx.engine.connect() as conn:
        backfill = compliance_store.stale_start(conn, tail, tz)
        start = min(tail, backfill) if backfill is not None else tail
        readings, overrides = compliance_store.gather(conn, start, ctx.now)
    if readings.empty:
        return JobOutcome(details={"message": "no quality readings in the window", "from": start.isoformat()})
    tenants = readings.drop_duplicates("node_id").set_index("node_id")["tenant_id"].to_dict()
    checked = compliance.attach_limits(readings.drop(columns="tenant_id"), compliance.limits_frame(overrides))
    daily = compliance.daily_compliance(checked, tz)
    runs = compliance.excursions(checked)
    new_alerts = 0
    with ctx.engine.begin() as conn:
        compliance_store.upsert_days(conn, daily, ctx.now)
        for r in runs.itertuples(index=False):
            start_ts = pd.Timestamp(r.start_ts).to_pydatetime()
            excursion_id = compliance_store.upsert_excursion(conn, r)
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
                    "node_id": r.node_id,
                    "metric": r.metric,
                    "limit_kind": r.kind,
                    "low": compliance_store.num(r.low),
                    "high": compliance_store.num(r.high),
                    "start_ts": start_ts.isoformat(),
                    "peak_value": float(r.peak_value),
                },
            )
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
