"""Anomaly detection job: gather readings, decide with the pure detectors, apply
(anomaly episodes upserted, new or escalated ones alerted once).

The baselines are state: once per local day a step learns each series' references for
that day's hours from the weeks of hourly means before it (baseline.day_references) and
stores them (repository/baselines.py); every tick then reads the raw window and the stored
references of the hours it covers, so its cost follows the window, not the history."""

from __future__ import annotations

import datetime as dt
import logging

import pandas as pd
import sqlalchemy as sa

from abbanoa.analytics import baseline
from abbanoa.analytics.config import DetectorConfig
from abbanoa.analytics.detection import (
    alert_due,
    alert_payload,
    continued,
    decide,
    decide_tenants,
    episode_row,
    merge_gap,
)
from abbanoa.analytics.episodes import build_episodes
from abbanoa.jobs import leak_localisation
from abbanoa.jobs.base import JobContext, JobOutcome
from abbanoa.repository import anomalies_store, baselines, readings

log = logging.getLogger(__name__)
WINDOW_H = 6.0
RAW_LOOKBACK_H = 6.0  # before the window: the step detector's 3.5 h, the spike MAD's 49 readings
STORED_MAX_DAYS = 3  # a raw window over more local days (a backfill) learns its baselines from scratch
SHARD_NODES = 25  # the baseline step learns this many nodes' series at a time (bounded memory)

__all__ = ["decide", "gather", "gather_tick", "refresh_baselines", "run"]


def history_span(config: DetectorConfig) -> dt.timedelta:
    """How far back the baselines learn: their weeks, and two days for the fallbacks."""
    return dt.timedelta(days=7 * config.baseline_weeks + 2)


def gather(
    conn: sa.Connection, since: dt.datetime, until: dt.datetime, raw_since: dt.datetime | None = None
) -> dict[str, pd.DataFrame]:
    """Everything to learn the baselines from scratch: readings of active nodes in
    [since, until], the registry and per-node thresholds.

    With `raw_since`, only [raw_since, until] is read raw; the hours before it come from
    readings_1h (one mean per hour, which is all the baselines need) as `history`, with each
    series' mean reporting interval over those weeks (`intervals`, for the gap detector), and
    `latest` holds the newest reading of every series, so a sensor silent since before
    the raw window is still seen as silent."""
    raw_from = since if raw_since is None else raw_since
    data = {"readings": readings.raw_window(conn, raw_from, until), **readings.registry(conn)}
    empty = pd.DataFrame(columns=readings.SERIES_COLUMNS)
    data.update(history=empty, latest=empty, intervals=pd.DataFrame(columns=["node_id", "metric", "interval_s"]))
    if raw_since is not None:
        data["history"] = readings.hourly_means(conn, since, raw_since)
        data["latest"] = readings.latest(conn, until)
        data["intervals"] = readings.usual_intervals(conn, since, raw_since)
    return data


def gather_tick(
    conn: sa.Connection, now: dt.datetime, raw_since: dt.datetime, config: DetectorConfig
) -> dict[str, pd.DataFrame]:
    """A tick's inputs: the raw window [raw_since, now], the stored baselines of its hours,
    the newest reading of every series, the registry, and the district meters' hourly
    flow before the window (district baselines and night flow are learnt per tick: a few
    series per district)."""
    data = {"readings": readings.raw_window(conn, raw_since, now), **readings.registry(conn)}
    refs, stats = baselines.read_hours(conn, local_hours(raw_since, now, config.timezone))
    # one set of spreads per series: the newest day's (the one a from-scratch run would see)
    stats = stats.sort_values("day").drop_duplicates(baseline.SERIES, keep="last")
    data["baselines"] = (refs, stats)
    data["intervals"] = stats[[*baseline.SERIES, "interval_s"]].dropna()
    data["latest"] = readings.latest(conn, now)
    meter_nodes = sorted(set(data["meters"]["node_id"]))
    data["meter_history"] = (
        readings.hourly_means(conn, now - history_span(config), raw_since, nodes=meter_nodes, metric="flow_rate")
        if meter_nodes
        else pd.DataFrame(columns=readings.SERIES_COLUMNS)
    )
    return data


def local_hours(since: dt.datetime, until: dt.datetime, timezone: str) -> list[tuple[dt.date, int]]:
    """The (local day, local hour) of every hour in [since, until]."""
    start, end = (pd.Timestamp(t).tz_convert("UTC") for t in (since, until))
    hours = pd.date_range(start.floor("h"), end, freq="h").tz_convert(timezone)
    return sorted({(h.date(), h.hour) for h in hours})


def refresh_baselines(conn: sa.Connection, config: DetectorConfig, days: list[dt.date]) -> int:
    """The daily step: learn and store the baselines of each of `days` not stored yet, from
    the hourly means before the day, SHARD_NODES nodes at a time; returns hourly rows read."""
    read = 0
    for day in sorted(set(days) - baselines.stored_days(conn, days)):
        until = pd.Timestamp(day).tz_localize(config.timezone).tz_convert("UTC").to_pydatetime()
        since = until - history_span(config)
        refs, stats = [], []
        for nodes in baselines.node_batches(conn, SHARD_NODES):
            history = readings.hourly_means(conn, since, until, nodes=nodes)
            read += len(history)
            r, s = baseline.day_references(history, pd.Timestamp(day), config)
            refs.append(r)
            stats.append(s)
        stats = pd.concat(stats, ignore_index=True).merge(
            readings.usual_intervals(conn, since, until), on=baseline.SERIES, how="left"
        )
        baselines.replace_day(conn, day, pd.concat(refs, ignore_index=True), stats, (since, until))
        log.info("detection baselines of %s: %d series from %d hourly means", day, len(stats), read)
    return read


