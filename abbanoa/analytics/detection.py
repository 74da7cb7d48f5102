"""Detection's decisions: every detector's flags on the gathered data become anomaly
episodes per tenant, with one district-level gap where a district goes silent at once.
Pure: data in (plain DataFrames), episodes out; the job gathers and stores."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pandas as pd

from abbanoa.analytics import detectors as d
from abbanoa.analytics import silence
from abbanoa.analytics.baseline import expected_from_stored
from abbanoa.analytics.config import DetectorConfig
from abbanoa.analytics.episodes import EPISODE_GAP_H, SEVERITIES, build_episodes, max_severity
from abbanoa.analytics.inflow import district_inflow
from abbanoa.analytics.night_flow import minimum_night_flow, rising_night_flow

DISTRICT_BUCKET = "15min"  # district inflow resolution: bursts are seen within the hour


def decide(
    data: dict[str, pd.DataFrame], config: DetectorConfig, now: dt.datetime, since: dt.datetime | None
) -> pd.DataFrame:
    """Episodes (with tenant_id) from every detector, kept when they reach past `since`.

    `data["history"]` (optional): hourly means before the raw readings, for the baselines
    (learnt here, from scratch). Or `data["baselines"]`: (references, series spreads) stored
    by the day's baseline step (baseline.day_references), with `data["meter_history"]`, the
    district meters' hourly flow before the raw readings (district baselines, night flow)."""
    readings = data["readings"]
    history = data.get("history")
    expected = None
    if data.get("baselines") is not None:  # the tick: references stored by the day's baseline step
        refs, stats = data["baselines"]
        readings = d.prepare(readings)  # once: sorting a million readings is not free
        expected = expected_from_stored(readings, refs, stats, config)
        history = data.get("meter_history")
    # a single meter's flow steps whenever a pump or a tank valve acts: bursts are looked
    # for in the district's net inflow (consumption + losses), pressure drops at each logger
    node_config = replace(config, step_metrics=("pressure",))
    flags = [
        d.detect_readings(
            readings,
            node_config,
            data["thresholds"],
            now=pd.Timestamp(now),
            history=None if expected is not None else history,
            intervals=data.get("intervals"),
            expected=expected,
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


def decide_tenants(episodes: pd.DataFrame, data: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Attach tenant and district from the registry to episodes found elsewhere (BigQuery ML)."""
    by_node = data["nodes"].set_index("node_id")
    episodes = episodes.copy()
    episodes["district_id"] = episodes["node_id"].map(by_node["district_id"])
    episodes["tenant_id"] = episodes["node_id"].map(by_node["tenant_id"])
    return episodes[episodes["tenant_id"].notna()].reset_index(drop=True)


ALERT_MIN_SEVERITY = "medium"  # low episodes are stored, not pushed to the control room


def episode_row(ep: dict, now: dt.datetime) -> dict:
    """An episode (build_episodes record with tenant_id) as the anomalies row it stores."""
    return {
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


def merge_gap(anomaly_type: str) -> dt.timedelta:
    """How far apart an episode and an open anomaly of its key may be to be one anomaly."""
    return dt.timedelta(hours=EPISODE_GAP_H.get(anomaly_type, 1.0) + 0.25)


def continued(existing_severity: str, existing_score: float | None, row: dict) -> tuple[str, bool]:
    """An open anomaly continued by an episode: its new severity (the higher of the two) and
    whether the episode's peak is bigger (its values then replace the anomaly's)."""
    bigger = abs(row["score"]) > abs(existing_score or 0)
    return max_severity(existing_severity, row["severity"]), bigger


def alert_due(severity: str, alerted_severity: str | None) -> bool:
    """New anomalies and escalations at or above ALERT_MIN_SEVERITY are alerted, once per level."""
    rank = SEVERITIES.index(severity)
    alerted = SEVERITIES.index(alerted_severity) if alerted_severity else -1
    return rank >= SEVERITIES.index(ALERT_MIN_SEVERITY) and rank > alerted


def alert_payload(anomaly_id: int, row: dict, escalation: bool) -> dict:
    return {
        "anomaly_id": anomaly_id,
        "node_id": row["node"],
        "district_id": row["district"],
        "metric": row["metric"],
        "start_ts": row["start"].isoformat(),
        "end_ts": row["end"].isoformat(),
        "score": row["score"],
        "observed_value": row["observed"],
        "expected_value": row["expected"],
        "escalation": escalation,
    }


def _num(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)
