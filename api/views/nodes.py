"""/nodes: registry, readings (JSON or CSV) and latest values."""

from __future__ import annotations

import csv
import datetime as dt
import io

from flask import Blueprint, Response, jsonify, request

from abbanoa.metrics import METRICS
from abbanoa.reports import safe
from abbanoa.repository import InvalidParameter, nodes
from api.metrics import count_cache
from api.params import parse_bool, parse_time
from api.routes import API_PREFIX, Param, route
from api.security import cache, engine, tenant
from api.views.common import PAGINATION, TIME_WINDOW, pagination

bp = Blueprint("nodes", __name__, url_prefix=API_PREFIX + "/nodes")


@route(
    bp,
    "",
    "GET",
    "Nodes of the tenant",
    params=(Param("district"), Param("type"), Param("active", type="boolean"), *PAGINATION),
)
def list_nodes():
    limit, offset = pagination()
    active = parse_bool("active", request.args.get("active"))
    with engine().connect() as conn:
        return jsonify(
            nodes.list_nodes(
                conn,
                tenant(),
                district_id=request.args.get("district") or None,
                node_type=request.args.get("type") or None,
                active=active,
                limit=limit,
                offset=offset,
            )
        )


@route(bp, "/<node_id>", "GET", "One node")
def get_node(node_id: str):
    with engine().connect() as conn:
        return jsonify(nodes.get_node(conn, tenant(), node_id))


@route(
    bp,
    "/<node_id>/readings",
    "GET",
    "Readings of one metric at a resolution (JSON, or CSV with Accept: text/csv)",
    params=(
        Param("metric", required=True, enum=tuple(METRICS)),
        *TIME_WINDOW,
        Param("resolution", enum=tuple(nodes.RESOLUTIONS), description="default 1h"),
    ),
)
def readings(node_id: str):
    metric = request.args.get("metric")
    if not metric:
        raise InvalidParameter("metric", "is required")
    end = parse_time("to", request.args.get("to"), dt.datetime.now(dt.UTC))
    start = parse_time("from", request.args.get("from"), end - dt.timedelta(hours=24))
    resolution = request.args.get("resolution") or "1h"
    if resolution not in nodes.RESOLUTIONS:
        raise InvalidParameter("resolution", f"must be one of {', '.join(nodes.RESOLUTIONS)}")
    with engine().connect() as conn:
        series = nodes.get_readings(conn, tenant(), node_id, metric, start, end, resolution)
    if request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv":
        buffer = io.StringIO()
        columns = ["ts", "value"] if resolution == "raw" else ["ts", "value", "min", "max", "n"]
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        for point in series["points"]:
            writer.writerow([safe.cell(point[c]) for c in columns])
        response = Response(buffer.getvalue(), mimetype="text/csv")
        response.headers["X-Unit"] = series["unit"]
        response.headers["X-Truncated"] = str(series["truncated"]).lower()
        response.headers["Content-Disposition"] = safe.content_disposition(f"{node_id}_{metric}_{resolution}.csv")
        return response
    return jsonify(series)


@route(bp, "/<node_id>/latest", "GET", "Latest value of every metric of a node (Redis first)")
def latest(node_id: str):
    result = nodes.get_latest(engine().connect, cache(), tenant(), node_id)
    count_cache("node_latest", result["source"])
    return jsonify(result)
