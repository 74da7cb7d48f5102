"""Every error as a JSON body `{"error": {status, code, message, field?}}`: the handlers.

`init_app(app)` registers them; views raise the package's exceptions (NotFound,
InvalidParameter, AuthError, ...) and never build error responses themselves.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from abbanoa.auth import AuthError, Forbidden, RateLimited
from abbanoa.auth.tokens import TokenStoreDown
from abbanoa.errors import AbbanoaError, ServiceUnavailable
from abbanoa.repository import InvalidParameter, NotFound

log = logging.getLogger(__name__)


def error_body(status: int, code: str, message: str, field: str | None = None) -> Response:
    error = {"status": status, "code": code, "message": message}
    if field:
        error["field"] = field
    response = jsonify({"error": error})
    response.status_code = status
    return response


def _invalid(exc: InvalidParameter):
    return error_body(400, "invalid_parameter", exc.message, exc.field)


def _not_found(exc: NotFound):
    return error_body(404, "not_found", str(exc))


def _unauthorized(exc: AuthError):
    response = error_body(401, "unauthorized", str(exc))
    response.headers["WWW-Authenticate"] = 'Bearer realm="abbanoa"'
    return response


def _forbidden(exc: Forbidden):
    return error_body(403, "forbidden", str(exc))


def _limited(exc: RateLimited):
    response = error_body(429, "rate_limited", str(exc))
    response.headers["Retry-After"] = str(exc.retry_after_s)
    return response


def _unavailable(exc: AbbanoaError):
    return error_body(503, "unavailable", str(exc))


def _bad_data(exc):
    # pg8000 reports every server error as ProgrammingError: SQLSTATE class 22 is bad data
    fields = getattr(exc, "orig", None) and exc.orig.args and exc.orig.args[0]
    code = fields.get("C", "") if isinstance(fields, dict) else ""
    if isinstance(exc, sa.exc.DataError) or code.startswith("22"):
        log.warning("database refused a parameter: %s", exc)
        return error_body(400, "invalid_parameter", "a parameter is out of range or malformed")
    log.exception("database error on %s %s", request.method, request.path)
    return error_body(500, "internal_error", "internal error (logged)")


def _database_down(exc):
    log.error("database error: %s", exc)
    return error_body(503, "unavailable", "database unavailable; try again shortly")


def _http(exc: HTTPException):
    code = (exc.name or "error").lower().replace(" ", "_")
    return error_body(exc.code or 500, code, exc.description or exc.name)


def _abbanoa(exc: AbbanoaError):
    return error_body(400, "bad_request", str(exc))


def _unexpected(exc: Exception):
    log.exception("unhandled error on %s %s", request.method, request.path)
    return error_body(500, "internal_error", "internal error (logged)")


HANDLERS = (
    (InvalidParameter, _invalid),
    (NotFound, _not_found),
    (AuthError, _unauthorized),
    (Forbidden, _forbidden),
    (RateLimited, _limited),
    (TokenStoreDown, _unavailable),
    (ServiceUnavailable, _unavailable),
    (sa.exc.DataError, _bad_data),
    (sa.exc.ProgrammingError, _bad_data),
    (sa.exc.OperationalError, _database_down),
    (sa.exc.InterfaceError, _database_down),
    (HTTPException, _http),
    (AbbanoaError, _abbanoa),
    (Exception, _unexpected),
)


def init_app(app: Flask) -> None:
    for exc_class, handler in HANDLERS:
        app.register_error_handler(exc_class, handler)
