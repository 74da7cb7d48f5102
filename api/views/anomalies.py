"""/anomalies: filtered listing; acknowledge and resolve (operator)."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, g, jsonify, request

from abbanoa.repository import InvalidParameter, anomalies
from api.params import parse_choice, parse_time
from api.routes import API_PREFIX, Param, route
from api.security import engine, tenant
from api.views.common import PAGINATION, TIME_WINDOW, pagination

bp = Blueprint("anomalies", __name__, url_prefix=API_PREFIX + "/anomalies")


@route(
    bp,
    "",
    "GET",
    "Anomalies of the tenant, newest first",
    params=(
        Param("status", enum=anomalies.STATUSES),
        Param("severity", enum=anomalies.SEVERITIES),
        Param("type"),
        Param("node"),
        Param("district"),
        *TIME_WINDOW,
        *PAGINATION,
    ),
)
def list_anomalies():
    limit, offset = pagination()
    start = parse_time("from", request.args.get("from"))
    end = parse_time("to", request.args.get("to"))
    if start and end and end <= start:
        raise InvalidParameter("to", "must be after 'from'")
    with engine().connect() as conn:
        return jsonify(
            anomalies.list_anomalies(
                conn,
                tenant(),
                status=parse_choice("status", request.args.get("status"), anomalies.STATUSES),
                severity=parse_choice("severity", request.args.get("severity"), anomalies.SEVERITIES),
                anomaly_type=request.args.get("type") or None,
                node_id=request.args.get("node") or None,
                district_id=request.args.get("district") or None,
                start=start,
                end=end,
                limit=limit,
                offset=offset,
            )
        )


@route(bp, "/<int:anomaly_id>/acknowledge", "POST", "Acknowledge an anomaly", role="operator")
def acknowledge(anomaly_id: int):
    with engine().begin() as conn:
        return jsonify(anomalies.acknowledge(conn, tenant(), anomaly_id, g.user["username"], dt.datetime.now(dt.UTC)))


@route(bp, "/<int:anomaly_id>/resolve", "POST", "Resolve an anomaly", role="operator")
def resolve(anomaly_id: int):
    with engine().begin() as conn:
        return jsonify(anomalies.resolve(conn, tenant(), anomaly_id, g.user["username"], dt.datetime.now(dt.UTC)))
