"""Leak localisation rows: a district's network model (with its sensitivity matrix) and the
ranked places stored with each leak-type anomaly (tenant-scoped reads for the API)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa


def save_model(conn: sa.Connection, model: dict[str, Any]) -> None:
    """Insert or replace a district's model; the matrix is kept only while the fingerprint holds."""
    conn.execute(
        sa.text(
            "INSERT INTO network_models (district_id, tenant_id, fingerprint, model_inp, loggers, candidates,"
            " positions, pipes_at, sensitivity, sensitivity_fingerprint, sensitivity_s, imported_at, computed_at)"
            " VALUES (:district, :tenant, :fp, :inp, CAST(:loggers AS jsonb), CAST(:candidates AS jsonb),"
            " CAST(:positions AS jsonb), CAST(:pipes AS jsonb), CAST(:sens AS jsonb), :sens_fp, :sens_s,"
            " :now, :computed)"
            " ON CONFLICT (district_id) DO UPDATE SET tenant_id = EXCLUDED.tenant_id,"
            " fingerprint = EXCLUDED.fingerprint, model_inp = EXCLUDED.model_inp, loggers = EXCLUDED.loggers,"
            " candidates = EXCLUDED.candidates, positions = EXCLUDED.positions, pipes_at = EXCLUDED.pipes_at,"
            " sensitivity = EXCLUDED.sensitivity, sensitivity_fingerprint = EXCLUDED.sensitivity_fingerprint,"
            " sensitivity_s = EXCLUDED.sensitivity_s, imported_at = EXCLUDED.imported_at,"
            " computed_at = EXCLUDED.computed_at"
        ),
        {
            "district": model["district_id"],
            "tenant": model["tenant_id"],
            "fp": model["fingerprint"],
            "inp": model["model_inp"],
            "loggers": json.dumps(model["loggers"]),
            "candidates": json.dumps(model["candidates"]),
            "positions": json.dumps(model["positions"]),
            "pipes": json.dumps(model["pipes_at"]),
            "sens": json.dumps(model.get("sensitivity")),
            "sens_fp": model.get("sensitivity_fingerprint"),
            "sens_s": model.get("sensitivity_s"),
            "now": model["imported_at"],
            "computed": model.get("computed_at"),
        },
    )


def model_fingerprint(conn: sa.Connection, district_id: str) -> str | None:
    return conn.execute(
        sa.text("SELECT sensitivity_fingerprint FROM network_models WHERE district_id = :d"), {"d": district_id}
    ).scalar()


