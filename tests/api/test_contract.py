"""The OpenAPI document matches the real routes, and a schema-driven fuzz run finds no 500."""

from __future__ import annotations

import re

import hypothesis
import pytest
import schemathesis

from api.routes import openapi_path


def test_every_route_is_documented_and_every_documented_route_exists(app, client):
    document = client.get("/api/v1/openapi.json").json
    documented = {(path, method.upper()) for path, ops in document["paths"].items() for method in ops}
    served = {
        (openapi_path(rule.rule), method)
        for rule in app.url_map.iter_rules()
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert documented == served
    for path, ops in document["paths"].items():
        for op in ops.values():
            names = {p["name"] for p in op["parameters"] if p["in"] == "path"}
            assert names == set(re.findall(r"{(\w+)}", path))


def _fuzz(operation, headers: dict, failures: list) -> None:
    """A few schema-generated cases of one operation; 5xx answers are collected."""

    @hypothesis.settings(
        max_examples=5,
        deadline=None,
        database=None,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    @hypothesis.given(case=operation.as_strategy())
    def check(case):
        response = case.call(headers=headers)
        if response.status_code >= 500:
            failures.append((case.method, case.formatted_path, case.query, response.status_code, response.text[:200]))
        assert "Traceback" not in response.text

    check()


@pytest.mark.parametrize("role", ["admin", "viewer"])
def test_schema_driven_fuzzing_of_every_route_finds_no_server_error(app, auth, data, role, monkeypatch):
    import importlib

    events = importlib.import_module("api.views.events")  # the module (api.views.events is also a blueprint's name)
    # the event stream, held open for minutes in production, ends after a fraction of a second here
    monkeypatch.setattr(events, "STREAM_MAX_S", 0.2)
    monkeypatch.setattr(events, "HEARTBEAT_S", 0.05)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures, fuzzed = [], set()
    session = auth(role).headers
    for result in schema.get_all_operations():
        operation = result.ok()
        fuzzed.add((operation.method.upper(), operation.path))
        # a route that can end its session (logout) gets a session of its own
        ends_session = operation.path.endswith(("/auth/logout", "/auth/password"))
        _fuzz(operation, auth(role).headers if ends_session else session, failures)
    documented = {(m.upper(), p) for p, methods in schema.raw_schema["paths"].items() for m in methods}
    assert fuzzed == documented - {("GET", "/api/v1/openapi.json")}  # schemathesis leaves out the schema itself
    assert failures == []
