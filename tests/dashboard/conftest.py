"""Dashboard fixtures: the API test data set (tenants `abbanoa` and `other`), a real API
server on a free port (werkzeug, in a thread), and `login(role, tenant, mode)` which logs a
fresh user in over HTTP and returns the session state a logged-in dashboard holds."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from abbanoa import settings as settings_module
from api import create_app
from tests.api import conftest as api_fixtures
from tests.api.conftest import NOW, PASSWORD

# the API tests' fixtures, shared (same data set, same users)
api_db = api_fixtures.api_db
data = api_fixtures.data
make_user = api_fixtures.make_user

VIEWS = (
    "overview",
    "forecast",
    "kpis",
    "quality",
    "anomalies",
    "consumption",
    "efficiency",
    "reports",
    "performance",
)


@pytest.fixture(scope="module")
def dashboard_data(data, api_db):
    """The API data set plus coordinates for the map."""
    with api_db.begin() as conn:
        conn.execute(sa.text("UPDATE nodes SET latitude = 39.22, longitude = 9.11 WHERE node_id = 'N1'"))
        conn.execute(sa.text("UPDATE nodes SET latitude = 39.25, longitude = 9.16 WHERE node_id = 'N2'"))
    return {**data, "now": NOW}


@pytest.fixture(scope="module")
def api_server(database, api_db):
    app = create_app(database)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def login(api_server, make_user, base_settings):
    """login(role, tenant, mode) -> {"token", "refresh_token", "user"} after a real API login;
    get_settings() then points the dashboard at this API in that data mode."""
    import requests

    def do(role: str = "viewer", tenant: str = "abbanoa", mode: str = "hybrid") -> dict:
        settings_module.reset_settings(base_settings.with_(api_url=api_server, dashboard_data_mode=mode))
        user = make_user(role, tenant)
        r = requests.post(
            f"{api_server}/api/v1/auth/login",
            json={"username": user["username"], "password": PASSWORD, "tenant": tenant},
            timeout=10,
        )
        assert r.status_code == 200, r.text
        body = r.json()
        return {"token": body["access_token"], "refresh_token": body["refresh_token"], "user": body["user"]}

    return do
