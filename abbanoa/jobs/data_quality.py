"""Data-quality job: per node, metric and local day, scores written to data_quality;
stale or broken sensors raise data-quality alerts on the alert topic."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa

from abbanoa.analytics import silence
from abbanoa.analytics.data_quality import daily_quality, problems
from abbanoa.jobs.base import JobContext, JobOutcome

DAYS = 2  # yesterday and today (local), unless params say otherwise


def run(ctx: JobContext) -> JobOutcome:
    from abbanoa.alerts.publish import publish_pending, record_alert

    tz = ZoneInfo(ctx.settings.timezone)
    days = int(ctx.params.get("days", DAYS))
    today = ctx.now.astimezone(tz).date()
    first_day = today - dt.timedelta(days=days - 1)
    since = dt.datetime.combine(first_day, dt.time(), tzinfo=tz).astimezone(dt.UTC)
    with ctx.engine.begin() as conn:
        readings = pd.DataFrame(
            conn.execute(
                sa.text(
                    "SELECT r.node_id, r.metric, r.ts, r.value FROM readings r"
                    " JOIN nodes n ON n.node_id = r.node_id AND n.active"
                    " WHERE r.ts >= :since AND r.ts <= :now"
                ),
                {"since": since, "now": ctx.now},
            ).all(),
            columns=["node_id", "metric", "ts", "value"],
        )
        latest = pd.DataFrame(
            conn.execute(sa.text("SELECT node_id, metric, ts FROM latest_readings")).all(),
            columns=["node_id", "metric", "ts"],
        )
        thresholds = pd.DataFrame(
            conn.execute(sa.text("SELECT node_id, metric, low, high FROM node_thresholds")).all(),
            columns=["node_id", "metric", "low", "high"],
        )
        registry = pd.DataFrame(
            conn.execute(sa.text("SELECT node_id, tenant_id, district_id FROM nodes")).all(),
            columns=["node_id", "tenant_id", "district_id"],
        )
        tenants = dict(zip(registry["node_id"], registry["tenant_id"], strict=True))
        quality = daily_quality(readings, pd.Timestamp(ctx.now), ctx.settings.timezone, thresholds, latest)
        # one round of statements for every node-metric-day, not a Python loop of executes
        rows = [
            {
                **{k: row[k] for k in ("node_id", "metric", "day", "expected", "received")},
                **{k: float(row[k]) for k in ("completeness", "validity", "staleness_s", "consistency", "score")},
                "duplicates": int(row["duplicates"]),
                "details": json.dumps(
                    {"interval_s": float(row["interval_s"]), "totalizer_backwards": int(row["backwards"])}
                ),
                "now": ctx.now,
            }
            for row in quality.to_dict("records")
        ]
        if rows:
            conn.execute(
                sa.text(
                    "INSERT INTO data_quality (node_id, metric, day, expected, received, completeness,"
                    " validity, staleness_s, consistency, duplicates, score, details, computed_at)"
                    " VALUES (:node_id, :metric, :day, :expected, :received, :completeness, :validity,"
                    " :staleness_s, :consistency, :duplicates, :score, CAST(:details AS jsonb), :now)"
                    " ON CONFLICT (node_id, metric, day) DO UPDATE SET expected = EXCLUDED.expected,"
                    " received = EXCLUDED.received, completeness = EXCLUDED.completeness,"
                    " validity = EXCLUDED.validity, staleness_s = EXCLUDED.staleness_s,"
                    " consistency = EXCLUDED.consistency, duplicates = EXCLUDED.duplicates,"
                    " score = EXCLUDED.score, details = EXCLUDED.details, computed_at = EXCLUDED.computed_at"
                ),
                rows,
            )
        alerts = 0
        found = problems(quality, today)
        # a district whose series are nearly all stale: one alert for it, not one per sensor
        district_of = registry.set_index("node_id")["district_id"]
        stale = found[found["problem"] == "stale_sensor"]
        known = pd.concat([quality[["node_id", "metric"]], latest[["node_id", "metric"]]], ignore_index=True)
        down = silence.districts_down(stale, known, district_of)
        quiet = stale["node_id"].map(district_of).isin(down)
        found = found.drop(index=stale.index[quiet])
        for district_id, group in stale[quiet].groupby(stale[quiet]["node_id"].map(district_of)):
            tenant = tenants.get(group["node_id"].iloc[0])
            new = record_alert(
                conn,
                tenant_id=tenant,
                idempotency_key=f"dq:district:{district_id}:{today}:stale_district",
                source="data_quality",
                source_id=None,
                alert_type="stale_district",
                severity="medium",
                payload={
                    "district_id": district_id,
                    "day": str(today),
                    "series": len(group),
                    "staleness_s": float(group["staleness_s"].min()),
                },
            )
            alerts += new is not None
        for row in found.to_dict("records"):
            tenant = tenants.get(row["node_id"])
            if tenant is None:
                continue
            key = f"dq:{row['node_id']}:{row['metric']}:{row['day']}:{row['problem']}"
            new = record_alert(
                conn,
                tenant_id=tenant,
                idempotency_key=key,
                source="data_quality",
                source_id=None,
                alert_type=row["problem"],
                severity=row["severity"],
                payload={
                    "node_id": row["node_id"],
                    "metric": row["metric"],
                    "day": str(row["day"]),
                    "completeness": float(row["completeness"]),
                    "validity": float(row["validity"]),
                    "staleness_s": float(row["staleness_s"]),
                    "score": float(row["score"]),
                    "longest_gap_s": float(row["longest_gap_s"]),
                    "longest_flat_s": float(row["longest_flat_s"]),
                },
            )
            alerts += new is not None
    published = publish_pending(ctx.engine, ctx.settings, ctx.now)
    return JobOutcome(rows=len(quality), details={"rows": len(quality), "alerts": alerts, "published": published})
