"""Health, readiness, Prometheus metrics and the OpenAPI document."""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, current_app, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from abbanoa.auth import AuthError
from abbanoa.errors import ServiceUnavailable
from abbanoa.stores import postgres
from api.routes import API_PREFIX, openapi_document, route
from api.security import cache, settings

bp = Blueprint("system", __name__)


@route(bp, "/healthz", "GET", "The process answers", role=None)
def healthz():
    return jsonify({"status": "ok"})


@route(bp, "/readyz", "GET", "Database reachable (503 otherwise); Redis state reported", role=None, responses=(200,))
def readyz():
    try:
        postgres.check(settings())
        database = "ok"
    except ServiceUnavailable as exc:
        database = str(exc)
    redis_state = "ok" if cache().available() else "unavailable (answering from PostgreSQL)"
    ready = database == "ok"
    body = {"status": "ready" if ready else "not ready", "database": database, "redis": redis_state}
    return jsonify(body), 200 if ready else 503


@route(
    bp,
    "/metrics",
    "GET",
    "Prometheus metrics of this process (Authorization: Bearer METRICS_TOKEN)",
    role=None,
    responses=(200, 401),
)
def metrics():
    expected = settings().metrics_token
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    # refused when METRICS_TOKEN is unset; compared in constant time
    if not expected or scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), expected.encode()):
        raise AuthError("/metrics needs Authorization: Bearer <METRICS_TOKEN>")
    registry = current_app.extensions["abbanoa_metrics"].registry
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


@route(bp, API_PREFIX + "/openapi.json", "GET", "This OpenAPI 3 document", role=None)
def openapi():
    return jsonify(openapi_document())