def load_models(conn: sa.Connection, district_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The stored models (with a current matrix) of these districts, by district."""
    if not district_ids:
        return {}
    rows = conn.execute(
        sa.text(
            "SELECT district_id, fingerprint, loggers, candidates, positions, pipes_at, sensitivity"
            " FROM network_models WHERE district_id = ANY(:d) AND sensitivity IS NOT NULL"
            " AND sensitivity_fingerprint = fingerprint"
        ),
        {"d": list(district_ids)},
    ).mappings()
    return {r["district_id"]: dict(r) for r in rows}


def leak_anomalies(
    conn: sa.Connection, types: tuple[str, ...], updated_since: dt.datetime, window: dt.timedelta
) -> list[dict]:
    """District-level leak-type anomalies touched since `updated_since` whose stored
    localisation is missing, was computed for another onset, or before its window was full."""
    rows = conn.execute(
        sa.text(
            "SELECT a.anomaly_id, a.tenant_id, a.district_id, a.anomaly_type, a.start_ts, a.end_ts,"
            " a.observed_value, a.expected_value"
            " FROM anomalies a WHERE a.anomaly_type = ANY(:types) AND a.district_id IS NOT NULL"
            " AND a.status <> 'resolved' AND a.updated_at >= :since AND NOT EXISTS ("
            "  SELECT 1 FROM anomaly_localisations l WHERE l.anomaly_id = a.anomaly_id AND l.onset = a.start_ts"
            "  AND l.computed_at >= a.start_ts + CAST(:window AS interval))"
            " ORDER BY a.anomaly_id"
        ),
        {"types": list(types), "since": updated_since, "window": window},
    ).mappings()
    return [dict(r) for r in rows]


def district_loggers(conn: sa.Connection, district_ids: list[str]) -> dict[str, dict[str, tuple[float, float]]]:
    """Per district: its active nodes that report pressure, with their position."""
    rows = conn.execute(
        sa.text(
            "SELECT n.district_id, n.node_id, n.latitude, n.longitude FROM nodes n"
            " WHERE n.district_id = ANY(:d) AND n.active AND EXISTS ("
            "  SELECT 1 FROM latest_readings l WHERE l.node_id = n.node_id AND l.metric = 'pressure')"
        ),
        {"d": list(district_ids)},
    ).all()
    out: dict[str, dict[str, tuple[float, float]]] = {}
    for district, node, lat, lon in rows:
        out.setdefault(district, {})[node] = (lat, lon)
    return out


def pressure_readings(conn: sa.Connection, nodes: list[str], since: dt.datetime, until: dt.datetime):
    """(node_id, ts, value) of these nodes' pressure: hourly means of the raw readings (the
    resolution the expected level per local hour needs), in the caller's bounded window."""
    return conn.execute(
        sa.text(
            "SELECT node_id, date_bin('1 hour', ts, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS hour, avg(value)"
            " FROM readings WHERE node_id = ANY(:n) AND metric = 'pressure' AND ts >= :since AND ts < :until"
            " GROUP BY node_id, hour"
        ),
        {"n": list(nodes), "since": since, "until": until},
    ).all()


def save_localisation(
    conn: sa.Connection, anomaly: dict, result: dict, now: dt.datetime, fingerprint: str | None = None
) -> None:
    conn.execute(
        sa.text(
            "INSERT INTO anomaly_localisations (anomaly_id, method, tenant_id, onset, confidence, ranked, area,"
            " result, model_fingerprint, computed_at) VALUES (:a, :m, :t, :onset, :c, CAST(:ranked AS jsonb),"
            " CAST(:area AS jsonb), CAST(:result AS jsonb), :fp, :now)"
            " ON CONFLICT (anomaly_id, method) DO UPDATE SET onset = EXCLUDED.onset,"
            " confidence = EXCLUDED.confidence, ranked = EXCLUDED.ranked, area = EXCLUDED.area,"
            " result = EXCLUDED.result, model_fingerprint = EXCLUDED.model_fingerprint,"
            " computed_at = EXCLUDED.computed_at"
        ),
        {
            "a": anomaly["anomaly_id"],
            "m": result["method"],
            "t": anomaly["tenant_id"],
            "onset": anomaly["start_ts"],
            "c": result["confidence"],
            "ranked": json.dumps(result["ranked"]),
            "area": json.dumps(result["area"]),
            "result": json.dumps(result),
            "fp": fingerprint,
            "now": now,
        },
    )


def localisations_for(conn: sa.Connection, tenant_id: str, anomaly_ids: list[int]) -> dict[int, list[dict]]:
    """Per anomaly of this tenant: its stored localisations (the API's `localisation` field)."""
    if not anomaly_ids:
        return {}
    rows = conn.execute(
        sa.text(
            "SELECT anomaly_id, result, computed_at FROM anomaly_localisations"
            " WHERE tenant_id = :t AND anomaly_id = ANY(:ids) ORDER BY anomaly_id, method"
        ),
        {"t": tenant_id, "ids": list(anomaly_ids)},
    ).all()
    out: dict[int, list[dict]] = {}
    for anomaly_id, result, computed_at in rows:
        out.setdefault(anomaly_id, []).append(dict(result, computed_at=computed_at.isoformat()))
    return out
