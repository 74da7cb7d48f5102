"""Data access for the dashboard: one interface, three implementations (no Streamlit here).

- ApiSource: HTTP to settings.api_url with the user's bearer token (default).
- HybridSource: abbanoa.repository directly on PostgreSQL + Redis (same shapes as the API).
- FallbackSource: BigQuery (Warehouse), read-only; features needing the operational stores
  raise Unavailable with a sentence the view shows.
Login always goes to the API (same users, roles and tenants in every mode).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import time
from typing import Any

import requests

from abbanoa.errors import AbbanoaError
from abbanoa.settings import Settings

TIMEOUT_S = 10


class Unavailable(AbbanoaError):
    """A feature this data mode cannot serve (the view shows the message)."""


class LoginFailed(AbbanoaError):
    pass


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _token_pair(settings: Settings, path: str, body: dict[str, str]) -> dict[str, Any]:
    """POST an /auth endpoint that answers a token pair. LoginFailed with the API's reason
    when it refuses (4xx); Unavailable when it cannot answer (unreachable, 5xx: e.g. refresh
    tokens are refused with 503 while Redis is down)."""
    try:
        r = requests.post(f"{settings.api_url}/api/v1/auth/{path}", json=body, timeout=TIMEOUT_S)
    except requests.RequestException as exc:
        raise Unavailable(f"API unreachable at {settings.api_url}: {exc.__class__.__name__}") from exc
    if r.status_code != 200:
        try:
            message = r.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = f"HTTP {r.status_code}"
        raise (Unavailable if r.status_code >= 500 else LoginFailed)(message)
    return r.json()


def login(settings: Settings, username: str, password: str) -> dict[str, Any]:
    """POST /auth/login -> {"access_token", "refresh_token", "user", ...}."""
    return _token_pair(settings, "login", {"username": username, "password": password})


def refresh(settings: Settings, refresh_token: str) -> dict[str, Any]:
    """POST /auth/refresh -> a new token pair (the refresh token is single-use); LoginFailed
    when the API refuses it (expired, revoked, user disabled) or cannot be reached."""
    return _token_pair(settings, "refresh", {"refresh_token": refresh_token})


def seconds_left(token: str) -> float:
    """Seconds until the token's `exp`, read without verifying it (the API verifies; this
    only says when to renew). Unreadable: 0."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        return float(claims["exp"]) - time.time()
    except (IndexError, ValueError, KeyError, TypeError):
        return 0.0


def logout(settings: Settings, token: str, refresh_token: str | None = None) -> None:
    # best effort: the token expires anyway (15 min); the session is cleared regardless
    with contextlib.suppress(requests.RequestException):
        requests.post(
            f"{settings.api_url}/api/v1/auth/logout",
            json={"refresh_token": refresh_token} if refresh_token else {},
            headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT_S,
        )


def api_metrics_text(settings: Settings) -> str | None:
    """The API's Prometheus text (/metrics, with METRICS_TOKEN), or None when unreachable or refused."""
    if not settings.metrics_token:
        return None
    try:
        headers = {"Authorization": f"Bearer {settings.metrics_token}"}
        r = requests.get(f"{settings.api_url}/metrics", headers=headers, timeout=TIMEOUT_S)
        return r.text if r.ok else None
    except requests.RequestException:
        return None


