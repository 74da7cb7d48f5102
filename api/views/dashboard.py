"""/dashboard/summary: the system figures (Redis first, else computed)."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, jsonify, request

from abbanoa.repository import network
from abbanoa.stores.cache import SYSTEM_METRICS
from api.metrics import count_cache
from api.params import parse_choice
from api.routes import API_PREFIX, Param, route
from api.security import cache, cached, engine, prefetch, tenant

bp = Blueprint("dashboard", __name__, url_prefix=API_PREFIX + "/dashboard")


def _summary_key(claims: dict) -> list[str]:
    """The Redis key the summary reads, fetched with the token's revocation check."""
    time_range = request.args.get("range") or "24h"
    if time_range not in network.TIME_RANGES:
        return []
    return [cache().key(SYSTEM_METRICS, tenant_id=claims["tenant"], time_range=time_range)]


@route(bp, "/summary", "GET", "System figures over a time range", params=(Param("range", enum=network.TIME_RANGES),))
@prefetch(_summary_key)
def summary():
    time_range = parse_choice("range", request.args.get("range"), network.TIME_RANGES, "24h")
    result = network.dashboard_summary(engine().connect, cached(), tenant(), time_range, dt.datetime.now(dt.UTC))
    count_cache("system_metrics", result["source"])
    return jsonify(result)
