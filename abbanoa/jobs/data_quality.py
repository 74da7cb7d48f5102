"""Data-quality job: per node, metric and local day, scores written to data_quality;
stale or broken sensors raise data-quality alerts on the alert topic.

Gather (the raw readings of the days, in bulk; the newest reading of every series; the
registry) -> decide (analytics.data_quality.daily_quality, data_quality_alerts) ->
apply (one upsert of every score, the alerts recorded, then published)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa

from abbanoa.analytics.data_quality import daily_quality
from abbanoa.analytics.data_quality_alerts import quality_alerts
from abbanoa.jobs.base import JobContext, JobOutcome
from abbanoa.repository import quality_scores, readings

DAYS = 2  # yesterday and today (local), unless params say otherwise


def gather(conn: sa.Connection, since: dt.datetime, now: dt.datetime) -> dict[str, pd.DataFrame]:
    """Raw readings of active nodes in [since, now], newest readings, thresholds, registry."""
    registry = readings.registry(conn)
    return {
        "readings": readings.raw_window(conn, since, now),
        "latest": readings.latest(conn, now)[["node_id", "metric", "ts"]],
        "thresholds": registry["thresholds"][["node_id", "metric", "low", "high"]],
        "registry": registry["nodes"],
    }


def run(ctx: JobContext) -> JobOutcome:
    from abbanoa.alerts.publish import publish_pending, record_alert

    tz = ZoneInfo(ctx.settings.timezone)
    days = int(ctx.params.get("days", DAYS))
    today = ctx.now.astimezone(tz).date()
    since = dt.datetime.combine(today - dt.timedelta(days=days - 1), dt.time(), tzinfo=tz).astimezone(dt.UTC)
    with ctx.engine.begin() as conn:
        data = gather(conn, since, ctx.now)
        quality = daily_quality(
            data["readings"], pd.Timestamp(ctx.now), ctx.settings.timezone, data["thresholds"], data["latest"]
        )
        alerts = quality_alerts(quality, data["latest"], data["registry"], today)
        quality_scores.upsert(conn, quality, ctx.now)
        new = sum(record_alert(conn, source="data_quality", source_id=None, **alert) is not None for alert in alerts)
    published = publish_pending(ctx.engine, ctx.settings, ctx.now)
    return JobOutcome(rows=len(quality), details={"rows": len(quality), "alerts": new, "published": published})
