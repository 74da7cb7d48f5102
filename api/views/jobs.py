"""/jobs: recent runs (operators; the platform's figures for the platform operator only) and
run-now (the platform operator: a message to the job's Pub/Sub topic, never a run here)."""

from __future__ import annotations

import concurrent.futures
import datetime as dt

from flask import Blueprint, jsonify, request
from google.api_core import exceptions as gexc

from abbanoa.auth import PLATFORM_OPERATOR
from abbanoa.errors import ServiceUnavailable
from abbanoa.repository import NotFound, ops
from api.params import parse_int
from api.routes import API_PREFIX, Param, route
from api.security import engine, settings, tenant

bp = Blueprint("jobs", __name__, url_prefix=API_PREFIX + "/jobs")
PUBLISH_TIMEOUT_S = 10.0  # well inside gunicorn's and Cloud Run's 60 s


@route(
    bp,
    "",
    "GET",
    "Recent job runs (the platform's counts and errors for the platform operator only)",
    role="operator",
    params=(
        Param("job"),
        Param("event", description="the message id a run-now answered: that run only"),
        Param("limit", type="integer"),
    ),
)
def list_runs():
    limit = parse_int("limit", request.args.get("limit"), 50, 1, 500)
    with engine().connect() as conn:
        items = ops.list_job_runs(
            conn, tenant(), request.args.get("job") or None, limit, event_id=request.args.get("event") or None
        )
    return jsonify({"items": items})


@route(bp, "/<name>/run", "POST", "Queue a run of a job now (202)", role=PLATFORM_OPERATOR, responses=(202,))
def run(name: str):
    from abbanoa.jobs import schedule, scheduler

    spec = schedule.jobs().get(name)
    if spec is None:
        raise NotFound(f"job {name!r} not found")
    try:  # the scheduler's own publish: the function receives exactly what Cloud Scheduler sends
        message_id = scheduler.fire(settings(), name, dt.datetime.now(dt.UTC), timeout_s=PUBLISH_TIMEOUT_S)
    except (gexc.GoogleAPICallError, concurrent.futures.TimeoutError, TimeoutError) as exc:
        raise ServiceUnavailable(f"Pub/Sub did not take the message for {spec.topic}: {type(exc).__name__}") from exc
    body = {
        "job": name,
        "mode": "published",
        "topic": spec.topic,
        "message_id": message_id,
        # the function records its run with event_id = this message id
        "run": f"{API_PREFIX}/jobs?event={message_id}",
    }
    return jsonify(body), 202
