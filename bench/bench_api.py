"""Benchmark: the API under load, against a bare Flask endpoint in the same run.

Loads 100 nodes x 90 days of 5-minute flow readings (COPY into `readings`, then the
5m/1h/1d rollups and latest values), serves the API with gunicorn on loopback, and
drives it with a bounded pure-Python load generator (threads + requests, keep-alive)
reporting requests/s and p50/p99 latency for:
  - a bare Flask endpoint returning a constant (the ceiling of this server setup),
  - /dashboard/summary?range=24h from the Redis key and computed from PostgreSQL,
  - /nodes/{id}/latest (Redis hit),
  - /nodes/{id}/readings?resolution=1h over 7 days.

Run: .venv/bin/python bench/bench_api.py [--nodes 100] [--days 90] [--seconds 8] [--threads 8]
It creates and drops its own database and Redis keys.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from abbanoa.auth.passwords import hash_password  # noqa: E402
from abbanoa.settings import Settings  # noqa: E402
from abbanoa.stores import cache as cache_module  # noqa: E402
from abbanoa.stores import postgres  # noqa: E402
from abbanoa.stores.cache import SYSTEM_METRICS  # noqa: E402
from abbanoa.summary import system_metrics  # noqa: E402
from bench import scratch  # noqa: E402

NOW = dt.datetime.now(dt.UTC).replace(second=0, microsecond=0, minute=0)
TENANT = "abbanoa"
PASSWORD = "bench-password-" + uuid.uuid4().hex


def load(settings: Settings, nodes: int, days: int) -> float:
    url, args = postgres.connection(settings, timeout=None)  # no socket timeout: the rollups take a while
    eng = sa.create_engine(url, connect_args=args)
    start = NOW - dt.timedelta(days=days)
    t0 = time.perf_counter()
    with eng.begin() as conn:
        conn.execute(sa.text("INSERT INTO tenants (tenant_id, name) VALUES (:t, 'Abbanoa')"), {"t": TENANT})
        for d in range(10):
            conn.execute(
                sa.text("INSERT INTO districts (district_id, tenant_id, name) VALUES (:d, :t, :d)"),
                {"d": f"D{d}", "t": TENANT},
            )
        for n in range(nodes):
            conn.execute(
                sa.text(
                    "INSERT INTO nodes (node_id, tenant_id, name, node_type, district_id) "
                    "VALUES (:n, :t, :n, 'flow_meter', :d)"
                ),
                {"n": f"N{n:03d}", "t": TENANT, "d": f"D{n % 10}"},
            )
        for d in range(10):
            conn.execute(sa.text("INSERT INTO district_meters VALUES (:d, :n, 1)"), {"d": f"D{d}", "n": f"N{d:03d}"})
        conn.execute(
            sa.text("INSERT INTO users (tenant_id, username, password_hash, role) VALUES (:t, 'bench', :h, 'viewer')"),
            {"t": TENANT, "h": hash_password(PASSWORD)},
        )
        conn.execute(sa.text("SELECT ensure_readings_partitions(:a, :b)"), {"a": start, "b": NOW})
    steps = days * 288
    stamps = [start + dt.timedelta(minutes=5 * i) for i in range(steps)]
    iso = np.array([s.isoformat() for s in stamps])
    rng = np.random.default_rng(7)
    for n in range(nodes):  # one COPY per node (~26k rows), each in its own transaction
        values = 20 + 10 * np.sin(np.arange(steps) * 2 * np.pi / 288) + rng.normal(0, 1, steps)
        buf = io.StringIO()
        node = f"N{n:03d}"
        buf.write("".join(f"{node},flow_rate,{t},{v:.3f}\n" for t, v in zip(iso, values, strict=True)))
        buf.seek(0)
        with eng.begin() as conn:
            conn.connection.driver_connection.run(
                "COPY readings (node_id, metric, ts, value) FROM STDIN WITH (FORMAT csv)", stream=buf
            )
    with eng.begin() as conn:
        agg = "count(*), sum(value), min(value), max(value), avg(value)"
        conn.execute(
            sa.text(f"INSERT INTO readings_5m SELECT node_id, metric, ts, {agg} FROM readings GROUP BY 1, 2, 3")
        )
        conn.execute(
            sa.text(
                f"INSERT INTO readings_1h SELECT node_id, metric, date_trunc('hour', ts), {agg} FROM readings "
                "GROUP BY 1, 2, 3"
            )
        )
        conn.execute(
            sa.text(
                f"INSERT INTO readings_1d SELECT node_id, metric, "
                f"date_trunc('day', ts AT TIME ZONE 'Europe/Rome') AT TIME ZONE 'Europe/Rome', {agg} "
                "FROM readings GROUP BY 1, 2, 3"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO latest_readings SELECT DISTINCT ON (node_id, metric) node_id, metric, ts, value "
                "FROM readings WHERE ts > :since ORDER BY node_id, metric, ts DESC"
            ),
            {"since": NOW - dt.timedelta(hours=1)},
        )
        conn.exec_driver_sql("ANALYZE")
        cache = cache_module.Cache(settings)
        for row in conn.execute(sa.text("SELECT node_id, metric, ts, value FROM latest_readings")).all():
            cache.set_json(
                cache.key(cache_module.NODE_LATEST, node_id=row.node_id),
                {
                    "node_id": row.node_id,
                    "tenant_id": TENANT,
                    "readings": {row.metric: {"ts": row.ts.isoformat(), "value": row.value, "unit": "l/s"}},
                },
            )
        figures = system_metrics(conn, TENANT, "24h", dt.datetime.now(dt.UTC))
        cache.set_json(cache.key(SYSTEM_METRICS, tenant_id=TENANT, time_range="24h"), figures)
    eng.dispose()
    return time.perf_counter() - t0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(app: str, env: dict, workers: int, threads: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    proc = subprocess.Popen(
        [
            gunicorn,
            "-w",
            str(workers),
            "-k",
            "gthread",
            "--threads",
            str(threads),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            app,
        ],
        env=env,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(base + "/healthz" if app.startswith("api") else base + "/const", timeout=1)
            return proc, base
        except requests.RequestException:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"gunicorn {app} did not start")


def hammer(urls, headers: dict, seconds: float, threads: int) -> dict:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker(seed: int):
        session = requests.Session()
        rnd = random.Random(seed)
        mine = []
        while time.monotonic() < stop:
            url = urls() if callable(urls) else urls
            t = time.perf_counter()
            response = session.get(url, headers=headers, timeout=30)
            mine.append(time.perf_counter() - t)
            if response.status_code != 200:
                with lock:
                    errors[0] += 1
            rnd.random()
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    t0 = time.perf_counter()
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    elapsed = time.perf_counter() - t0
    latencies.sort()
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "errors": errors[0],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seconds", type=float, default=8.0, help="load duration per endpoint")
    parser.add_argument("--threads", type=int, default=8, help="client threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (gthread, 4 threads each)")
    args = parser.parse_args()

    settings = scratch.create("bench", jwt_secret="bench-" + uuid.uuid4().hex * 2)
    procs = []
    try:
        seconds = load(settings, args.nodes, args.days)
        rows = args.nodes * args.days * 288
        print(
            f"loaded {rows:,} readings ({args.nodes} nodes x {args.days} days, 5-minute) + rollups in {seconds:.1f} s"
        )
        env = scratch.server_env(settings, ROOT)
        ceiling_proc, ceiling = serve("bench.ceiling_app:app", env, args.workers, 4)
        procs.append(ceiling_proc)
        api_proc, api = serve("api.wsgi:app", env, args.workers, 4)
        procs.append(api_proc)
        token = requests.post(
            api + "/api/v1/auth/login", json={"username": "bench", "password": PASSWORD}, timeout=10
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        rnd = random.Random(1)
        week_from = (NOW - dt.timedelta(days=7)).isoformat().replace("+00:00", "Z")
        week_to = NOW.isoformat().replace("+00:00", "Z")

        def latest_url():
            return f"{api}/api/v1/nodes/N{rnd.randrange(args.nodes):03d}/latest"

        def readings_url():
            return (
                f"{api}/api/v1/nodes/N{rnd.randrange(args.nodes):03d}/readings?metric=flow_rate"
                f"&resolution=1h&from={week_from}&to={week_to}"
            )

        check = requests.get(readings_url(), headers=auth, timeout=30).json()
        assert check["count"] == min(168, 24 * args.days), check.get("count")
        cases = [
            ("bare Flask constant (ceiling)", f"{ceiling}/const", {}),
            ("/dashboard/summary?range=24h (Redis)", f"{api}/api/v1/dashboard/summary?range=24h", auth),
            ("/dashboard/summary?range=7d (PostgreSQL)", f"{api}/api/v1/dashboard/summary?range=7d", auth),
            ("/nodes/{id}/latest (Redis)", latest_url, auth),
            ("/nodes/{id}/readings 7 d hourly", readings_url, auth),
        ]
        print(
            f"load: {args.threads} client threads, {args.seconds:.0f} s per endpoint; "
            f"gunicorn {args.workers} workers x 4 threads; loopback"
        )
        print(f"{'endpoint':44} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} {'vs ceiling':>10}")
        ceiling_rps = None
        for name, target, headers in cases:
            result = hammer(target, headers, args.seconds, args.threads)
            ceiling_rps = ceiling_rps or result["rps"]
            print(
                f"{name:44} {result['rps']:8.0f} {result['p50_ms']:8.1f} {result['p99_ms']:8.1f} "
                f"{result['errors']:6d} {result['rps'] / ceiling_rps:10.2f}"
            )
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)
        scratch.drop(settings)
        r = cache_module.client(settings)
        keys = list(r.scan_iter(match=f"{settings.redis_key_prefix}*", count=1000))
        if keys:
            r.delete(*keys)
    return 0


if __name__ == "__main__":
    sys.exit(main())
