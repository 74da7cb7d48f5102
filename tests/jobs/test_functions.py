"""Cloud Function entry points, through functions-framework's own unmarshalling and
through the Pub/Sub emulator's push delivery, as production triggers them."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from functions_framework import create_app

from abbanoa.jobs import scheduler
from abbanoa.stores import pubsub

from ..conftest import REPO_ROOT, subprocess_env

PAYLOADS = Path(__file__).parent / "payloads"
MAIN = str(REPO_ROOT / "functions" / "main.py")


def runs(db, job):
    with db.connect() as conn:
        return conn.execute(
            sa.text("SELECT status, trigger, event_id FROM job_runs WHERE job_name = :j ORDER BY run_id"), {"j": job}
        ).all()


def test_a_recorded_scheduler_push_runs_its_job_once_even_when_redelivered(jobs_settings, registry):
    client = create_app("job_pubsub", MAIN, "cloudevent").test_client()
    body = json.loads((PAYLOADS / "scheduler_push.json").read_text())
    body["message"]["publishTime"] = body["message"]["publish_time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ")
    path = f"/projects/{jobs_settings.gcp_project}/topics/job-cache-refresh"

    first = client.post(path, json=body)
    again = client.post(path, json=body)  # Pub/Sub delivers at least once

    assert first.status_code == 200
    assert again.status_code == 200
    assert runs(registry, "cache_refresh") == [("succeeded", "pubsub", "13542817890123")]


def test_an_event_too_old_to_matter_is_acknowledged_not_run(jobs_settings, registry):
    client = create_app("job_pubsub", MAIN, "cloudevent").test_client()
    body = json.loads((PAYLOADS / "scheduler_push.json").read_text())  # published on 2026-11-20
    body["message"]["publishTime"] = body["message"]["publish_time"] = "2020-01-01T00:00:00Z"
    response = client.post(f"/projects/{jobs_settings.gcp_project}/topics/job-cache-refresh", json=body)
    assert response.status_code == 200
    assert runs(registry, "cache_refresh") == []


def test_run_now_over_http(jobs_settings, registry):
    client = create_app("job_http", MAIN, "http").test_client()
    ok = client.post("/cache_refresh", json={})
    unknown = client.post("/no_such_job", json={})
    assert ok.status_code == 200
    assert ok.get_json()["status"] == "succeeded"
    assert unknown.status_code == 404
    assert runs(registry, "cache_refresh") == [("succeeded", "http", None)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_message_on_a_job_topic_reaches_the_function_and_runs_the_job(jobs_settings, registry, pubsub_project):
    port = _free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "functions-framework"),
            "--source", MAIN, "--target", "job_pubsub", "--signature-type", "cloudevent",
            "--host", "127.0.0.1", "--port", str(port),
        ],
        env=subprocess_env(jobs_settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        scheduler.wire(jobs_settings, f"http://127.0.0.1:{port}", None)

        message_id = scheduler.fire(jobs_settings, "cache_refresh", scheduled_for=__import__("datetime").datetime.now())

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and [r[0] for r in runs(registry, "cache_refresh")] != ["succeeded"]:
            time.sleep(0.2)
        assert runs(registry, "cache_refresh") == [("succeeded", "pubsub", message_id)]
    finally:
        server.terminate()
        server.wait(10)
        # delete the push subscriptions so the emulator stops pushing to a dead server
        sub = pubsub.subscriber(jobs_settings)
        for s in sub.list_subscriptions(request={"project": f"projects/{jobs_settings.gcp_project}"}):
            sub.delete_subscription(request={"subscription": s.name})
        sub.close()


def test_the_scheduler_fires_each_job_on_its_cron_in_rome_time():
    import datetime as dt

    now = dt.datetime(2026, 3, 29, 0, 59, tzinfo=dt.UTC)  # 01:59 CET, just before the spring change
    upcoming = dict((name, when) for when, name in scheduler.next_runs(now, "Europe/Rome"))
    # daily sync at 02:00 local: on 29 March 02:00 does not exist; croniter moves to the next valid time
    assert upcoming["realtime_sync"] == dt.datetime(2026, 3, 29, 1, 0, tzinfo=dt.UTC)
    assert upcoming["data_quality"] == dt.datetime(2026, 3, 29, 4, 0, tzinfo=dt.UTC)  # 06:00 CEST
    assert upcoming["weekly_cleanup"] == dt.datetime(2026, 3, 29, 1, 0, tzinfo=dt.UTC)  # Sunday 03:00 CEST


def _structured(jobs_settings, sent_at: str) -> dict:
    """The recorded Eventarc CloudEvent (structured mode), retargeted at this test's project."""
    event = json.loads((PAYLOADS / "pubsub_cloudevent.json").read_text())
    event["source"] = event["source"].replace("abbanoa-local", jobs_settings.gcp_project)
    event["time"] = event["data"]["message"]["publishTime"] = sent_at
    return event


def test_a_failing_job_answers_500_so_pubsub_redelivers_and_the_redelivery_runs_it(
    jobs_settings, registry, monkeypatch
):
    from abbanoa.jobs import cache_refresh

    client = create_app("job_pubsub", MAIN, "cloudevent").test_client()
    event = _structured(jobs_settings, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    headers = {"Content-Type": "application/cloudevents+json"}
    original = cache_refresh.run

    def redis_down(ctx):
        raise ConnectionError("redis unreachable")

    # given a job that fails on the first delivery
    monkeypatch.setattr(cache_refresh, "run", redis_down)
    failed = client.post("/", data=json.dumps(event), headers=headers)
    # when Pub/Sub redelivers the same message after the cause is gone
    monkeypatch.setattr(cache_refresh, "run", original)
    retried = client.post("/", data=json.dumps(event), headers=headers)
    again = client.post("/", data=json.dumps(event), headers=headers)

    # then the failure was reported (not acknowledged), and the job ran exactly once more
    assert failed.status_code == 500
    assert retried.status_code == 200
    assert again.status_code == 200
    assert runs(registry, "cache_refresh") == [
        ("failed", "pubsub", event["id"]),
        ("succeeded", "pubsub", event["id"]),
    ]


def test_a_recorded_cloud_scheduler_http_call_passes_its_parameters_to_the_job(jobs_settings, registry):
    call = json.loads((PAYLOADS / "scheduler_http.json").read_text())
    client = create_app("job_http", MAIN, "http").test_client()

    response = client.post(call["path"], data=json.dumps(call["body"]), headers=call["headers"])

    assert response.status_code == 200
    assert response.get_json()["details"]["days"] == 3
    assert runs(registry, "daily_sync") == [("succeeded", "http", None)]
