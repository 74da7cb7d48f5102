"""Anomaly detection job: gather readings, decide with the pure detectors, apply
(anomaly episodes upserted, new or escalated ones alerted once)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import replace

import pandas as pd
import sqlalchemy as sa

from abbanoa.analytics import detectors as d
from abbanoa.analytics import silence
from abbanoa.analytics.config import DetectorConfig
from abbanoa.analytics.episodes import EPISODE_GAP_H, SEVERITIES, build_episodes
from abbanoa.analytics.inflow import district_inflow
from abbanoa.analytics.night_flow import minimum_night_flow, rising_night_flow
from abbanoa.jobs import leak_localisation
from abbanoa.jobs.base import JobContext, JobOutcome

log = logging.getLogger(__name__)
ALERT_MIN_SEVERITY = "medium"  # low episodes are stored, not pushed to the control room
WINDOW_H = 6.0
DISTRICT_BUCKET = "15min"  # district inflow resolution: bursts are seen within the hour
RAW_LOOKBACK_H = 6.0  # before the window: the step detector's 3.5 h, the spike MAD's 49 readings


def gather(
    conn: sa.Connection, since: dt.datetime, until: dt.datetime, raw_since: dt.datetime | None = None
) -> dict[str, pd.DataFrame]:
    """Readings of active nodes in [since, until], the registry and per-node thresholds.

    With `raw_since`, only [raw_since, until] is read raw; the hours before it come from
    readings_1h (one mean per hour, which is all the baselines need) as `history`, with each
    series' mean reporting interval over those weeks (`intervals`, for the gap detector), and
    `latest` holds the newest reading of every series, so a sensor silent since before
    the raw window is still seen as silent."""
    raw_from = since if raw_since is None else raw_since
    readings = _series(
        conn,
        "SELECT r.node_id, r.metric, r.ts, r.value FROM readings r JOIN nodes n ON n.node_id = r.node_id AND n.active"
        " WHERE r.ts >= :since AND r.ts <= :until",
        since=raw_from,
        until=until,
    )
    history, latest = _series(conn, None), _series(conn, None)
    intervals = pd.DataFrame(columns=["node_id", "metric", "interval_s"])
    if raw_since is not None:
        history = _series(
            conn,
            "SELECT h.node_id, h.metric, h.bucket, h.avg_value FROM readings_1h h"
            " JOIN nodes n ON n.node_id = h.node_id AND n.active WHERE h.bucket >= :since AND h.bucket < :raw_since",
            since=since,
            raw_since=raw_since,
        )
        latest = _series(
            conn,
            "SELECT l.node_id, l.metric, l.ts, l.value FROM latest_readings l"
            " JOIN nodes n ON n.node_id = l.node_id AND n.active WHERE l.ts <= :until",
            until=until,
        )
        intervals = pd.DataFrame(
            conn.execute(
                sa.text(
                    "SELECT h.node_id, h.metric, extract(epoch FROM max(h.bucket) - min(h.bucket) + interval '1 hour')"
                    " / sum(h.n) FROM readings_1h h JOIN nodes n ON n.node_id = h.node_id AND n.active"
                    " WHERE h.bucket >= :since AND h.bucket < :raw_since GROUP BY h.node_id, h.metric"
                ),
                {"since": since, "raw_since": raw_since},
            ).all(),
            columns=["node_id", "metric", "interval_s"],
        ).astype({"interval_s": float})
    nodes = pd.DataFrame(
        conn.execute(sa.text("SELECT node_id, tenant_id, district_id FROM nodes")).all(),
        columns=["node_id", "tenant_id", "district_id"],
    )
    districts = pd.DataFrame(
        conn.execute(sa.text("SELECT district_id, tenant_id FROM districts")).all(),
        columns=["district_id", "tenant_id"],
    )
    meters = pd.DataFrame(
        conn.execute(sa.text("SELECT district_id, node_id, direction FROM district_meters")).all(),
        columns=["district_id", "node_id", "direction"],
    )
    thresholds = pd.DataFrame(
        conn.execute(sa.text("SELECT node_id, metric, low, high, sensitivity FROM node_thresholds")).all(),
        columns=["node_id", "metric", "low", "high", "sensitivity"],
    )
    return {
        "readings": readings,
        "history": history,
        "latest": latest,
        "intervals": intervals,
        "nodes": nodes,
        "districts": districts,
        "meters": meters,
        "thresholds": thresholds,
    }


def _series(conn: sa.Connection, sql: str | None, **params) -> pd.DataFrame:
    """(node_id, metric, ts, value) rows of a query; empty without one."""
    rows = conn.execute(sa.text(sql), params).all() if sql else []
    return pd.DataFrame(rows, columns=["node_id", "metric", "ts", "value"])


def decide(
    data: dict[str, pd.DataFrame], config: DetectorConfig, now: dt.datetime, since: dt.datetime | None
) -> pd.DataFrame:
    """Episodes (with tenant_id) from every detector, kept when they reach past `since`.

    `data["history"]` (optional): hourly means before the raw readings, for the baselines."""
    readings = data["readings"]
    history = data.get("history")
    # a single meter's flow steps whenever a pump or a tank valve acts: bursts are looked
    # for in the district's net inflow (consumption + losses), pressure drops at each logger
    node_config = replace(config, step_metrics=("pressure",))
    flags = [
        d.detect_readings(
            readings,
            node_config,
            data["thresholds"],
            now=pd.Timestamp(now),
            history=history,
            intervals=data.get("intervals"),
        ),
        silent_series(readings, data.get("latest"), config, now, data.get("intervals")),
    ]
    if not data["meters"].empty and not readings.empty:
        flow = readings[readings["metric"] == "flow_rate"]
        inflow = district_inflow(flow, data["meters"], bucket=DISTRICT_BUCKET)
        inflow_history = None
        if history is not None and not history.empty:
            inflow_history = district_inflow(history[history["metric"] == "flow_rate"], data["meters"], bucket="1h")
        flags.append(district_flags(inflow, config, inflow_history))
        nightly = inflow if inflow_history is None else pd.concat([inflow_history, inflow], ignore_index=True)
        flags.append(rising_night_flow(minimum_night_flow(nightly, config), config, config.sensitivity("night_flow")))
    flags = silent_districts(d._concat(flags), data, now)
    if flags.empty:
        return build_episodes(flags, config).assign(tenant_id=None)
    episodes = build_episodes(flags, config)
    if since is not None:
        episodes = episodes[episodes["end_ts"] >= pd.Timestamp(since)]
    by_node = data["nodes"].set_index("node_id")
    district_of = episodes["node_id"].map(by_node["district_id"]) if not by_node.empty else None
    if district_of is not None:
        episodes["district_id"] = episodes["district_id"].where(episodes["district_id"].notna(), district_of)
    tenant = episodes["node_id"].map(by_node["tenant_id"]) if not by_node.empty else None
    tenant_d = episodes["district_id"].map(data["districts"].set_index("district_id")["tenant_id"])
    episodes["tenant_id"] = tenant.where(tenant.notna(), tenant_d) if tenant is not None else tenant_d
    return episodes[episodes["tenant_id"].notna()].reset_index(drop=True)


def silent_districts(flags: pd.DataFrame, data: dict[str, pd.DataFrame], now: dt.datetime) -> pd.DataFrame:
    """When most series of a district are in one gap together (an outstation or the feed
    down, not each sensor), their gaps become one district-level gap (metric None): one
    alert for the control room instead of one per sensor, while it lasts (open gaps) and
    when the readings come back (the same gaps, closed, extend that one anomaly)."""
    gaps = flags[(flags["anomaly_type"] == d.GAP) & flags["node_id"].notna()]
    if gaps.empty:
        return flags
    district_of = data["nodes"].set_index("node_id")["district_id"]
    gaps = gaps.assign(district_id=gaps["node_id"].map(district_of)).dropna(subset=["district_id"])
    # overlapping gaps of one district form a group (sorted by start: a new group when a gap
    # starts after every earlier one has ended)
    gaps = gaps.assign(ts=pd.to_datetime(gaps["ts"], utc=True), end_ts=pd.to_datetime(gaps["end_ts"], utc=True))
    gaps = gaps.sort_values(["district_id", "ts"])
    reach = gaps.groupby("district_id")["end_ts"].cummax().groupby(gaps["district_id"]).shift(1)
    gaps["group"] = (reach.isna() | (gaps["ts"] > reach)).cumsum()
    known = pd.concat(
        [frame[["node_id", "metric"]] for frame in (data["readings"], data.get("latest")) if frame is not None],
        ignore_index=True,
    )
    merged, replaced = [], []
    for _, group in gaps.groupby("group"):
        if silence.districts_down(group[["node_id", "metric"]], known, district_of):
            replaced.append(group.index)
            merged.append(
                {
                    "node_id": None,
                    "district_id": group["district_id"].iloc[0],
                    "metric": None,
                    "anomaly_type": d.GAP,
                    "ts": group["ts"].min(),
                    "end_ts": group["end_ts"].max(),
                    "score": group["score"].max(),
                    "threshold": 1.0,
                    "observed": float("nan"),
                    "expected": float("nan"),
                }
            )
    if not merged:
        return flags
    kept = flags.drop(index=[i for index in replaced for i in index])
    return d._concat([kept, pd.DataFrame(merged)[d.FLAG_COLUMNS]])


def silent_series(
    readings: pd.DataFrame,
    latest: pd.DataFrame | None,
    config: DetectorConfig,
    now: dt.datetime,
    intervals: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Open gaps for series whose newest reading is older than the raw readings at hand."""
    if latest is None or latest.empty:
        return d.empty_flags()
    seen = readings[["node_id", "metric"]].drop_duplicates()
    quiet = latest.merge(seen, on=["node_id", "metric"], how="left", indicator=True)
    quiet = quiet[quiet["_merge"] == "left_only"].drop(columns="_merge")
    if quiet.empty:
        return d.empty_flags()
    return d.sensor_gap(d.prepare(quiet), config, now=pd.Timestamp(now), intervals=intervals)


