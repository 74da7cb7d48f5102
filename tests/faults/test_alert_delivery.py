"""Alerts are posted once per webhook whatever the delivery pattern: concurrent copies of
one message, a slow webhook, a claimer that died mid-POST."""

from __future__ import annotations

import threading

import sqlalchemy as sa

from abbanoa.alerts import notifier
from abbanoa.errors import AbbanoaError

BODY = {"idempotency_key": "anomaly:42:high", "type": "leak", "severity": "high", "node_id": "FM1"}


def deliver_concurrently(settings, copies: int) -> list[str]:
    results: list[str] = []
    barrier = threading.Barrier(copies)

    def one():
        barrier.wait()
        try:
            notifier.deliver(BODY, {}, settings)
            results.append("ack")
        except AbbanoaError:
            results.append("nack")

    threads = [threading.Thread(target=one) for _ in range(copies)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def delivery(db):
    with db.connect() as conn:
        return conn.execute(sa.text("SELECT status, attempts FROM alert_deliveries")).one()


def test_ten_concurrent_copies_of_one_alert_post_once(db, settings, webhook):
    hook = webhook(delay_s=2.0)
    settings = settings.with_(alert_webhook_urls=(hook.url,))

    results = deliver_concurrently(settings, 10)
    # the copies that found it claimed were nacked; their redelivery finds it delivered
    redelivered = deliver_concurrently(settings, 3)

    assert hook.posts == {BODY["idempotency_key"]: 1}
    # one copy posted; a copy that found the claim live was nacked, one that came after was acked
    assert len(results) == 10 and results.count("nack") >= 1
    assert redelivered == ["ack"] * 3
    assert tuple(delivery(db)) == ("delivered", 1)


def test_a_webhook_slower_than_the_read_timeout_gets_one_post_recorded_unconfirmed(db, settings, webhook, monkeypatch):
    monkeypatch.setattr(notifier, "READ_TIMEOUT_S", 0.5)
    hook = webhook(delay_s=1.5)
    settings = settings.with_(alert_webhook_urls=(hook.url,))

    for _ in range(5):  # Pub/Sub redelivering
        notifier.deliver(BODY, {}, settings)

    assert hook.posts == {BODY["idempotency_key"]: 1}
    assert tuple(delivery(db)) == ("unconfirmed", 1)


def test_a_claim_whose_holder_died_is_taken_again_after_its_timeout(db, settings, webhook):
    hook = webhook()
    settings = settings.with_(alert_webhook_urls=(hook.url,))
    with db.begin() as conn:  # a notifier claimed the delivery, then was killed before posting
        conn.execute(
            sa.text(
                "INSERT INTO alert_deliveries (idempotency_key, target, status, attempts, claimed_until) "
                "VALUES (:k, :t, 'sending', 1, now() + interval '1 hour')"
            ),
            {"k": BODY["idempotency_key"], "t": hook.url},
        )
    assert deliver_concurrently(settings, 1) == ["nack"]  # live claim: wait
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE alert_deliveries SET claimed_until = now() - interval '1 second'"))

    assert deliver_concurrently(settings, 1) == ["ack"]
    assert hook.posts == {BODY["idempotency_key"]: 1}
    assert tuple(delivery(db)) == ("delivered", 2)
