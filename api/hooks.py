"""Request screening and response headers: refuse NUL characters and oversized parameters
before any view runs; add the security headers and, for allowed origins, CORS."""

from __future__ import annotations

from flask import Flask, Response, current_app, request

from abbanoa.repository import InvalidParameter, NotFound

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Cross-Origin-Resource-Policy": "same-site",
    "Cache-Control": "no-store",
}


def _screen_request() -> None:
    if "\x00" in request.path:
        raise InvalidParameter("path", "contains a NUL character")
    for name, value in request.args.items(multi=True):
        if "\x00" in name or "\x00" in value or len(value) > 1024:
            raise InvalidParameter(name[:64], "contains a NUL character or is longer than 1024 characters")
    for name, value in (request.view_args or {}).items():
        if isinstance(value, int) and not (0 <= value < 2**63):
            raise NotFound(f"{name} {value} not found")


def _headers(response: Response) -> Response:
    settings = current_app.config["ABBANOA_SETTINGS"]
    headers = response.headers
    for name, value in SECURITY_HEADERS.items():
        headers.setdefault(name, value)
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


def init_app(app: Flask) -> None:
    app.before_request(_screen_request)
    app.after_request(_headers)
