"""Redis stopped mid-test: the API keeps answering from PostgreSQL. And the demo seed."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time

import pytest

from abbanoa import demo
from abbanoa.errors import AbbanoaError
from abbanoa.stores import cache as cache_module
from abbanoa.stores.cache import NODE_LATEST
from api import create_app
from tests.api.conftest import PASSWORD
from tests.conftest import subprocess_env

API = "/api/v1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of our own on a free port, killed by the test (or at the end)."""
    port = _free_port()
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    yield proc, f"redis://127.0.0.1:{port}/0"
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def test_redis_stopped_mid_test_the_api_still_answers_from_postgresql(database, api_db, data, make_user, own_redis):
    proc, url = own_redis
    settings = database.with_(redis_url=url)
    app = create_app(settings)
    client = app.test_client()
    user = make_user("viewer")
    login = client.post(f"{API}/auth/login", json={"username": user["username"], "password": PASSWORD}).json
    h = {"Authorization": f"Bearer {login['access_token']}"}
    cache = cache_module.Cache(settings)
    cache.set_json(
        cache.key(NODE_LATEST, node_id="N1"),
        {"node_id": "N1", "tenant_id": "abbanoa", "readings": {"flow_rate": {"ts": "t", "value": 77.0, "unit": "l/s"}}},
    )
    assert client.get(f"{API}/nodes/N1/latest", headers=h).json["source"] == "cache"

    proc.kill()
    proc.wait()

    latest = client.get(f"{API}/nodes/N1/latest", headers=h)
    assert latest.status_code == 200 and latest.json["source"] == "database"
    assert latest.json["readings"]["flow_rate"]["value"] == 45.0
    summary = client.get(f"{API}/dashboard/summary?range=24h", headers=h)
    assert summary.status_code == 200 and summary.json["source"] == "database" and summary.json["nodes_total"] == 2
    assert client.get(f"{API}/nodes", headers=h).json["total"] == 2
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["database"] == "ok" and ready.json["redis"].startswith("unavailable")
    # login still works (in-process rate limit) and refresh is refused safely (revocations unknown)
    again = client.post(f"{API}/auth/login", json={"username": user["username"], "password": PASSWORD})
    assert again.status_code == 200
    refresh = client.post(f"{API}/auth/refresh", json={"refresh_token": login["refresh_token"]})
    assert refresh.status_code == 503
    # logout is still honoured by this process
    assert client.post(f"{API}/auth/logout", headers=h).status_code == 200
    assert client.get(f"{API}/auth/me", headers=h).status_code == 401
    cache_module.reset_clients()


def test_seed_demo_creates_users_with_random_passwords_that_log_in(database, api_db, client, tmp_path):
    output = tmp_path / "creds.json"
    first = demo.seed(database, output)
    done = subprocess.run(
        [sys.executable, "-m", "abbanoa", "seed-demo", "--output", str(output)],
        env=subprocess_env(database),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    users = json.loads(output.read_text())["users"]
    assert set(users) == {"viewer", "operator", "admin", "other_admin", "platform"}
    assert users["other_admin"]["tenant_id"] == "other"
    assert first["users"]["admin"]["password"] != users["admin"]["password"]  # random every time
    assert users["admin"]["password"] in done.stdout
    for key, user in users.items():
        credentials = {"username": user["username"], "password": user["password"], "tenant": user["tenant_id"]}
        response = client.post(f"{API}/auth/login", json=credentials)
        assert response.status_code == 200 and response.json["user"]["role"] == user["role"], key
    with pytest.raises(AbbanoaError, match="production"):
        demo.seed(database.with_(env="production"), output)