def district_flags(inflow: pd.DataFrame, config: DetectorConfig, history: pd.DataFrame | None = None) -> pd.DataFrame:
    """Baseline deviation and burst on each district's net inflow (district-level flags);
    `history`: hourly net inflow before `inflow`, for the baseline."""
    if inflow.empty:
        return d.empty_flags()

    def as_series(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.assign(node_id="dma:" + frame["district_id"], metric="flow_rate")[
            ["node_id", "metric", "ts", "value"]
        ]

    flags = d.detect_readings(
        as_series(inflow),
        replace(config, step_metrics=("flow_rate",)),
        detectors=("baseline", "sudden"),
        history=None if history is None or history.empty else as_series(history),
    )
    flags["district_id"] = flags["node_id"].str.removeprefix("dma:")
    flags["node_id"] = None
    return flags


def store_episodes(conn: sa.Connection, episodes: pd.DataFrame, now: dt.datetime) -> list[dict]:
    """Merge each episode into the open anomaly it continues, or insert it; record an alert
    for new anomalies and escalations at or above ALERT_MIN_SEVERITY. Returns the alerts."""
    from abbanoa.alerts.publish import record_alert

    alerts = []
    for ep in episodes.to_dict("records"):
        gap = dt.timedelta(hours=EPISODE_GAP_H.get(ep["anomaly_type"], 1.0) + 0.25)
        params = {
            "tenant": ep["tenant_id"],
            "node": ep["node_id"],
            "district": ep["district_id"],
            "metric": ep["metric"],
            "type": ep["anomaly_type"],
            "start": ep["start_ts"].to_pydatetime(),
            "end": ep["end_ts"].to_pydatetime(),
            "score": float(ep["score"]),
            "observed": _num(ep["observed"]),
            "expected": _num(ep["expected"]),
            "severity": ep["severity"],
            "now": now,
            "details": pd.Series({"points": int(ep["points"]), "threshold": float(ep["threshold"])}).to_json(),
        }
        existing = conn.execute(
            sa.text(
                "SELECT anomaly_id, severity, score, alerted_severity FROM anomalies"
                " WHERE tenant_id = :tenant AND node_id IS NOT DISTINCT FROM CAST(:node AS text)"
                " AND district_id IS NOT DISTINCT FROM CAST(:district AS text)"
                " AND metric IS NOT DISTINCT FROM CAST(:metric AS text)"
                " AND anomaly_type = :type AND status <> 'resolved'"
                " AND end_ts >= CAST(:start AS timestamptz) - CAST(:gap AS interval)"
                " AND start_ts <= CAST(:end AS timestamptz) + CAST(:gap AS interval)"
                " ORDER BY end_ts DESC LIMIT 1 FOR UPDATE"
            ),
            dict(params, gap=gap),
        ).first()
        if existing is None:
            row = conn.execute(
                sa.text(
                    "INSERT INTO anomalies (tenant_id, node_id, district_id, metric, anomaly_type, severity,"
                    " score, observed_value, expected_value, start_ts, end_ts, details, updated_at)"
                    " VALUES (:tenant, :node, :district, :metric, :type, :severity, :score, :observed,"
                    " :expected, :start, :end, CAST(:details AS jsonb), :now)"
                    " RETURNING anomaly_id, severity, alerted_severity"
                ),
                params,
            ).first()
        else:
            bigger = abs(params["score"]) > abs(existing.score or 0)
            severity = SEVERITIES[max(SEVERITIES.index(existing.severity), SEVERITIES.index(ep["severity"]))]
            row = conn.execute(
                sa.text(
                    "UPDATE anomalies SET start_ts = LEAST(start_ts, CAST(:start AS timestamptz)),"
                    " end_ts = GREATEST(end_ts, CAST(:end AS timestamptz)),"
                    " severity = :severity, updated_at = :now,"
                    " score = CASE WHEN CAST(:bigger AS boolean) THEN :score ELSE score END,"
                    " observed_value = CASE WHEN CAST(:bigger AS boolean)"
                    " THEN :observed ELSE observed_value END,"
                    " expected_value = CASE WHEN CAST(:bigger AS boolean)"
                    " THEN :expected ELSE expected_value END"
                    " WHERE anomaly_id = :id RETURNING anomaly_id, severity, alerted_severity"
                ),
                dict(params, severity=severity, bigger=bigger, id=existing.anomaly_id),
            ).first()
        rank = SEVERITIES.index(row.severity)
        alerted = SEVERITIES.index(row.alerted_severity) if row.alerted_severity else -1
        if rank >= SEVERITIES.index(ALERT_MIN_SEVERITY) and rank > alerted:
            payload = {
                "anomaly_id": row.anomaly_id,
                "node_id": ep["node_id"],
                "district_id": ep["district_id"],
                "metric": ep["metric"],
                "start_ts": params["start"].isoformat(),
                "end_ts": params["end"].isoformat(),
                "score": params["score"],
                "observed_value": params["observed"],
                "expected_value": params["expected"],
                "escalation": alerted >= 0,
            }
            key = f"anomaly:{row.anomaly_id}:{row.severity}"
            record_alert(
                conn,
                tenant_id=ep["tenant_id"],
                idempotency_key=key,
                source="anomaly",
                source_id=row.anomaly_id,
                alert_type=ep["anomaly_type"],
                severity=row.severity,
                payload=payload,
            )
            conn.execute(
                sa.text("UPDATE anomalies SET alerted_severity = :s WHERE anomaly_id = :id"),
                {"s": row.severity, "id": row.anomaly_id},
            )
            alerts.append(dict(payload, key=key, severity=row.severity, type=ep["anomaly_type"]))
    return alerts


def _num(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def run(ctx: JobContext) -> JobOutcome:
    from abbanoa.alerts.publish import publish_pending

    config = DetectorConfig.from_settings(ctx.settings)
    now = ctx.now
    window_h = float(ctx.params.get("window_hours", WINDOW_H))
    history = dt.timedelta(days=7 * config.baseline_weeks + 2)
    # raw readings for the window plus what the step, spike and stuck detectors look back
    # over; the baselines' weeks of history come hourly from readings_1h
    raw_since = pd.Timestamp(now - dt.timedelta(hours=window_h + raw_lookback_h(ctx, config))).floor("h")
    raw_since = raw_since.to_pydatetime()
    if ctx.settings.anomaly_backend == "bqml":
        from abbanoa.analytics import bqml

        flags = bqml.detect(ctx.warehouse, ctx.settings, now - dt.timedelta(hours=window_h), now)
        data = None
    with ctx.engine.begin() as conn:
        data = gather(conn, now - history, now, raw_since=max(raw_since, now - history))
        if ctx.settings.anomaly_backend == "bqml":
            episodes = build_episodes(flags, config)
            episodes = decide_tenants(episodes, data)
        else:
            episodes = decide(data, config, now, now - dt.timedelta(hours=window_h))
        alerts = store_episodes(conn, episodes, now)
    published = publish_pending(ctx.engine, ctx.settings, now)
    localised = leak_localisation.after_tick(ctx.engine, now, ctx.settings.timezone)
    return JobOutcome(
        rows=len(episodes),
        details={
            "readings": len(data["readings"]),
            "hourly_history": len(data["history"]),
            "episodes": len(episodes),
            "alerts": len(alerts),
            "published": published,
            "localised": localised,
        },
    )


def raw_lookback_h(ctx: JobContext, config: DetectorConfig) -> float:
    """Hours of raw readings before the window: RAW_LOOKBACK_H, or longer when a lowered
    sensitivity (per metric or node) makes the stuck-value detector wait longer than that."""
    with ctx.engine.connect() as conn:
        node_least = conn.execute(sa.text("SELECT min(sensitivity) FROM node_thresholds")).scalar()
    least = min([1.0, *config.metric_sensitivity.values(), *([float(node_least)] if node_least else [])])
    return max(RAW_LOOKBACK_H, config.stuck_min_h / max(least, 0.05) + 1.0)


def decide_tenants(episodes: pd.DataFrame, data: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Attach tenant and district from the registry to episodes found elsewhere (BigQuery ML)."""
    by_node = data["nodes"].set_index("node_id")
    episodes = episodes.copy()
    episodes["district_id"] = episodes["node_id"].map(by_node["district_id"])
    episodes["tenant_id"] = episodes["node_id"].map(by_node["tenant_id"])
    return episodes[episodes["tenant_id"].notna()].reset_index(drop=True)
