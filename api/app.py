"""Flask app factory: blueprints, JSON errors, security headers, CORS, health and metrics."""

from __future__ import annotations

import logging
import time

import sqlalchemy as sa
from flask import Flask, Response, g, jsonify, request
from prometheus_client import CollectorRegistry, Counter, Histogram
from werkzeug.exceptions import HTTPException

from abbanoa.auth import AuthError, Forbidden, RateLimited
from abbanoa.auth.tokens import TokenStoreDown
from abbanoa.errors import AbbanoaError, ServiceUnavailable
from abbanoa.repository import InvalidParameter, NotFound
from abbanoa.settings import Settings, get_settings
from abbanoa.stores import cache as cache_module
from abbanoa.stores import postgres

log = logging.getLogger(__name__)


class ApiMetrics:
    """Prometheus collectors of one app (own registry: several apps per process in tests)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "abbanoa_api_requests_total", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "abbanoa_api_request_seconds", "HTTP request latency", ["method", "route"], registry=self.registry
        )
        self.cache = Counter(
            "abbanoa_api_cache_total", "Redis cache lookups by the API", ["key", "result"], registry=self.registry
        )


def count_cache(key: str, source: str) -> None:
    from flask import current_app

    metrics: ApiMetrics = current_app.extensions["abbanoa_metrics"]
    metrics.cache.labels(key, "hit" if source == "cache" else "miss").inc()


def error_body(status: int, code: str, message: str, field: str | None = None) -> Response:
    error = {"status": status, "code": code, "message": message}
    if field:
        error["field"] = field
    response = jsonify({"error": error})
    response.status_code = status
    return response


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or get_settings()
    app = Flask(__name__, static_folder=None)
    app.config.update(
        ABBANOA_SETTINGS=settings,
        ABBANOA_ENGINE=postgres.engine(settings),
        ABBANOA_CACHE=cache_module.Cache(settings),
        JSON_SORT_KEYS=False,
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    app.json.sort_keys = False
    metrics = ApiMetrics()
    app.extensions["abbanoa_metrics"] = metrics
    from api.security import UserCache

    app.extensions["abbanoa_users"] = UserCache()

    from api.views import BLUEPRINTS

    for bp in BLUEPRINTS:
        app.register_blueprint(bp)

    @app.before_request
    def _start_timer():
        g.started = time.perf_counter()
        if "\x00" in request.path:
            raise InvalidParameter("path", "contains a NUL character")
        for name, value in request.args.items(multi=True):
            if "\x00" in name or "\x00" in value or len(value) > 1024:
                raise InvalidParameter(name[:64], "contains a NUL character or is longer than 1024 characters")
        for name, value in (request.view_args or {}).items():
            if isinstance(value, int) and not (0 <= value < 2**63):
                raise NotFound(f"{name} {value} not found")

    @app.after_request
    def _finish(response: Response) -> Response:
        route = request.url_rule.rule if request.url_rule else "unmatched"
        started = g.get("started")
        if started is not None:
            metrics.latency.labels(request.method, route).observe(time.perf_counter() - started)
        metrics.requests.labels(request.method, route, str(response.status_code)).inc()
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "no-referrer")
        headers.setdefault("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
        headers.setdefault("Cross-Origin-Resource-Policy", "same-site")
        headers.setdefault("Cache-Control", "no-store")
        if settings.env == "production":
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        origin = request.headers.get("Origin")
        if origin and origin in settings.cors_origins:
            headers["Access-Control-Allow-Origin"] = origin
            headers["Access-Control-Allow-Headers"] = "Authorization, Content-Type"
            headers["Access-Control-Allow-Methods"] = "GET, POST, PATCH, OPTIONS"
            headers["Access-Control-Max-Age"] = "600"
            headers.add("Vary", "Origin")
        return response

    @app.errorhandler(InvalidParameter)
    def _invalid(exc: InvalidParameter):
        return error_body(400, "invalid_parameter", exc.message, exc.field)

    @app.errorhandler(NotFound)
    def _not_found(exc: NotFound):
        return error_body(404, "not_found", str(exc))

    @app.errorhandler(AuthError)
    def _unauthorized(exc: AuthError):
        response = error_body(401, "unauthorized", str(exc))
        response.headers["WWW-Authenticate"] = 'Bearer realm="abbanoa"'
        return response

    @app.errorhandler(Forbidden)
    def _forbidden(exc: Forbidden):
        return error_body(403, "forbidden", str(exc))

    @app.errorhandler(RateLimited)
    def _limited(exc: RateLimited):
        response = error_body(429, "rate_limited", str(exc))
        response.headers["Retry-After"] = str(exc.retry_after_s)
        return response

    @app.errorhandler(TokenStoreDown)
    @app.errorhandler(ServiceUnavailable)
    def _unavailable(exc: AbbanoaError):
        return error_body(503, "unavailable", str(exc))

    @app.errorhandler(sa.exc.DataError)
    @app.errorhandler(sa.exc.ProgrammingError)
    def _bad_data(exc):
        # pg8000 reports every server error as ProgrammingError: SQLSTATE class 22 is bad data
        fields = getattr(exc, "orig", None) and exc.orig.args and exc.orig.args[0]
        code = fields.get("C", "") if isinstance(fields, dict) else ""
        if isinstance(exc, sa.exc.DataError) or code.startswith("22"):
            log.warning("database refused a parameter: %s", exc)
            return error_body(400, "invalid_parameter", "a parameter is out of range or malformed")
        log.exception("database error on %s %s", request.method, request.path)
        return error_body(500, "internal_error", "internal error (logged)")

    @app.errorhandler(sa.exc.OperationalError)
    @app.errorhandler(sa.exc.InterfaceError)
    def _database_down(exc):
        log.error("database error: %s", exc)
        return error_body(503, "unavailable", "database unavailable; try again shortly")

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        code = (exc.name or "error").lower().replace(" ", "_")
        return error_body(exc.code or 500, code, exc.description or exc.name)

    @app.errorhandler(AbbanoaError)
    def _abbanoa(exc: AbbanoaError):
        return error_body(400, "bad_request", str(exc))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_body(500, "internal_error", "internal error (logged)")

    return app
