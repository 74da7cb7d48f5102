"""Cloud Function entry points (functions-framework). Thin: parse the trigger, call the
package, log JSON to stdout.

- `job_pubsub`: Cloud Scheduler -> Pub/Sub -> this CloudEvent. The job is the function's
  JOB_NAME (one deployment per job in production) or, locally where one server serves
  every job, the job whose topic the event came from.
- `job_http`: the same jobs over HTTP ("run now"), POST /<job> or JOB_NAME.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys

import functions_framework
from flask import jsonify

from abbanoa.jobs import schedule
from abbanoa.settings import get_settings

# Pub/Sub retries a failing function for days: an event older than this is acknowledged
# and logged instead of run, so a poison message cannot loop forever.
MAX_EVENT_AGE = dt.timedelta(hours=6)


class _JsonFormatter(logging.Formatter):
    def format(self, record):
        entry = {"severity": record.levelname, "message": record.getMessage(), "logger": record.name}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


_handler = logging.StreamHandler(sys.stdout)
_handler.setFormatter(_JsonFormatter())
logging.basicConfig(level=logging.INFO, handlers=[_handler], force=True)
log = logging.getLogger("functions")


def _job_for_topic(source: str | None) -> str | None:
    topic = (source or "").rsplit("/topics/", 1)[-1] if "/topics/" in (source or "") else None
    for spec in schedule.jobs().values():
        if spec.topic == topic:
            return spec.name
    return None


def _event_time(cloud_event) -> dt.datetime | None:
    sent = cloud_event.get("time")
    return dt.datetime.fromisoformat(sent.replace("Z", "+00:00")) if sent else None


def _event_age(cloud_event) -> dt.timedelta:
    sent = _event_time(cloud_event)
    return dt.datetime.now(dt.UTC) - sent if sent else dt.timedelta(0)


class JobNotRun(RuntimeError):
    """Raised so that Pub/Sub redelivers: the job was skipped and nothing else does its work."""


@functions_framework.cloud_event
def job_pubsub(cloud_event):
    from abbanoa.jobs.runner import run_job

    settings = get_settings()
    name = settings.job_name or _job_for_topic(cloud_event.get("source"))
    if name is None:
        log.error("no job for event source %s: acknowledged", cloud_event.get("source"))
        return
    if (age := _event_age(cloud_event)) > MAX_EVENT_AGE:
        log.error("dropping %s event %s: %s old", name, cloud_event["id"], age)
        return
    record = run_job(name, settings, trigger="pubsub", event_id=cloud_event["id"], event_time=_event_time(cloud_event))
    log.info(json.dumps({"job": name, "event_id": cloud_event["id"], **record.to_dict()}, default=str))
    if record.status == "skipped" and not (record.details or {}).get("covered"):
        # the run holding the lock started before this event: it may not do this event's
        # work, so the message is nacked (500) and redelivered after Pub/Sub's backoff
        raise JobNotRun(f"{name} skipped: a run started before this event holds the lock; redeliver")


@functions_framework.http
def job_http(request):
    from abbanoa.jobs.runner import run_job

    settings = get_settings()
    name = settings.job_name or request.path.strip("/").split("/")[-1]
    if name not in schedule.jobs():
        return jsonify({"error": f"unknown job {name!r}", "jobs": sorted(schedule.jobs())}), 404
    params = request.get_json(silent=True) or {}
    if not isinstance(params, dict):
        return jsonify({"error": "body must be a JSON object of job parameters"}), 400
    try:
        record = run_job(name, settings, trigger="http", params=params)
    except Exception as exc:
        return jsonify({"job": name, "status": "failed", "error": f"{type(exc).__name__}: {exc}"}), 500
    code = {"skipped": 409, "degraded": 503}.get(record.status, 200)  # degraded: a store was down
    return jsonify(record.to_dict()), code


@functions_framework.cloud_event
def notify_alert(cloud_event):
    """Alert topic subscriber: deliver the alert to the configured webhooks. A failed
    webhook raises, so Pub/Sub redelivers; after the retry budget it is dead-lettered."""
    from abbanoa.alerts.notifier import decode_message, deliver

    body, attributes = decode_message(cloud_event.data)
    deliver(body, attributes, get_settings())
