"""Schemathesis over every API route with an admin and a viewer token, more examples than the
suite's (tests/api/test_contract.py runs 5 per route): the count of 5xx answers (0 expected)
and the fuzzing rate beside the rate of a constant endpoint (/healthz) served the same way.

    .venv/bin/python bench/bench_fuzz.py --examples 40 --max-seconds 300

A scratch database (bench/scratch.py) with two tenants, a node, readings and an anomaly each;
the app in process (werkzeug test client, no sockets), so the ratio measures the app's work.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import secrets
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import hypothesis  # noqa: E402
import schemathesis  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from abbanoa.auth.passwords import hash_password  # noqa: E402
from abbanoa.repository import ops  # noqa: E402
from abbanoa.stores import postgres  # noqa: E402
from bench import scratch  # noqa: E402

PASSWORD = secrets.token_urlsafe(16)  # this run only


def seed(settings) -> None:
    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    with postgres.engine(settings).begin() as conn:
        for tenant, node, district in (("abbanoa", "N1", "D1"), ("other", "X-N1", "X1")):
            ops.ensure_tenant(conn, tenant)
            conn.execute(
                sa.text("INSERT INTO districts (district_id, tenant_id, name) VALUES (:d, :t, :d)"),
                {"d": district, "t": tenant},
            )
            conn.execute(
                sa.text(
                    "INSERT INTO nodes (node_id, tenant_id, name, node_type, district_id) "
                    "VALUES (:n, :t, :n, 'flow_meter', :d)"
                ),
                {"n": node, "t": tenant, "d": district},
            )
            conn.execute(
                sa.text("INSERT INTO readings (node_id, metric, ts, value) VALUES (:n, 'flow_rate', :ts, 10)"),
                [{"n": node, "ts": now - dt.timedelta(minutes=5 * i)} for i in range(24)],
            )
            conn.execute(
                sa.text(
                    "INSERT INTO anomalies (tenant_id, node_id, district_id, metric, anomaly_type, severity, "
                    "start_ts, end_ts) VALUES (:t, :n, :d, 'flow_rate', 'burst', 'high', :s, :s)"
                ),
                {"t": tenant, "n": node, "d": district, "s": now - dt.timedelta(hours=1)},
            )
        for role in ("admin", "viewer"):
            ops.create_user(conn, "abbanoa", f"fuzz-{role}", hash_password(PASSWORD), role)


def fuzz(operation, headers: dict, examples: int, role: str, errors: list) -> int:
    """Run `examples` generated cases of one operation; 5xx answers go to `errors`; the count."""
    count = 0

    @hypothesis.settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    @hypothesis.given(case=operation.as_strategy())
    def check(case):
        nonlocal count
        count += 1
        response = case.call(headers=headers)
        if response.status_code >= 500:
            errors.append((role, case.method, case.formatted_path, response.status_code))

    check()
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=40, help="examples per route and role")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="stop generating after this long")
    args = parser.parse_args()

    with scratch.scratch_settings(
        "fuzz", jwt_secret=secrets.token_urlsafe(48), metrics_token=secrets.token_urlsafe(16)
    ) as s:
        seed(s)
        from api import create_app

        events = importlib.import_module("api.views.events")
        events.STREAM_MAX_S, events.HEARTBEAT_S = 0.2, 0.05  # the stream ends at once here
        app = create_app(s)
        client = app.test_client()
        schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
        deadline = time.monotonic() + args.max_seconds
        cases, errors, started = 0, [], time.perf_counter()
        for role in ("admin", "viewer"):
            body = {"username": f"fuzz-{role}", "password": PASSWORD, "tenant": "abbanoa"}
            session = {"Authorization": f"Bearer {client.post('/api/v1/auth/login', json=body).json['access_token']}"}
            for result in schema.get_all_operations():
                operation = result.ok()
                if time.monotonic() > deadline:
                    break
                headers = session
                if operation.path.endswith(("/auth/logout", "/auth/password")):  # ends its session
                    token = client.post("/api/v1/auth/login", json=body).json["access_token"]
                    headers = {"Authorization": f"Bearer {token}"}
                cases += fuzz(operation, headers, args.examples, role, errors)
        fuzz_s = time.perf_counter() - started
        t0 = time.perf_counter()
        for _ in range(cases):
            client.get("/healthz")
        ref_s = time.perf_counter() - t0
    fuzz_rate, ref_rate = cases / fuzz_s, cases / ref_s
    print(
        f"schemathesis: {cases} cases over every route, admin and viewer, in {fuzz_s:.1f} s; 5xx answers: {len(errors)}"
    )
    for error in errors[:20]:
        print("  5xx:", *error)
    print(f"rate: {fuzz_rate:.0f} cases/s; /healthz {ref_rate:.0f} req/s; ratio {fuzz_rate / ref_rate:.3f}")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
