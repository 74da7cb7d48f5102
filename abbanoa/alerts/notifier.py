"""Deliver a published alert to the configured webhooks, once per (alert, webhook).

Each (alert, webhook) delivery is claimed in alert_deliveries before its POST, so
concurrent or redelivered messages post once: the claim is one row, taken by one attempt,
and taken again only after CLAIM_S when its holder died. A refused or unreachable
webhook raises DeliveryFailed so Pub/Sub redelivers (retry); after MAX_ATTEMPTS it is
marked dead_lettered and the message is acknowledged. A POST sent but never answered
(read timeout) is `unconfirmed` and not re-sent: the webhook may have acted on it. A
delivery claimed by a live attempt elsewhere is nacked too, so the redelivery finds it
settled.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import requests

from abbanoa.errors import AbbanoaError
from abbanoa.repository import alert_deliveries
from abbanoa.settings import Settings
from abbanoa.stores import postgres

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
CONNECT_TIMEOUT_S = 5.0
READ_TIMEOUT_S = 30.0  # a slow webhook gets time to answer; no answer at all -> unconfirmed
# a claim outlives its POST: a delivery whose claimer died is taken again after this
CLAIM_S = CONNECT_TIMEOUT_S + READ_TIMEOUT_S + 15.0


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
    outcome = {target: _deliver_one(engine, key, target, body) for target in settings.alert_webhook_urls}
    retry = [t for t, s in outcome.items() if s in ("failed", "sending")]
    if retry:
        raise DeliveryFailed(f"alert {key}: delivery to {', '.join(retry)} not confirmed yet; will be retried")
    return outcome


def _deliver_one(engine, key: str, target: str, body: dict[str, Any]) -> str:
    """Claim, post, record. A delivery claimed by another live attempt reports `sending`."""
    with engine.begin() as conn:
        attempt = alert_deliveries.claim(conn, key, target, CLAIM_S)
        if attempt is None:
            return alert_deliveries.status_of(conn, key, target) or "sending"
    http_status, error, answered = _post(target, body, key)
    if error is None:
        status = "delivered"
    elif not answered:
        # the request went out and no answer came: the webhook may have acted on it, so it
        # is not posted again (one post per alert), and an operator is told
        status = "unconfirmed"
        log.error("alert %s to %s: sent, no answer within %.0f s; not re-sent: %s", key, target, READ_TIMEOUT_S, error)
    elif attempt >= MAX_ATTEMPTS:
        status = "dead_lettered"
        log.error("alert %s to %s dead-lettered after %d attempts: %s", key, target, attempt, error)
    else:
        status = "failed"
    with engine.begin() as conn:
        alert_deliveries.record(conn, key, target, status, http_status, error)
    return status


def _post(target: str, body: dict[str, Any], key: str) -> tuple[int | None, str | None, bool]:
    """(HTTP status, error, whether the outcome is known: False when sent but unanswered)."""
    text = _summary(body)
    try:
        response = requests.post(
            target,
            json={"text": text, "alert": body},
            headers={"Idempotency-Key": key},
            timeout=(CONNECT_TIMEOUT_S, READ_TIMEOUT_S),
        )
    except requests.ReadTimeout as exc:
        return None, str(exc)[:500], False
    except requests.RequestException as exc:  # not connected: nothing was received
        return None, str(exc)[:500], True
    if 200 <= response.status_code < 300:
        return response.status_code, None, True
    return response.status_code, f"HTTP {response.status_code}: {response.text[:300]}", True


def _summary(body: dict[str, Any]) -> str:
    where = body.get("node_id") or body.get("district_id") or "?"
    severity = str(body.get("severity", "?")).upper()
    metric = f" ({body['metric']})" if body.get("metric") else ""  # a district-wide gap has none
    return f"[{severity}] {body.get('type', 'alert')} at {where}{metric} since {body.get('start_ts')}"
