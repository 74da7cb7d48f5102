"""Request screening and response headers: the client address (trusted proxies only), JSON
bodies parsed safely, NUL characters and oversized parameters refused before any view runs;
the security headers and, for allowed origins, CORS on every response."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.middleware.proxy_fix import ProxyFix

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


def current_settings(app: Flask):
    return app.config["ABBANOA_SETTINGS"]


def _headers(response: Response) -> Response:
    settings = current_settings(current_app)
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


class SafeJSONProvider(DefaultJSONProvider):
    """Every JSON body is parsed here: a document nested past Python's recursion limit is
    malformed input (ValueError: a 400 where the view reads the body), not a 500."""

    sort_keys = False

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def trust_proxies(app: Flask, hops: int) -> None:
    """Take the client address (and scheme) from X-Forwarded-For/-Proto as set by `hops`
    trusted proxies (TRUSTED_PROXY_HOPS); with 0 the headers are ignored: a client cannot
    choose its own address (and so its login rate-limit bucket)."""
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)


def init_app(app: Flask) -> None:
    app.json = SafeJSONProvider(app)
    trust_proxies(app, current_settings(app).trusted_proxy_hops)
    app.before_request(_screen_request)
    app.after_request(_headers)
