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


def test_the_hydraulic_symptoms_of_one_burst_across_loggers_are_one_incident_led_by_the_burst():
    from dashboard.views.anomalies import symptoms

    # given a burst on D1's inflow at 08:00: its baseline deviation, pressure drops at three
    # loggers within 20 minutes; and what is not that burst: a drop in D2 at the same time,
    # a drop in D1 three hours later, a turbidity deviation at a D1 logger during the burst
    def at(i, kind, start_h, node=None, metric="pressure", district="D1", severity="high"):
        return {**_a(i, kind, start_h, start_h - 2, node=node, metric=metric, severity=severity),
                "district_id": district}  # fmt: skip

    burst = at(1, detectors.BURST, 4.0, metric="flow_rate", severity="medium")
    inflow = at(2, detectors.BASELINE, 4.1, metric="flow_rate")
    drops = [at(3 + i, detectors.PRESSURE_DROP, 4.0 - i / 6, node=f"P{i}") for i in range(3)]
    elsewhere = at(10, detectors.PRESSURE_DROP, 4.0, node="Q1", district="D2")
    later = at(11, detectors.PRESSURE_DROP, 1.0, node="P0")
    turbidity = at(12, detectors.BASELINE, 3.9, node="P1", metric="turbidity")
    # when they are grouped
    grouped = incidents.group([burst, inflow, *drops, elsewhere, later, turbidity])
    # then the burst and its symptoms are one incident led by the burst, listing its members
    one = next(g for g in grouped if 1 in g["members"])
    assert one["members"] == [1, 2, 3, 4, 5] and one["anomaly_id"] == 1 and one["anomaly_type"] == "burst"
    assert one["nodes"] == ["P0", "P1", "P2"] and one["types"] == ["baseline_deviation", "burst", "pressure_drop"]
    assert one["start_ts"] == NOW - dt.timedelta(hours=4.1)
    assert sorted(len(g["members"]) for g in grouped) == [1, 1, 1, 5]
    members = [burst, inflow, *drops]
    assert symptoms(one, members) == (
        "burst: district inflow · baseline deviation: district inflow · pressure drop: P0, P1, P2"
    )


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


def test_district_outlines_enclose_their_nodes_and_the_map_pins_open_events():
    import pandas as pd
    from matplotlib.path import Path as Polygon

    from dashboard import transforms
    from dashboard.views.overview import network_map

    nodes = [
        {"node_id": f"N{i}", "district_id": d, "latitude": 39.2 + dy, "longitude": 9.1 + dx}
        for i, (d, dx, dy) in enumerate([("A", 0, 0), ("A", 0.01, 0), ("A", 0, 0.01), ("B", 0.05, 0.05)])
    ]
    outlines = transforms.district_outlines(nodes)
    assert set(outlines) == {"A", "B"}  # a one-node district still gets an outline
    for n in nodes:
        assert Polygon(outlines[n["district_id"]]).contains_point((n["longitude"], n["latitude"]))
    located = pd.DataFrame([{**n, "name": n["node_id"], "node_type": "pressure_logger", "state": "ok",
                             "latest": "", "pressure": 3.0} for n in nodes])  # fmt: skip
    fig = network_map(nodes, located, [{"anomaly_id": 7, "node_id": "N1", "anomaly_type": "burst", "severity": "high"}],
                      located.to_dict("records"))  # fmt: skip
    names = [t.name for t in fig.data]
    assert names[:2] == ["district A", "district B"] and "pressure [bar]" in names and "open event" in names
    pin = next(t for t in fig.data if t.name == "open event")
    assert (pin.x[0], pin.y[0]) == (9.11, 39.2)


def test_the_demo_webhook_receiver_records_what_the_notifier_delivers(api_db, settings, tmp_path):
    # api_db, not db: db empties every table after the test, the module's data set included
    from abbanoa.alerts import notifier
    from abbanoa.demo import webhook_receiver

    server = webhook_receiver(0, tmp_path / "received.jsonl")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        target = f"http://127.0.0.1:{server.server_port}/alerts"
        body = {"idempotency_key": "demo-burst-1", "type": "burst", "severity": "critical", "node_id": "N1"}
        assert notifier.deliver(body, {}, settings.with_(alert_webhook_urls=(target,))) == {target: "delivered"}
        lines = (tmp_path / "received.jsonl").read_text().splitlines()
        assert [json.loads(x)["alert"]["alert"]["idempotency_key"] for x in lines] == ["demo-burst-1"]
        assert "1 alert(s) received" in requests.get(f"http://127.0.0.1:{server.server_port}/", timeout=5).text
    finally:
        server.shutdown()
        with api_db.begin() as conn:
            conn.execute(sa.text("DELETE FROM alert_deliveries WHERE idempotency_key = 'demo-burst-1'"))