class DataSource:
    """What every view reads. Shapes are those of docs/api.md."""

    mode = "?"
    read_only = False

    def check_user(self) -> None:
        """LoginFailed when the session's user would be refused by the API now (disabled,
        demoted, logged out, password changed); checked at most every USER_CACHE_S seconds.
        The views' cached results are served only after this check."""

    def summary(self, time_range: str) -> dict: ...
    def nodes(self) -> list[dict]: ...
    def districts(self) -> list[dict]: ...
    def latest(self, node_id: str) -> dict: ...
    def readings(self, node_id: str, metric: str, start: dt.datetime, end: dt.datetime, resolution: str) -> dict: ...
    def anomalies(self, **filters: Any) -> dict: ...
    def acknowledge(self, anomaly_id: int) -> dict: ...
    def resolve(self, anomaly_id: int) -> dict: ...
    def reopen(self, anomaly_id: int) -> dict: ...
    def assign(self, anomaly_id: int, assignee: str) -> dict: ...
    def comment(self, anomaly_id: int, text: str) -> dict: ...
    def history(self, anomaly_id: int) -> dict: ...
    def events(self, after: int = 0) -> dict: ...
    def quarantine(self, start: dt.datetime, end: dt.datetime) -> dict: ...
    def pipes(self) -> list[dict]: ...
    def efficiency(self, district_id: str, period: str, start: dt.datetime, end: dt.datetime) -> dict: ...
    def quality(self, start: dt.date, end: dt.date) -> dict: ...
    def forecast(self, node_id: str, metric: str) -> dict: ...
    def job_runs(self, limit: int = 200) -> list[dict]: ...
    def job_run(self, message_id: str) -> dict | None: ...
    def run_job(self, name: str) -> dict: ...


class ApiSource(DataSource):
    mode = "api"

    def __init__(self, settings: Settings, token: str, user: dict):
        self.settings, self.token, self.user = settings, token, user
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def _call(self, method: str, path: str, body: dict | None = None, **params: Any) -> Any:
        params = {k: v for k, v in params.items() if v is not None}
        try:
            r = self.session.request(
                method, f"{self.settings.api_url}/api/v1{path}", params=params, json=body, timeout=TIMEOUT_S
            )
        except requests.RequestException as exc:
            raise Unavailable(f"API unreachable ({exc.__class__.__name__})") from exc
        if r.status_code >= 400:
            try:
                message = r.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = r.text[:200]
            raise Unavailable(f"API {r.status_code}: {message}")
        return r.json()

    checked_at = -float("inf")

    def check_user(self):
        from abbanoa.auth.users import USER_CACHE_S

        if time.monotonic() - self.checked_at < USER_CACHE_S:
            return
        try:
            r = self.session.get(f"{self.settings.api_url}/api/v1/auth/me", timeout=TIMEOUT_S)
        except requests.RequestException:
            return  # the API cannot answer: the views say so on their own calls
        if r.status_code in (401, 403):
            raise LoginFailed("the API refused this session")
        if r.ok:
            self.user, self.checked_at = r.json(), time.monotonic()

    def summary(self, time_range):
        return self._call("GET", "/dashboard/summary", range=time_range)

    def nodes(self):
        items, offset = [], 0
        while True:
            page = self._call("GET", "/nodes", limit=500, offset=offset)
            items += page["items"]
            offset += len(page["items"])
            if not page["items"] or offset >= page["total"]:
                return items

    def districts(self):
        return self._call("GET", "/districts")["items"]

    def latest(self, node_id):
        return self._call("GET", f"/nodes/{node_id}/latest")

    def readings(self, node_id, metric, start, end, resolution):
        return self._call(
            "GET",
            f"/nodes/{node_id}/readings",
            metric=metric,
            resolution=resolution,
            **{"from": _iso(start), "to": _iso(end)},
        )

    def anomalies(self, **filters):
        start, end = filters.pop("start", None), filters.pop("end", None)
        for ours, theirs in (("district_id", "district"), ("node_id", "node"), ("anomaly_type", "type")):
            if ours in filters:
                filters[theirs] = filters.pop(ours)
        return self._call("GET", "/anomalies", **filters, **{"from": _iso(start), "to": _iso(end)})

    def acknowledge(self, anomaly_id):
        return self._call("POST", f"/anomalies/{anomaly_id}/acknowledge")

    def resolve(self, anomaly_id):
        return self._call("POST", f"/anomalies/{anomaly_id}/resolve")

    def reopen(self, anomaly_id):
        return self._call("POST", f"/anomalies/{anomaly_id}/reopen", body={})

    def assign(self, anomaly_id, assignee):
        return self._call("POST", f"/anomalies/{anomaly_id}/assign", body={"assignee": assignee})

    def comment(self, anomaly_id, text):
        return self._call("POST", f"/anomalies/{anomaly_id}/comments", body={"text": text})

    def history(self, anomaly_id):
        return self._call("GET", f"/anomalies/{anomaly_id}/history")

    def events(self, after=0):
        return self._call("GET", "/events", after=after)

    def quarantine(self, start, end):
        return self._call("GET", "/quarantine", **{"from": _iso(start), "to": _iso(end)})

    def pipes(self):
        return self._call("GET", "/network/pipes")["items"]

    def efficiency(self, district_id, period, start, end):
        return self._call(
            "GET", f"/districts/{district_id}/efficiency", period=period, **{"from": _iso(start), "to": _iso(end)}
        )

    def quality(self, start, end):
        return self._call("GET", "/quality", **{"from": start.isoformat(), "to": end.isoformat()})

    def forecast(self, node_id, metric):
        return self._call("GET", f"/forecasts/{node_id}/{metric}")

    def job_runs(self, limit=200):
        return self._call("GET", "/jobs", limit=limit)["items"]

    def job_run(self, message_id):
        items = self._call("GET", "/jobs", event=message_id, limit=1)["items"]
        return items[0] if items else None

    def run_job(self, name):
        return self._call("POST", f"/jobs/{name}/run")


