"""/dashboard/summary: the system figures (Redis first, else computed)."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, jsonify, request

from abbanoa.repository import network
from api.metrics import count_cache
from api.params import parse_choice
from api.routes import API_PREFIX, Param, route
from api.security import cache, engine, tenant

bp = Blueprint("dashboard", __name__, url_prefix=API_PREFIX + "/dashboard")


@route(bp, "/summary", "GET", "System figures over a time range", params=(Param("range", enum=network.TIME_RANGES),))
def summary():
    time_range = parse_choice("range", request.args.get("range"), network.TIME_RANGES, "24h")
    result = network.dashboard_summary(engine().connect, cache(), tenant(), time_range, dt.datetime.now(dt.UTC))
    count_cache("system_metrics", result["source"])
    return jsonify(result)