def test_the_quarantine_is_visible_per_tenant_with_its_reasons(dashboard_data, login, api_db, api_server):
    from tests.dashboard.test_views import texts, view

    with api_db.begin() as conn:
        for tenant, reason, n in (("abbanoa", "non_numeric", 2), ("abbanoa", "unknown_node", 1), ("other", "x", 5)):
            for i in range(n):
                conn.execute(
                    sa.text(
                        "INSERT INTO quarantine (tenant_id, source, line_no, reason, detail, raw, fingerprint) "
                        "VALUES (:t, 'readings.csv', :i, :r, 'value is not a number', '=1+1,N1', :f)"
                    ),
                    {"t": tenant, "i": i, "r": reason, "f": f"{tenant}-{reason}-{i}"},
                )
    try:
        session = login("operator", mode="api")
        at = view("quality", session)
        assert not at.exception, [e.value for e in at.exception]
        assert "3 row(s) set aside: non numeric 2 · unknown node 1" in texts(at)
        table = at.dataframe[-1].value
        assert set(table["Reason"]) == {"non_numeric", "unknown_node"} and len(table) == 3
        viewer = requests.get(
            f"{api_server}/api/v1/quarantine",
            headers={"Authorization": f"Bearer {login('viewer', mode='api')['token']}"},
            timeout=10,
        )
        assert viewer.status_code == 403  # fmt: skip
    finally:
        with api_db.begin() as conn:
            conn.execute(sa.text("DELETE FROM quarantine"))


def test_the_simulators_topology_loads_and_its_pipes_reach_the_map(tmp_path, dashboard_data, login, api_db):
    from abbanoa.repository import network
    from abbanoa.simulate.network import build_network
    from abbanoa.simulate.topology import topology
    from tests.dashboard.test_views import view

    doc = topology(build_network())
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) > 100  # Net3's pipes, pumps, valves
    lon, lat = doc["features"][0]["geometry"]["coordinates"][0]
    assert 9.0 < lon < 9.3 and 39.1 < lat < 39.4  # placed around Selargius, as the sensors
    try:
        with api_db.begin() as conn:
            stored = network.store_topology(conn, "abbanoa", doc)
            assert stored == len(doc["features"]) and len(network.pipes(conn, "other")) == 0  # tenant-scoped
        at = view("overview", login("viewer", mode="api"))
        fig = at.get("plotly_chart")[0].proto.spec
        assert '"name":"pipes"' in fig.replace(" ", "")
    finally:
        with api_db.begin() as conn:
            conn.execute(sa.text("DELETE FROM network_pipes"))


def test_the_event_stream_is_read_as_alerts_keep_alives_and_retries_skipped():
    from dashboard.live import parse

    lines = ["retry: 3000", "", ": keep-alive", "", "id: 7", "event: alert", 'data: {"type": "burst"}', "",
             "id: 8", "event: other", "data: {}", ""]  # fmt: skip
    assert list(parse(lines)) == [{"type": "burst", "alert_id": 7}]


def test_the_dashboards_relay_brings_a_published_alert_and_drops_a_refused_token(
    dashboard_data, api_server, make_user, api_db, database, pubsub_project
):
    import time

    from dashboard.live import Relay

    viewer = make_user("viewer")
    token = requests.post(
        f"{api_server}/api/v1/auth/login", json={"username": viewer["username"], "password": PASSWORD}, timeout=10
    ).json()["access_token"]
    newest = requests.get(
        f"{api_server}/api/v1/events?after={2**62}", headers={"Authorization": f"Bearer {token}"}, timeout=10
    ).json()["newest"]
    # given a relay for the tenant, lent a session's token
    relay = Relay(api_server, "abbanoa", after=newest)
    relay.look("session-1", token)
    deadline = time.monotonic() + 10
    while not relay.connected and time.monotonic() < deadline:
        time.sleep(0.1)
    assert relay.connected, relay.error
    # when a job records and publishes an alert of this tenant and one of another tenant
    with api_db.begin() as conn:
        for tenant in ("other", "abbanoa"):
            record_alert(conn, tenant_id=tenant, idempotency_key=f"relay-test-{tenant}", source="anomaly",
                         source_id=None, alert_type="pressure_drop", severity="high",
                         payload={"node_id": "N2", "district_id": "D1"})  # fmt: skip
    started = time.monotonic()
    publish_pending(api_db, database)
    while not relay.since(newest) and time.monotonic() - started < 10:
        time.sleep(0.1)
    # then the relay holds this tenant's alert within seconds, and not the other's
    got = relay.since(newest)
    assert [(e["type"], e["node_id"]) for e in got] == [("pressure_drop", "N2")], got
    assert time.monotonic() - started < 5
    # and a token the API refuses is not lent again: with no other session, the reader stops
    relay2 = Relay(api_server, "abbanoa", after=newest)
    relay2.look("session-2", "not-a-token")
    deadline = time.monotonic() + 10
    while relay2._thread is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert relay2._thread is None and not relay2.connected
    relay.leave("session-1")
