"""Deliver a published alert to the configured webhooks, once per (alert, webhook).

Each attempt is recorded in alert_deliveries. A failed delivery raises DeliveryFailed so
Pub/Sub redelivers the message (retry); after MAX_ATTEMPTS failures for a webhook it is
marked dead_lettered and the message is acknowledged (the subscription's dead-letter topic
catches messages that keep failing for other reasons). A webhook already delivered is
skipped, so a redelivered message posts nothing twice.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import requests
import sqlalchemy as sa

from abbanoa.errors import AbbanoaError
from abbanoa.settings import Settings
from abbanoa.stores import postgres

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
TIMEOUT_S = 10.0


class DeliveryFailed(AbbanoaError):
    """At least one webhook failed and will be retried on redelivery."""


def decode_message(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """(body, attributes) of the Pub/Sub message inside a CloudEvent's data."""
    message = (data or {}).get("message") or {}
    raw = message.get("data")
    if not raw:
        raise AbbanoaError("alert message has no data")
    body = json.loads(base64.b64decode(raw))
    return body, dict(message.get("attributes") or {})


def deliver(body: dict[str, Any], attributes: dict[str, str], settings: Settings) -> dict[str, str]:
    """Post the alert to every webhook not yet served; returns target -> status."""
    key = attributes.get("idempotency_key") or body.get("idempotency_key")
    if not key:
        raise AbbanoaError("alert message has no idempotency key")
    engine = postgres.engine(settings)
    outcome: dict[str, str] = {}
    for target in settings.alert_webhook_urls:
        with engine.begin() as conn:
            row = conn.execute(
                sa.text("SELECT status, attempts FROM alert_deliveries WHERE idempotency_key = :k AND target = :t"),
                {"k": key, "t": target},
            ).first()
        if row is not None and row.status in ("delivered", "dead_lettered"):
            outcome[target] = row.status
            continue
        attempts = (row.attempts if row is not None else 0) + 1
        http_status, error = _post(target, body, key)
        if error is None:
            status = "delivered"
        elif attempts >= MAX_ATTEMPTS:
            status = "dead_lettered"
            log.error("alert %s to %s dead-lettered after %d attempts: %s", key, target, attempts, error)
        else:
            status = "failed"
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO alert_deliveries"
                    " (idempotency_key, target, status, attempts, http_status, error)"
                    " VALUES (:k, :t, :s, :a, :h, :e)"
                    " ON CONFLICT (idempotency_key, target) DO UPDATE SET status = EXCLUDED.status,"
                    " attempts = EXCLUDED.attempts, http_status = EXCLUDED.http_status,"
                    " error = EXCLUDED.error, updated_at = now()"
                ),
                {"k": key, "t": target, "s": status, "a": attempts, "h": http_status, "e": error},
            )
        outcome[target] = status
    failed = [t for t, s in outcome.items() if s == "failed"]
    if failed:
        raise DeliveryFailed(f"alert {key}: delivery to {', '.join(failed)} failed; will be retried")
    return outcome


def _post(target: str, body: dict[str, Any], key: str) -> tuple[int | None, str | None]:
    text = _summary(body)
    try:
        response = requests.post(
            target,
            json={"text": text, "alert": body},
            headers={"Idempotency-Key": key},
            timeout=TIMEOUT_S,
        )
    except requests.RequestException as exc:
        return None, str(exc)[:500]
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}: {response.text[:300]}"


def _summary(body: dict[str, Any]) -> str:
    where = body.get("node_id") or body.get("district_id") or "?"
    severity = str(body.get("severity", "?")).upper()
    metric = f" ({body['metric']})" if body.get("metric") else ""  # a district-wide gap has none
    return f"[{severity}] {body.get('type', 'alert')} at {where}{metric} since {body.get('start_ts')}"
