"""Events, not rows, and live push (issue 16): the workflow's rules, the operator's actions and
their history through the real API, and an alert reaching an open server-sent-events stream."""

from __future__ import annotations

import datetime as dt
import json
import threading

import requests
import sqlalchemy as sa

from abbanoa.alerts.publish import publish_pending, record_alert
from abbanoa.analytics import detectors, incidents
from abbanoa.repository import anomalies
from tests.dashboard.conftest import PASSWORD

NOW = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)


def _a(i, kind, start_h, end_h, node="N1", metric="flow_rate", status="open", severity="high"):
    return {
        "anomaly_id": i, "anomaly_type": kind, "status": status, "severity": severity, "node_id": node,
        "district_id": "D1", "metric": metric, "start_ts": NOW - dt.timedelta(hours=start_h),
        "end_ts": NOW - dt.timedelta(hours=end_h),
    }  # fmt: skip


def test_an_anomaly_closes_once_its_condition_has_cleared_for_its_quiet_time():
    spike_old = _a(1, detectors.SPIKE, 5, 2)  # cleared 2 h > 1 h
    burst_recent = _a(2, detectors.BURST, 8, 3)  # cleared 3 h < 6 h
    future = _a(3, detectors.GAP, 1, -2)  # an end in the future is "now", not cleared
    done = _a(4, detectors.SPIKE, 9, 8, status="resolved")
    closed = incidents.to_close([spike_old, burst_recent, future, done], NOW)
    assert [c.anomaly_id for c in closed] == [1]
    assert "cleared for 1 h" in closed[0].reason


def test_a_burst_carries_its_flow_above_expected_and_the_volume_lost_so_far():
    flow, volume = incidents.leak_estimate(detectors.BURST, 30.0, 20.0, NOW - dt.timedelta(hours=2), NOW, NOW)
    assert (flow, volume) == (10.0, 10.0 * 7200 / 1000)  # 10 l/s for 2 h = 72 m3
    assert incidents.leak_estimate(detectors.SPIKE, 30.0, 20.0, NOW, NOW, NOW) == (None, None)


def test_a_probes_outage_is_one_incident_listing_its_metrics():
    gaps = [_a(i, detectors.GAP, 6, 1, node="QP1", metric=m, severity="medium") for i, m in
            enumerate(("ph", "turbidity", "free_chlorine", "conductivity", "temperature"), start=10)]  # fmt: skip
    other = _a(20, detectors.BURST, 3, 1)
    grouped = incidents.group(gaps + [other])
    assert len(grouped) == 2
    outage = next(g for g in grouped if g["node_id"] == "QP1")
    assert outage["members"] == [10, 11, 12, 13, 14] and len(outage["metrics"]) == 5


def _insert(api_db, kind, start, end, observed=None, expected=None) -> int:
    with api_db.begin() as conn:
        return conn.execute(
            sa.text(
                "INSERT INTO anomalies (tenant_id, node_id, district_id, metric, anomaly_type, severity, start_ts, "
                "end_ts, observed_value, expected_value) VALUES ('abbanoa', 'N1', 'D1', 'flow_rate', :k, 'high', "
                ":s, :e, :o, :x) RETURNING anomaly_id"
            ),
            {"k": kind, "s": start, "e": end, "o": observed, "x": expected},
        ).scalar()


