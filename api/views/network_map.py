"""/network/pipes: the tenant's network model for the dashboard's offline map."""

from __future__ import annotations

from flask import Blueprint, jsonify

from abbanoa.repository import network
from api.routes import API_PREFIX, route
from api.security import engine, tenant

bp = Blueprint("network_map", __name__, url_prefix=API_PREFIX + "/network")


@route(bp, "/pipes", "GET", "Pipes of the tenant's network model ([[lon, lat], ...] per pipe)")
def list_pipes():
    with engine().connect() as conn:
        return jsonify({"items": network.pipes(conn, tenant())})
