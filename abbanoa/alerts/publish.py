"""Record an alert once (alerts.idempotency_key is unique) and publish it to the alert topic.

Recording and publishing are separate steps: the alert row is written in the job's
transaction; publish_pending() then sends every row not yet published. A rerun or a
redelivered job message finds the key already there and records nothing; a crash between
the two steps leaves the row unpublished, and the next run sends it.

Each alert that goes out is also pushed live on Redis pub/sub (`live_channel`, one channel
per tenant), where the API's server-sent-events stream (/api/v1/events/stream) relays it to
open dashboards; Redis being down loses only the push (the stream replays from PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import sqlalchemy as sa

from abbanoa.repository.anomalies import live_event
from abbanoa.settings import Settings

log = logging.getLogger(__name__)


def record_alert(
    conn: sa.Connection,
    *,
    tenant_id: str,
    idempotency_key: str,
    source: str,
    source_id: int | None,
    alert_type: str,
    severity: str,
    payload: dict[str, Any],
) -> int | None:
    """Insert the alert unless its key exists; returns the new alert_id or None."""
    body = dict(payload, idempotency_key=idempotency_key, tenant_id=tenant_id, severity=severity, type=alert_type)
    return conn.execute(
        sa.text(
            "INSERT INTO alerts (tenant_id, idempotency_key, source, source_id, alert_type, severity,"
            " payload)"
            " VALUES (:tenant, :key, :source, :source_id, :type, :severity, CAST(:payload AS jsonb))"
            " ON CONFLICT (idempotency_key) DO NOTHING RETURNING alert_id"
        ),
        {
            "tenant": tenant_id,
            "key": idempotency_key,
            "source": source,
            "source_id": source_id,
            "type": alert_type,
            "severity": severity,
            "payload": json.dumps(body, default=str),
        },
    ).scalar()


def publish_pending(engine: sa.Engine, settings: Settings, now: dt.datetime | None = None) -> int:
    """Publish every recorded, unpublished alert; returns how many went out.

    Attributes tenant, severity and type let subscriptions filter. When Pub/Sub is down the
    rows stay unpublished (logged) and the next run sends them.
    """
    from abbanoa.stores import pubsub

    now = now or dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        rows = (
            conn.execute(
                sa.text(
                    "SELECT alert_id, tenant_id, idempotency_key, alert_type, severity, payload FROM alerts"
                    " WHERE published_at IS NULL ORDER BY alert_id"
                )
            )
            .mappings()
            .all()
        )
    sent = 0
    for row in rows:
        attributes = {
            "tenant": row["tenant_id"],
            "severity": row["severity"],
            "type": row["alert_type"],
            "idempotency_key": row["idempotency_key"],
        }
        try:
            pubsub.ensure_topic(settings.alert_topic, settings)
            message_id = pubsub.publish_json(settings.alert_topic, row["payload"], attributes, settings)
        except Exception as exc:  # the topic being unreachable must not lose the alert
            log.warning("alert %s not published yet: %s", row["idempotency_key"], exc)
            break
        with engine.begin() as conn:
            conn.execute(
                sa.text("UPDATE alerts SET published_at = :now, message_id = :mid WHERE alert_id = :id"),
                {"now": now, "mid": message_id, "id": row["alert_id"]},
            )
        push_live(settings, row["tenant_id"], live_event(row))
        sent += 1
    return sent


def live_channel(settings: Settings, tenant_id: str) -> str:
    """The Redis pub/sub channel of a tenant's live events (under the key prefix)."""
    return f"{settings.redis_key_prefix}live:{tenant_id}"


def push_live(settings: Settings, tenant_id: str, event: dict[str, Any]) -> bool:
    """PUBLISH the event on the tenant's live channel; False (logged) when Redis is down."""
    from abbanoa.stores import cache

    try:
        cache.client(settings).publish(live_channel(settings, tenant_id), json.dumps(event, default=str))
        return True
    except Exception as exc:  # a live push is best effort; the alert itself is kept
        log.warning("live push of alert %s failed: %s", event.get("alert_id"), exc)
        return False