def token_claims(token: str) -> dict[str, Any]:
    """The claims of a token this dashboard received from the API's login, read without the
    signing key (the dashboard holds none): who the session is, for the re-checks below."""
    try:
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, TypeError) as exc:
        raise LoginFailed("session token unreadable; log in again") from exc


class HybridSource(DataSource):
    """abbanoa.repository on PostgreSQL + Redis. Before every read or change the session's
    user is checked as the API checks it (abbanoa.auth.users.token_user: disabled, renamed,
    role, password change; at most USER_CACHE_S old) and the token against the revocation
    list; the role used is the database's, not the login response's."""

    mode = "hybrid"

    def __init__(self, settings: Settings, user: dict, token: str = ""):
        from abbanoa.auth.users import UserCache
        from abbanoa.stores import postgres
        from abbanoa.stores.cache import Cache

        self.settings, self.user, self.tenant = settings, user, user["tenant_id"]
        self.claims = token_claims(token)
        self.engine = postgres.engine(settings)
        self.cache = Cache(settings)
        self.users = UserCache()

    def check_user(self):
        self._check_user()

    def _check_user(self) -> dict:
        """The session's user as of now; LoginFailed when the API would refuse them."""
        from abbanoa.auth import AuthError, tokens
        from abbanoa.auth.users import token_user

        claims = self.claims
        if claims.get("tenant") != self.tenant or claims.get("exp", 0) < time.time():
            raise LoginFailed("session expired; log in again")
        try:
            if tokens.is_revoked(self.settings, claims.get("jti", ""), strict=False, sid=claims.get("sid")):
                raise AuthError("token revoked")
            self.user = token_user(self.engine.connect, self.users, claims)
        except AuthError as exc:
            raise LoginFailed(f"{exc}; log in again") from exc
        return self.user

    def _read(self, fn, *args, **kwargs):
        from abbanoa.repository import InvalidParameter, NotFound

        try:
            self._check_user()
            with self.engine.connect() as conn:
                return fn(conn, self.tenant, *args, **kwargs)
        except (NotFound, InvalidParameter) as exc:
            raise Unavailable(str(exc)) from exc
        except Exception as exc:  # a store that is down degrades the view
            if exc.__class__.__module__.startswith("sqlalchemy"):
                raise Unavailable(f"PostgreSQL unavailable ({exc.__class__.__name__})") from exc
            raise

    def _role(self, needed: str) -> None:
        from abbanoa.auth import role_allows

        if not role_allows(self._check_user().get("role", "viewer"), needed):
            raise Unavailable(f"needs the {needed} role")

    def summary(self, time_range):
        from abbanoa.repository import network

        self._check_user()
        return network.dashboard_summary(
            self.engine.connect, self.cache, self.tenant, time_range, dt.datetime.now(dt.UTC)
        )

    def nodes(self):
        from abbanoa.repository import nodes

        return self._read(nodes.list_nodes, limit=500)["items"]  # a district utility: a few hundred

    def districts(self):
        from abbanoa.repository import network

        return self._read(network.list_districts)

    def latest(self, node_id):
        from abbanoa.repository import nodes

        self._check_user()
        return nodes.get_latest(self.engine.connect, self.cache, self.tenant, node_id)

    def readings(self, node_id, metric, start, end, resolution):
        from abbanoa.repository import nodes

        return self._read(nodes.get_readings, node_id, metric, start, end, resolution=resolution)

    def anomalies(self, **filters):
        from abbanoa.repository import anomalies

        return self._read(anomalies.list_anomalies, **filters)

    def _change(self, fn, anomaly_id):
        self._role("operator")
        with self.engine.begin() as conn:
            return fn(conn, self.tenant, anomaly_id, self.user["username"], dt.datetime.now(dt.UTC))

    def acknowledge(self, anomaly_id):
        from abbanoa.repository import anomalies

        return self._change(anomalies.acknowledge, anomaly_id)

    def resolve(self, anomaly_id):
        from abbanoa.repository import anomalies

        return self._change(anomalies.resolve, anomaly_id)

    def reopen(self, anomaly_id):
        from abbanoa.repository import anomalies

        return self._change(anomalies.reopen, anomaly_id)

    def _act(self, fn, anomaly_id, value):
        self._role("operator")
        from abbanoa.repository import InvalidParameter, NotFound

        try:
            with self.engine.begin() as conn:
                return fn(conn, self.tenant, anomaly_id, self.user["username"], value, dt.datetime.now(dt.UTC))
        except (NotFound, InvalidParameter) as exc:
            raise Unavailable(str(exc)) from exc

    def assign(self, anomaly_id, assignee):
        from abbanoa.repository import anomalies

        return self._act(anomalies.assign, anomaly_id, assignee)

    def comment(self, anomaly_id, text):
        from abbanoa.repository import anomalies

        return self._act(anomalies.comment, anomaly_id, text)

    def history(self, anomaly_id):
        from abbanoa.repository import anomalies

        return self._read(anomalies.history, anomaly_id)

    def events(self, after=0):
        from abbanoa.repository import anomalies

        def both(conn, tenant):
            return {"items": anomalies.alerts_since(conn, tenant, after),
                    "newest": anomalies.newest_alert_id(conn, tenant)}  # fmt: skip

        return self._read(both)

    def quarantine(self, start, end):
        from abbanoa.repository import nodes

        self._role("operator")
        return self._read(nodes.quarantine, start, end)

    def pipes(self):
        from abbanoa.repository import network

        return self._read(network.pipes)

    def efficiency(self, district_id, period, start, end):
        from abbanoa.repository import network

        return self._read(network.district_efficiency, district_id, period=period, start=start, end=end)

    def quality(self, start, end):
        from abbanoa.repository import network

        return self._read(network.quality, start=start, end=end)

    def forecast(self, node_id, metric):
        from abbanoa.repository import network

        return self._read(network.forecasts, node_id, metric)

    def job_runs(self, limit=200):
        from abbanoa.repository import ops

        self._role("operator")
        return self._read(ops.list_job_runs, limit=limit)

    def job_run(self, message_id):
        from abbanoa.repository import ops

        self._role("operator")
        runs = self._read(ops.list_job_runs, limit=1, event_id=message_id)
        return runs[0] if runs else None

    def run_job(self, name):
        """Publish to the job's topic, as the API's run-now does; the dashboard never runs a job."""
        from abbanoa.auth import PLATFORM_OPERATOR
        from abbanoa.jobs import schedule, scheduler

        self._role(PLATFORM_OPERATOR)
        message_id = scheduler.fire(self.settings, name, dt.datetime.now(dt.UTC), timeout_s=TIMEOUT_S)
        return {"job": name, "mode": "published", "topic": schedule.job(name).topic, "message_id": message_id}


