"""Benchmark: the cached /dashboard/summary route against a bare Flask endpoint on the same
gunicorn (bench/api_bare.py), driven by wrk (compiled, Debian package `wrk`), at the same
concurrency, with p50/p99 latency and requests/s, and the PostgreSQL transactions the
database saw during each run (the cached route should open none beyond the per-worker
user-row refresh every USER_CACHE_S seconds).

Run: .venv/bin/python bench/bench_api_summary.py [--seconds 10] [--connections 8] [--workers 2]
It creates and drops its own database and Redis keys; gunicorn listens on 127.0.0.1:--port (19310).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from abbanoa.auth.passwords import hash_password  # noqa: E402
from abbanoa.stores import cache as cache_module  # noqa: E402
from abbanoa.stores import postgres  # noqa: E402
from abbanoa.summary import system_metrics  # noqa: E402
from bench import scratch  # noqa: E402

TENANT = "abbanoa"
PASSWORD = "bench-" + uuid.uuid4().hex


def seed(settings) -> None:
    with postgres.engine(settings).begin() as conn:
        conn.execute(sa.text("INSERT INTO tenants (tenant_id, name) VALUES (:t, 'Abbanoa')"), {"t": TENANT})
        conn.execute(
            sa.text("INSERT INTO users (tenant_id, username, password_hash, role) VALUES (:t, 'bench', :h, 'viewer')"),
            {"t": TENANT, "h": hash_password(PASSWORD)},
        )
        figures = system_metrics(conn, TENANT, "24h", dt.datetime.now(dt.UTC))
    cache = cache_module.Cache(settings)
    cache.set_json(cache.key(cache_module.SYSTEM_METRICS, tenant_id=TENANT, time_range="24h"), figures, ttl_s=3600)


def transactions(settings) -> int:
    """Commits + rollbacks the database has seen (pg_stat_database), from another connection."""
    url, args = postgres.connection(settings, timeout=10)
    eng = sa.create_engine(url.set(database="postgres"), connect_args=args)
    with eng.connect() as conn:
        conn.execute(sa.text("SELECT pg_stat_clear_snapshot()"))
        value = conn.execute(
            sa.text("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = :d"),
            {"d": url.database},
        ).scalar()
    eng.dispose()
    return int(value)


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def wrk(url: str, seconds: float, connections: int, threads: int, header: str) -> dict:
    cmd = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds:.0f}s", "--latency", "-H", header, url]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60).stdout
    lat = {p: float(v) * _UNITS[u] for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50_ms": lat["50"], "p99_ms": lat["99"], "errors": int(non2xx.group(1)) if non2xx else 0}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="load duration per endpoint")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections (both endpoints)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (gthread, 4 threads each)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (the median is printed)")
    parser.add_argument("--port", type=int, default=19310, help="gunicorn's port on 127.0.0.1")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk not found: apt-get install wrk (Debian package)", file=sys.stderr)
        return 2
    settings = scratch.create("bench_scale_api", database_prefix="", jwt_secret="bench-" + uuid.uuid4().hex * 2)
    server = None
    try:
        seed(settings)
        env = scratch.server_env(settings, ROOT)
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        server = subprocess.Popen(
            [gunicorn, "-w", str(args.workers), "-k", "gthread", "--threads", "4", "-b", f"127.0.0.1:{args.port}",
             "--log-level", "warning", "bench.api_bare:app"],
            env=env, cwd=ROOT,
        )  # fmt: skip
        base = f"http://127.0.0.1:{args.port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(base + "/bare", timeout=1)
                break
            except requests.RequestException:
                if time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.3)
        token = requests.post(
            base + "/api/v1/auth/login", json={"username": "bench", "password": PASSWORD}, timeout=30
        ).json()["access_token"]
        header = f"Authorization: Bearer {token}"
        summary = base + "/api/v1/dashboard/summary?range=24h"
        body = requests.get(summary, headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
        assert body.get("source") == "cache", body
        print(
            f"wrk -t {args.threads} -c {args.connections} -d {args.seconds:.0f}s, gunicorn {args.workers} workers x 4"
            f" threads; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f} (shared: figures vary with it)"
        )
        runs: dict[str, list[dict]] = {"bare": [], "summary": []}
        for _ in range(args.rounds):
            for name, url in (("bare", base + "/bare"), ("summary", summary)):
                before = transactions(settings)
                result = wrk(url, args.seconds, args.connections, args.threads, header)
                result["pg_xacts"] = transactions(settings) - before
                runs[name].append(result)
        med = {n: sorted(r, key=lambda x: x["p99_ms"])[len(r) // 2] for n, r in runs.items()}
        print(f"{'endpoint':<28} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'PG xacts':>9}")
        for name, label in (("bare", "bare Flask (/bare)"), ("summary", "/dashboard/summary (Redis)")):
            r = med[name]
            print(
                f"{label:<28} {r['rps']:8.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} {r['errors']:8d} {r['pg_xacts']:9d}"
            )
        ratio = med["summary"]["p99_ms"] / med["bare"]["p99_ms"]
        print(
            f"summary / bare: p99 {ratio:.2f}x (goal <= 2x), req/s {med['summary']['rps'] / med['bare']['rps']:.2f};"
            f" every round: p99 "
            + ", ".join(
                f"{s['p99_ms']:.1f}/{b['p99_ms']:.1f} ms" for s, b in zip(runs["summary"], runs["bare"], strict=True)
            )
        )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        scratch.drop(settings)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
