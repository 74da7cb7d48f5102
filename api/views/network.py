"""/districts (+ efficiency), /quality and /forecasts."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from abbanoa.metrics import METRICS
from abbanoa.repository import InvalidParameter, network
from api.metrics import count_cache
from api.params import parse_choice, parse_time
from api.routes import API_PREFIX, Param, route
from api.security import cache, engine, tenant
from api.views.common import TIME_WINDOW

districts = Blueprint("districts", __name__, url_prefix=API_PREFIX + "/districts")
quality = Blueprint("quality", __name__, url_prefix=API_PREFIX + "/quality")
forecasts = Blueprint("forecasts", __name__, url_prefix=API_PREFIX + "/forecasts")


def _window():
    start = parse_time("from", request.args.get("from"))
    end = parse_time("to", request.args.get("to"))
    if start and end and end <= start:
        raise InvalidParameter("to", "must be after 'from'")
    return start, end


@route(districts, "", "GET", "Districts (DMAs) of the tenant")
def list_districts():
    with engine().connect() as conn:
        return jsonify({"items": network.list_districts(conn, tenant())})


@route(
    districts,
    "/<district_id>/efficiency",
    "GET",
    "Water balance and IWA/ARERA indicators of a district",
    params=(Param("period", enum=network.PERIODS, description="default day"), *TIME_WINDOW),
)
def efficiency(district_id: str):
    period = parse_choice("period", request.args.get("period"), network.PERIODS, "day")
    start, end = _window()
    with engine().connect() as conn:
        return jsonify(network.district_efficiency(conn, tenant(), district_id, period, start, end))


@route(
    quality,
    "",
    "GET",
    "Water-quality compliance, excursions and data-quality scores",
    params=(Param("from", format="date"), Param("to", format="date"), Param("node")),
)
def get_quality():
    start, end = _window()
    with engine().connect() as conn:
        return jsonify(
            network.quality(
                conn,
                tenant(),
                start.date() if start else None,
                end.date() if end else None,
                request.args.get("node") or None,
            )
        )


@route(
    forecasts,
    "/<node_id>/<metric>",
    "GET",
    "Newest forecast of a series (node, or dma:<district>) with its accuracy",
)
def get_forecast(node_id: str, metric: str):
    if metric not in METRICS:
        raise InvalidParameter("metric", f"unknown metric {metric!r}")
    result = network.cached_forecast(engine().connect, cache(), tenant(), node_id, metric)
    count_cache("forecast", result["source"])
    return jsonify(result)
