"""The event workflow and live push (issue 16): reopen, assign, comment and history of an
anomaly; the tenant's new and escalated alerts as JSON (`/events`) and as server-sent events
(`/events/stream`, relayed from Redis pub/sub, replayed from PostgreSQL after Last-Event-ID)."""

from __future__ import annotations

import datetime as dt
import json
import time

from flask import Blueprint, Response, g, jsonify, request, stream_with_context

from abbanoa.alerts.publish import live_channel
from abbanoa.repository import anomalies
from api.params import parse_int
from api.routes import API_PREFIX, Param, route
from api.security import engine, settings, tenant
from api.views.common import json_body

workflow = Blueprint("anomaly_workflow", __name__, url_prefix=API_PREFIX + "/anomalies")
events = Blueprint("events", __name__, url_prefix=API_PREFIX + "/events")

HEARTBEAT_S = 15.0  # a comment line this often keeps proxies from closing an idle stream
STREAM_MAX_S = 300.0  # then the stream ends and the client reconnects (with Last-Event-ID)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@route(workflow, "/<int:anomaly_id>/reopen", "POST", "Reopen a resolved anomaly", role="operator",
       body={"note": "string (optional)"})  # fmt: skip
def reopen(anomaly_id: int):
    note = (json_body() if request.data else {}).get("note")
    with engine().begin() as conn:
        return jsonify(anomalies.reopen(conn, tenant(), anomaly_id, g.user["username"], _now(), note))


@route(workflow, "/<int:anomaly_id>/assign", "POST", "Assign an anomaly to a user of the tenant", role="operator",
       body={"assignee": "string"})  # fmt: skip
def assign(anomaly_id: int):
    assignee = str(json_body().get("assignee") or "")
    with engine().begin() as conn:
        return jsonify(anomalies.assign(conn, tenant(), anomaly_id, g.user["username"], assignee, _now()))


@route(workflow, "/<int:anomaly_id>/comments", "POST", "Comment on an anomaly", role="operator",
       body={"text": "string"})  # fmt: skip
def add_comment(anomaly_id: int):
    text = str(json_body().get("text") or "")
    with engine().begin() as conn:
        return jsonify(anomalies.comment(conn, tenant(), anomaly_id, g.user["username"], text, _now()))


@route(workflow, "/<int:anomaly_id>/history", "GET", "Who did what when on an anomaly")
def get_history(anomaly_id: int):
    with engine().connect() as conn:
        return jsonify(anomalies.history(conn, tenant(), anomaly_id))


@route(events, "", "GET", "The tenant's published alerts after an alert id, oldest first",
       params=(Param("after", type="integer", description="alert id; 0 = from the start"),))  # fmt: skip
def list_events():
    after = parse_int("after", request.args.get("after"), 0, 0, 2**62)
    with engine().connect() as conn:
        items = anomalies.alerts_since(conn, tenant(), after)
        newest = anomalies.newest_alert_id(conn, tenant())
    return jsonify({"items": items, "newest": newest})


@route(events, "/stream", "GET", "Server-sent events: new and escalated alerts of the tenant",
       params=(Param("after", type="integer", description="replay after this id (or Last-Event-ID)"),))  # fmt: skip
def stream():
    tenant_id, cfg = tenant(), settings()
    after = parse_int("after", request.headers.get("Last-Event-ID") or request.args.get("after"), -1, -1, 2**62)
    with engine().connect() as conn:
        replay = anomalies.alerts_since(conn, tenant_id, after) if after >= 0 else []
    listener = _subscribe(cfg, tenant_id)

    def body():
        yield "retry: 3000\n\n"
        for event in replay:
            yield _sse(event)
        deadline = time.monotonic() + STREAM_MAX_S
        try:
            while time.monotonic() < deadline:
                message = _next(listener)
                if message is None:
                    yield ": keep-alive\n\n"
                else:
                    yield _sse(json.loads(message))
        finally:
            if listener is not None:
                listener.close()

    return Response(
        stream_with_context(body()),
        mimetype="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _sse(event: dict) -> str:
    return f"id: {event['alert_id']}\nevent: alert\ndata: {json.dumps(event, default=str)}\n\n"


def _subscribe(cfg, tenant_id: str):
    """A Redis pub/sub listener on the tenant's live channel; None when Redis is down (the
    stream then sends keep-alives, and the replay still works on reconnect)."""
    import redis

    try:
        client = redis.Redis.from_url(cfg.redis_url, socket_connect_timeout=0.5, socket_timeout=HEARTBEAT_S + 5)
        listener = client.pubsub(ignore_subscribe_messages=True)
        listener.subscribe(live_channel(cfg, tenant_id))
        return listener
    except redis.RedisError:
        return None


def _next(listener) -> str | None:
    if listener is None:
        time.sleep(HEARTBEAT_S)
        return None
    import redis

    try:
        message = listener.get_message(timeout=HEARTBEAT_S)
    except redis.RedisError:
        time.sleep(1.0)
        return None
    return message["data"].decode() if message and isinstance(message.get("data"), bytes) else None
