"""Prometheus collectors of the API: request counts and latency per route, cache lookups.

`init_app(app)` gives the app its own registry (several apps per process in tests) and the
hooks that time every request; `count_cache` is what views call after a Redis lookup.
"""

from __future__ import annotations

import time

from flask import Flask, Response, current_app, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram


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


def metrics() -> ApiMetrics:
    return current_app.extensions["abbanoa_metrics"]


def count_cache(key: str, source: str) -> None:
    """Count one Redis lookup of `key` as a hit (source "cache") or a miss."""
    metrics().cache.labels(key, "hit" if source == "cache" else "miss").inc()


def _start_timer() -> None:
    g.started = time.perf_counter()


def _count(response: Response) -> Response:
    collectors = metrics()
    route = request.url_rule.rule if request.url_rule else "unmatched"
    started = g.get("started")
    if started is not None:
        collectors.latency.labels(request.method, route).observe(time.perf_counter() - started)
    collectors.requests.labels(request.method, route, str(response.status_code)).inc()
    return response


def init_app(app: Flask) -> None:
    app.extensions["abbanoa_metrics"] = ApiMetrics()
    app.before_request(_start_timer)
    app.after_request(_count)
