"""Fault-suite helpers: a webhook that counts what it receives, child processes killed
at named stages, stores that fail on purpose (stub servers on loopback)."""

from __future__ import annotations

import http.server
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.jobs.conftest import jobs_settings, registry  # noqa: F401 - fixtures shared with the jobs tests


class Webhook:
    """A real HTTP server counting POSTs per Idempotency-Key; `delay_s` makes it slow."""

    def __init__(self, delay_s: float = 0.0, status: int = 200):
        self.posts: Counter = Counter()
        self.delay_s = delay_s
        self.status = status
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                hook.posts[self.headers.get("Idempotency-Key")] += 1
                time.sleep(hook.delay_s)
                try:
                    self.send_response(hook.status)
                    self.end_headers()
                except OSError:  # the client gave up waiting
                    pass

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    made = []

    def make(**kwargs) -> Webhook:
        made.append(Webhook(**kwargs))
        return made[-1]

    yield make
    for hook in made:
        hook.close()


class StubBigQuery:
    """A loopback HTTP server standing where BigQuery should be: `mode` "500" answers every
    request with HTTP 500, "hang" accepts the request and never answers."""

    def __init__(self, mode: str):
        stub = self
        self.requests = 0
        self.first_request_at: float | None = None  # time.monotonic(), comparable across processes
        self.release = threading.Event()

        class Handler(http.server.BaseHTTPRequestHandler):
            def _any(self):
                stub.requests += 1
                if stub.first_request_at is None:
                    stub.first_request_at = time.monotonic()
                if mode == "hang":
                    stub.release.wait(300)
                    return
                body = b'{"error": {"code": 500, "message": "backend error", "status": "INTERNAL"}}'
                self.send_response(500)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any  # noqa: N815

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub_bigquery():
    made = []

    def make(mode: str) -> StubBigQuery:
        made.append(StubBigQuery(mode))
        return made[-1]

    yield make
    for stub in made:
        stub.close()


def exact_copy(engine, warehouse) -> tuple[int, int, int]:
    """(rows in PostgreSQL, rows lost, rows doubled or wrong) against the warehouse's newest
    version of each reading, and every hourly and daily rollup recomputed from readings."""
    import sqlalchemy as sa

    newest = warehouse.query_rows(
        "SELECT node_id, metric, ts, value FROM `{dataset}.readings` "
        "QUALIFY ROW_NUMBER() OVER (PARTITION BY node_id, metric, ts ORDER BY ingested_at DESC) = 1"
    )
    want = {(r["node_id"], r["metric"], r["ts"]): r["value"] for r in newest}
    with engine.connect() as conn:
        got = conn.execute(sa.text("SELECT node_id, metric, ts, value FROM readings")).all()
        stale = conn.execute(
            sa.text(
                "SELECT count(*) FROM (SELECT node_id, metric, date_trunc('hour', ts) AS b, count(*) AS n, "
                "sum(value) AS s FROM readings GROUP BY 1, 2, 3) r FULL JOIN readings_1h h "
                "ON h.node_id = r.node_id AND h.metric = r.metric AND h.bucket = r.b "
                "WHERE h.n IS DISTINCT FROM r.n OR abs(coalesce(h.sum_value, 0) - coalesce(r.s, 0)) > 1e-6"
            )
        ).scalar()
    have = {(n, m, t): v for n, m, t, v in got}
    lost = sum(1 for k in want if k not in have)
    wrong = (len(got) - len(have)) + sum(1 for k, v in have.items() if k not in want or want[k] != v)
    assert stale == 0, f"{stale} hourly rollups differ from a recomputation"
    return len(got), lost, wrong


@pytest.fixture(scope="session")
def own_postgres(base_settings):
    """A PostgreSQL server of the fault suite's own (tests/faults/own_services.py), with a
    migrated database; tests stop and start it. Stopped and removed at the end."""
    from abbanoa import migrations
    from abbanoa.stores import postgres

    from .own_services import OwnPostgres

    # not under pytest's base temp: that is private to root, and the server runs as `postgres`
    server = OwnPostgres(Path(tempfile.mkdtemp(prefix="faults-postgres-")))
    settings = base_settings.with_(database_url=server.url("abbanoa_faults"))
    migrations.ensure_database(settings)
    migrations.apply_all(settings)
    server.settings = settings
    yield server
    postgres.dispose_engines()
    server.close()


@pytest.fixture
def own_pg(own_postgres):
    """The own PostgreSQL, running, its tables emptied after the test."""
    from abbanoa.stores import postgres

    from ..conftest import empty_tables

    if not own_postgres.running():
        own_postgres.start()
    yield own_postgres
    if not own_postgres.running():
        own_postgres.start()
    empty_tables(postgres.engine(own_postgres.settings))


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of the fault suite's own on its own port; killed at the end."""
    from abbanoa.stores import cache as cache_module

    from .own_services import OwnRedis

    server = OwnRedis(tmp_path / "redis")
    cache_module.reset_clients()
    yield server
    server.close()
    cache_module.reset_clients()