def store_episodes(conn: sa.Connection, episodes: pd.DataFrame, now: dt.datetime) -> list[dict]:
    """Merge each episode into the open anomaly it continues, or insert it; record an alert
    for new anomalies and escalations at or above ALERT_MIN_SEVERITY. Returns the alerts."""
    from abbanoa.alerts.publish import record_alert

    alerts = []
    for ep in episodes.to_dict("records"):
        row = episode_row(ep, now)
        existing = anomalies_store.open_anomaly_near(conn, row, merge_gap(ep["anomaly_type"]))
        if existing is None:
            stored = anomalies_store.insert_anomaly(conn, row)
        else:
            severity, bigger = continued(existing.severity, existing.score, row)
            stored = anomalies_store.extend_anomaly(conn, existing.anomaly_id, row, severity, bigger)
        if not alert_due(stored.severity, stored.alerted_severity):
            continue
        payload = alert_payload(stored.anomaly_id, row, escalation=stored.alerted_severity is not None)
        key = f"anomaly:{stored.anomaly_id}:{stored.severity}"
        record_alert(
            conn,
            tenant_id=ep["tenant_id"],
            idempotency_key=key,
            source="anomaly",
            source_id=stored.anomaly_id,
            alert_type=ep["anomaly_type"],
            severity=stored.severity,
            payload=payload,
        )
        anomalies_store.mark_alerted(conn, stored.anomaly_id, stored.severity)
        alerts.append(dict(payload, key=key, severity=stored.severity, type=ep["anomaly_type"]))
    return alerts


def run(ctx: JobContext) -> JobOutcome:
    from abbanoa.alerts.publish import publish_pending
    from abbanoa.repository import anomalies as anomaly_store

    config = DetectorConfig.from_settings(ctx.settings)
    now = ctx.now
    window_h = float(ctx.params.get("window_hours", WINDOW_H))
    since = now - dt.timedelta(hours=window_h)
    flags = None
    if ctx.settings.anomaly_backend == "bqml":  # outside the transaction: BigQuery ML takes its time
        flags = detect_bqml(ctx.warehouse, ctx.settings, since, now)
    with ctx.engine.begin() as conn:
        if flags is not None:
            data, learnt = {"readings": pd.DataFrame(), **readings.registry(conn)}, 0
            episodes = decide_tenants(build_episodes(flags, config), data)
        else:
            data, learnt = gather_for(conn, config, now, window_h)
            episodes = decide(data, config, now, since)
        alerts = store_episodes(conn, episodes, now)
        workflow = anomaly_store.apply_workflow(conn, now)  # auto-resolve, leak estimates (issue 16)
    published = publish_pending(ctx.engine, ctx.settings, now)
    localised = leak_localisation.after_tick(ctx.engine, now, ctx.settings.timezone)
    return JobOutcome(
        rows=len(episodes),
        details={
            "readings": len(data["readings"]),
            "hourly_history": learnt,
            "stored_baselines": "baselines" in data,
            "episodes": len(episodes),
            "alerts": len(alerts),
            "published": published,
            **workflow,
            "localised": localised,
        },
    )


def gather_for(
    conn: sa.Connection, config: DetectorConfig, now: dt.datetime, window_h: float
) -> tuple[dict[str, pd.DataFrame], int]:
    """The tick's inputs (gather_tick), after the day's baseline step where it has not run
    yet; a window over more than STORED_MAX_DAYS local days (a backfill) learns every
    hour's baseline from scratch (gather). Also returns the hourly means learnt from."""
    # raw readings for the window plus what the step, spike and stuck detectors look back over
    lookback = raw_lookback_h(config, readings.least_node_sensitivity(conn))
    raw_since = pd.Timestamp(now - dt.timedelta(hours=window_h + lookback)).floor("h").to_pydatetime()
    raw_since = max(raw_since, now - history_span(config))
    days = sorted({day for day, _ in local_hours(raw_since, now, config.timezone)})
    if len(days) > STORED_MAX_DAYS:
        data = gather(conn, now - history_span(config), now, raw_since=raw_since)
        return data, len(data["history"])
    learnt = refresh_baselines(conn, config, days)
    return gather_tick(conn, now, raw_since, config), learnt


def raw_lookback_h(config: DetectorConfig, node_least: float | None) -> float:
    """Hours of raw readings before the window: RAW_LOOKBACK_H, or longer when a lowered
    sensitivity (per metric or node) makes the stuck-value detector wait longer than that."""
    least = min([1.0, *config.metric_sensitivity.values(), *([node_least] if node_least else [])])
    return max(RAW_LOOKBACK_H, config.stuck_min_h / max(least, 0.05) + 1.0)


def detect_bqml(warehouse, settings, since: dt.datetime, until: dt.datetime) -> pd.DataFrame:
    """Retrain and detect in BigQuery ML; flagged points for the episode builder."""
    from abbanoa.analytics import bqml
    from abbanoa.stores.bigquery import param

    dataset = f"{settings.gcp_project}.{settings.bq_dataset}"
    warehouse.query(bqml.create_model_sql(dataset), [param("until", "TIMESTAMP", until)])
    result = warehouse.query_df(
        bqml.detect_anomalies_sql(dataset),
        [param("since", "TIMESTAMP", since), param("until", "TIMESTAMP", until)],
    )
    return bqml.flags_from_result(result)