OPERATIONAL = "needs the operational stores (PostgreSQL/Redis); fallback mode reads BigQuery only"


class FallbackSource(DataSource):
    """BigQuery directly, read-only: nodes and readings; the rest says it is unavailable."""

    mode = "fallback"
    read_only = True

    def __init__(self, settings: Settings, user: dict, token: str = ""):
        from abbanoa.stores.bigquery import Warehouse

        self.settings, self.user, self.tenant, self.token = settings, user, user["tenant_id"], token
        self.wh = Warehouse(settings)
        self.checked_at = -float("inf")

    def check_user(self):
        self._check_user()

    def _check_user(self) -> None:
        """The API's own check (GET /auth/me: disabled, role, tenant, revocation), redone at most
        every USER_CACHE_S seconds. The API refusing ends the session; an API that cannot answer
        (the reason for this mode) leaves the session to its token's expiry (15 minutes), as the
        API does for access tokens while Redis is down."""
        from abbanoa.auth.users import USER_CACHE_S

        if time.monotonic() - self.checked_at < USER_CACHE_S:
            return
        if seconds_left(self.token) <= 0:
            raise LoginFailed("session expired; log in again")
        try:
            r = requests.get(
                f"{self.settings.api_url}/api/v1/auth/me",
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=TIMEOUT_S,
            )
        except requests.RequestException:
            return
        if r.status_code in (401, 403):
            raise LoginFailed("the API refused this session; log in again")
        if r.ok:
            me = r.json()
            if me.get("tenant_id") != self.tenant:
                raise LoginFailed("session tenant changed; log in again")
            self.user, self.checked_at = me, time.monotonic()

    def nodes(self):
        from abbanoa.stores.bigquery import param

        self._check_user()
        rows = self.wh.query_rows(
            f"SELECT node_id, name, node_type, latitude, longitude, dma_id AS district_id, updated_at "
            f"FROM `{self.wh.table_id('nodes')}` WHERE tenant_id = @t",
            [param("t", "STRING", self.tenant)],
        )
        latest: dict[str, dict] = {}
        for r in rows:  # latest updated_at wins
            if r["node_id"] not in latest or r["updated_at"] > latest[r["node_id"]]["updated_at"]:
                latest[r["node_id"]] = r
        return [{**{k: v for k, v in r.items() if k != "updated_at"}, "active": True} for r in latest.values()]

    def readings(self, node_id, metric, start, end, resolution):
        from abbanoa.metrics import METRICS
        from abbanoa.stores.bigquery import param

        if node_id not in {n["node_id"] for n in self.nodes()}:  # nodes() checks the user
            raise Unavailable(f"unknown node {node_id}")
        trunc = {"1h": "HOUR", "1d": "DAY"}.get(resolution, "HOUR")
        rows = self.wh.query_rows(
            f"SELECT TIMESTAMP_TRUNC(ts, {trunc}) AS ts, AVG(value) AS value, MIN(value) AS min, "
            f"MAX(value) AS max, COUNT(*) AS n FROM `{self.wh.table_id('readings')}` "
            "WHERE node_id = @n AND metric = @m AND ts >= @s AND ts < @e GROUP BY 1 ORDER BY 1 LIMIT 10000",
            [
                param("n", "STRING", node_id),
                param("m", "STRING", metric),
                param("s", "TIMESTAMP", start),
                param("e", "TIMESTAMP", end),
            ],
        )
        return {
            "node_id": node_id,
            "metric": metric,
            "unit": METRICS[metric].unit if metric in METRICS else None,
            "resolution": resolution,
            "from": _iso(start),
            "to": _iso(end),
            "count": len(rows),
            "truncated": False,
            "points": [{**r, "ts": _iso(r["ts"])} for r in rows],
        }

    def _unavailable(self, *args, **kwargs):
        raise Unavailable(OPERATIONAL)

    summary = latest = anomalies = acknowledge = resolve = efficiency = quality = forecast = _unavailable
    reopen = assign = comment = history = events = quarantine = pipes = _unavailable
    job_runs = job_run = run_job = districts = _unavailable


def make_source(settings: Settings, token: str, user: dict) -> DataSource:
    mode = settings.dashboard_data_mode
    if mode == "hybrid":
        return HybridSource(settings, user, token)
    if mode == "fallback":
        return FallbackSource(settings, user, token)
    return ApiSource(settings, token, user)