def test_the_system_resolves_an_operator_reopens_assigns_comments_and_the_history_says_who(
    dashboard_data, api_server, make_user, api_db
):
    now = dt.datetime.now(dt.UTC)
    cleared = _insert(api_db, detectors.BURST, now - dt.timedelta(hours=10), now - dt.timedelta(hours=7), 30, 20)
    ongoing = _insert(api_db, detectors.BURST, now - dt.timedelta(hours=2), now - dt.timedelta(minutes=5), 30, 20)
    # when the detection job's workflow step runs
    with api_db.begin() as conn:
        done = anomalies.apply_workflow(conn, now)
    assert done["auto_resolved"] >= 1
    with api_db.connect() as conn:
        row = conn.execute(
            sa.text("SELECT status, resolved_by, resolution FROM anomalies WHERE anomaly_id = :a"), {"a": cleared}
        ).one()
        burst = anomalies.get_anomaly(conn, "abbanoa", ongoing)
    assert (row.status, row.resolved_by) == ("resolved", "system") and "cleared for 6 h" in row.resolution
    assert burst["status"] == "open" and burst["estimated_flow_l_s"] == 10.0
    assert abs(burst["estimated_volume_m3"] - 10.0 * (115 * 60) / 1000) < 0.01
    # an operator reopens, assigns and comments through the API
    operator, colleague = make_user("operator"), make_user("operator")
    token = requests.post(
        f"{api_server}/api/v1/auth/login", json={"username": operator["username"], "password": PASSWORD}, timeout=10
    ).json()
    h = {"Authorization": f"Bearer {token['access_token']}"}  # fmt: skip
    base = f"{api_server}/api/v1/anomalies/{cleared}"
    assert requests.post(f"{base}/reopen", json={"note": "still leaking"}, headers=h, timeout=10).json()["status"] == (
        "open"
    )
    assigned = requests.post(f"{base}/assign", json={"assignee": colleague["username"]}, headers=h, timeout=10)
    assert assigned.json()["assigned_to"] == colleague["username"]
    assert requests.post(f"{base}/assign", json={"assignee": "nobody"}, headers=h, timeout=10).status_code == 400
    requests.post(f"{base}/comments", json={"text": "crew on site"}, headers=h, timeout=10)
    history = requests.get(f"{base}/history", headers=h, timeout=10).json()["items"]
    assert [(e["actor"], e["action"]) for e in history] == [
        ("system", "create"), ("system", "auto_resolve"), (operator["username"], "reopen"),
        (operator["username"], "assign"), (operator["username"], "comment"),
    ]  # fmt: skip
    assert history[-1]["note"] == "crew on site"


def test_a_published_alert_reaches_an_open_event_stream_within_seconds(
    dashboard_data, api_server, make_user, api_db, database, pubsub_project
):
    viewer = make_user("viewer")
    token = requests.post(
        f"{api_server}/api/v1/auth/login", json={"username": viewer["username"], "password": PASSWORD}, timeout=10
    ).json()
    h = {"Authorization": f"Bearer {token['access_token']}"}  # fmt: skip
    assert requests.get(f"{api_server}/api/v1/events/stream", timeout=5).status_code == 401  # authenticated
    received: list[dict] = []
    opened = threading.Event()

    def listen():
        with requests.get(f"{api_server}/api/v1/events/stream", headers=h, stream=True, timeout=30) as r:
            for line in r.iter_lines(decode_unicode=True):
                opened.set()
                if line and line.startswith("data: "):
                    received.append(json.loads(line[6:]))
                    return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    assert opened.wait(10)
    # when a job records and publishes an alert of this tenant (and one of another tenant)
    with api_db.begin() as conn:
        for tenant in ("other", "abbanoa"):
            record_alert(conn, tenant_id=tenant, idempotency_key=f"live-test-{tenant}", source="anomaly",
                         source_id=None, alert_type="burst", severity="critical",
                         payload={"node_id": "N1", "district_id": "D1"})  # fmt: skip
    started = dt.datetime.now(dt.UTC)
    publish_pending(api_db, database)
    thread.join(20)
    # then the open stream got this tenant's alert, not the other's, within seconds
    assert received and received[0]["type"] == "burst" and received[0]["node_id"] == "N1"
    assert (dt.datetime.now(dt.UTC) - started).total_seconds() < 10
    replay = requests.get(f"{api_server}/api/v1/events?after=0", headers=h, timeout=10).json()
    assert [e["type"] for e in replay["items"]] == ["burst"] and replay["newest"] == received[0]["alert_id"]
