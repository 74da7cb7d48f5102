"""/jobs: recent runs (operator) and run-now (admin)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from abbanoa.repository import NotFound, ops
from api.params import parse_int
from api.routes import API_PREFIX, Param, route
from api.security import engine, settings, tenant

bp = Blueprint("jobs", __name__, url_prefix=API_PREFIX + "/jobs")


@route(bp, "", "GET", "Recent job runs", role="operator", params=(Param("job"), Param("limit", type="integer")))
def list_runs():
    limit = parse_int("limit", request.args.get("limit"), 50, 1, 500)
    with engine().connect() as conn:
        return jsonify({"items": ops.list_job_runs(conn, tenant(), request.args.get("job") or None, limit)})


@route(bp, "/<name>/run", "POST", "Run a job now", role="admin", responses=(200, 202))
def run(name: str):
    from abbanoa.jobs import schedule

    specs = schedule.jobs()
    if name not in specs:
        raise NotFound(f"job {name!r} not found")
    try:
        from abbanoa.jobs.runner import run_job
    except ImportError:  # runner not part of this build: hand the job to its function
        from abbanoa.stores import pubsub

        message_id = pubsub.publish_json(
            specs[name].topic, {"job": name, "trigger": "api"}, {"job": name}, settings=settings()
        )
        return jsonify({"job": name, "mode": "published", "topic": specs[name].topic, "message_id": message_id}), 202
    try:
        record = run_job(name, settings(), trigger="http")
    except Exception as exc:  # recorded in job_runs by the runner
        return jsonify({"job": name, "mode": "ran", "status": "failed", "error": str(exc)[:500]})
    return jsonify({"job": name, "mode": "ran", **record.to_dict()})
