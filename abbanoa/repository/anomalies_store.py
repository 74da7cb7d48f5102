"""Detection's writes to anomalies (every tenant): the open anomaly an episode continues,
a new anomaly, an extended one, and the severity last alerted. The operators' side
(listing, acknowledge, resolve) is repository/anomalies.py."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa


def open_anomaly_near(conn: sa.Connection, episode: dict, gap: dt.timedelta):
    """The newest unresolved anomaly of the episode's key that ends within `gap` of its
    start and starts within `gap` of its end (locked for update); None if there is none."""
    return conn.execute(
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
        dict(episode, gap=gap),
    ).first()


def insert_anomaly(conn: sa.Connection, episode: dict):
    """A new anomaly from the episode; returns (anomaly_id, severity, alerted_severity)."""
    return conn.execute(
        sa.text(
            "INSERT INTO anomalies (tenant_id, node_id, district_id, metric, anomaly_type, severity,"
            " score, observed_value, expected_value, start_ts, end_ts, details, updated_at)"
            " VALUES (:tenant, :node, :district, :metric, :type, :severity, :score, :observed,"
            " :expected, :start, :end, CAST(:details AS jsonb), :now)"
            " RETURNING anomaly_id, severity, alerted_severity"
        ),
        episode,
    ).first()


def extend_anomaly(conn: sa.Connection, anomaly_id: int, episode: dict, severity: str, bigger: bool):
    """Widen an anomaly to cover the episode, at `severity`; its peak values are replaced
    when the episode's score is `bigger`. Returns (anomaly_id, severity, alerted_severity)."""
    return conn.execute(
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
        dict(episode, severity=severity, bigger=bigger, id=anomaly_id),
    ).first()


def mark_alerted(conn: sa.Connection, anomaly_id: int, severity: str) -> None:
    conn.execute(
        sa.text("UPDATE anomalies SET alerted_severity = :s WHERE anomaly_id = :id"),
        {"s": severity, "id": anomaly_id},
    )
