"""/quarantine: the rows the importer set aside for the tenant, with their reasons (operator)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from abbanoa.repository import InvalidParameter, nodes
from api.params import parse_time
from api.routes import API_PREFIX, route
from api.security import engine, tenant
from api.views.common import TIME_WINDOW

bp = Blueprint("quarantine", __name__, url_prefix=API_PREFIX + "/quarantine")


@route(bp, "", "GET", "Quarantined import rows of the tenant, newest first, with counts per reason",
       role="operator", params=TIME_WINDOW)  # fmt: skip
def list_quarantine():
    start = parse_time("from", request.args.get("from"))
    end = parse_time("to", request.args.get("to"))
    if start and end and end <= start:
        raise InvalidParameter("to", "must be after 'from'")
    with engine().connect() as conn:
        return jsonify(nodes.quarantine(conn, tenant(), start, end))
