"""Alerts end to end on the real services: the detection job records and publishes an
anomaly once, a redelivered message posts once, and a failing webhook is retried."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time

import pandas as pd
import sqlalchemy as sa
from functions_framework import create_app

from abbanoa import settings as settings_module
from abbanoa.jobs import anomaly_detection
from abbanoa.jobs.base import JobContext
from abbanoa.stores import postgres, pubsub
from tests.conftest import REPO_ROOT

NOW = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)


def _seed_stuck_sensor(engine) -> None:
    ts = pd.date_range(NOW - dt.timedelta(hours=20), NOW, freq="15min")
    values = [4.0 + 0.01 * (i % 7) for i in range(len(ts))]
    values[-20:] = [3.33] * 20  # stuck for the last five hours
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT ensure_readings_partitions(:a, :b)"), {"a": ts[0], "b": ts[-1]})
        conn.execute(sa.text("INSERT INTO tenants (tenant_id, name) VALUES ('abbanoa', 'Abbanoa')"))
        conn.execute(
            sa.text("INSERT INTO nodes (node_id, tenant_id, node_type) VALUES ('P1', 'abbanoa', 'pressure_logger')")
        )
        postgres.copy_rows(
            conn,
            "readings",
            ["node_id", "metric", "ts", "value"],
            [("P1", "pressure", t, v) for t, v in zip(ts, values, strict=True)],
        )


def _subscription(settings, name: str) -> str:
    topic = pubsub.ensure_topic(settings.alert_topic, settings)
    path = f"projects/{settings.gcp_project}/subscriptions/{name}"
    sub = pubsub.subscriber(settings)
    try:
        sub.create_subscription(request={"name": path, "topic": topic}, timeout=10)
    except Exception:
        sub.seek(request={"subscription": path, "time": dt.datetime.now(dt.UTC)})
    return path


def _pull(settings, path: str) -> list:
    """Every message waiting on the subscription (acknowledged): poll until one arrives,
    then once more after a pause, so a second message would be seen too."""
    sub = pubsub.subscriber(settings)
    got: list = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        response = sub.pull(request={"subscription": path, "max_messages": 10, "return_immediately": True}, timeout=5)
        messages = list(response.received_messages)
        if messages:
            sub.acknowledge(request={"subscription": path, "ack_ids": [m.ack_id for m in messages]})
        elif got:
            return got
        got += messages
        time.sleep(0.5)
    return got


def test_anomaly_is_stored_as_one_episode_and_published_once_across_reruns(db, settings, pubsub_project):
    # given a pressure logger stuck for five hours, and a subscriber on the alert topic
    _seed_stuck_sensor(db)
    path = _subscription(settings, "alerts-test-once")
    # when the detection job runs, then runs again (a rerun or a redelivered job message)
    for minutes in (0, 15):
        anomaly_detection.run(JobContext("anomaly_detection", settings, now=NOW + dt.timedelta(minutes=minutes)))
    # then there is one anomaly, one alert row and one message on the topic
    with db.begin() as conn:
        anomalies = conn.execute(sa.text("SELECT anomaly_type, severity, start_ts, end_ts FROM anomalies")).all()
        alerts = conn.execute(sa.text("SELECT idempotency_key, published_at FROM alerts")).all()
    stuck = [a for a in anomalies if a.anomaly_type == "stuck_value"]
    assert len(stuck) == 1 and stuck[0].severity == "medium"
    assert len(alerts) == 1 and alerts[0].published_at is not None
    messages = _pull(settings, path)
    assert len(messages) == 1
    message = messages[0].message
    assert dict(message.attributes)["tenant"] == "abbanoa"
    assert dict(message.attributes)["type"] == "stuck_value"
    assert json.loads(message.data)["node_id"] == "P1"


def _push_body(message) -> dict:
    return {
        "subscription": "projects/p/subscriptions/alerts-notifier",
        "message": {
            "data": base64.b64encode(message.data).decode(),
            "messageId": message.message_id,
            "attributes": dict(message.attributes),
        },
    }


def test_redelivered_alert_posts_once_and_a_500_is_retried(db, settings, pubsub_project, httpserver):
    _seed_stuck_sensor(db)
    path = _subscription(settings, "alerts-test-notify")
    anomaly_detection.run(JobContext("anomaly_detection", settings, now=NOW))
    [received] = _pull(settings, path)
    settings_module.reset_settings(settings.with_(alert_webhook_urls=(httpserver.url + "/hook",)))
    client = create_app("notify_alert", str(REPO_ROOT / "functions" / "main.py"), "cloudevent").test_client()
    # given a webhook that fails once with a 500, then accepts
    httpserver.serve_content("boom", code=500)
    # when Pub/Sub delivers the message, then redelivers it three times
    statuses = [client.post("/", json=_push_body(received.message)).status_code]
    httpserver.serve_content("ok", code=200)
    statuses += [client.post("/", json=_push_body(received.message)).status_code for _ in range(3)]
    # then the first delivery failed (retry), the second posted, the rest posted nothing
    assert statuses[0] >= 500 and statuses[1:] == [200, 200, 200]
    assert len(httpserver.requests) == 2
    posted = json.loads(httpserver.requests[1].get_data())
    assert posted["alert"]["type"] == "stuck_value"
    with db.begin() as conn:
        row = conn.execute(sa.text("SELECT status, attempts FROM alert_deliveries")).one()
    assert (row.status, row.attempts) == ("delivered", 2)
