"""Blueprints, one per resource; each view registers through api.routes.route."""

from api.views.anomalies import bp as anomalies
from api.views.auth import bp as auth
from api.views.auth import users
from api.views.dashboard import bp as dashboard
from api.views.events import events, workflow
from api.views.jobs import bp as jobs
from api.views.network import districts, forecasts, quality
from api.views.network_map import bp as network_map
from api.views.nodes import bp as nodes
from api.views.quarantine import bp as quarantine
from api.views.system import bp as system

BLUEPRINTS = (
    auth,
    users,
    nodes,
    dashboard,
    anomalies,
    workflow,
    events,
    districts,
    quality,
    forecasts,
    network_map,
    quarantine,
    jobs,
    system,
)
