"""Every view rendered with streamlit.testing.v1.AppTest against real PostgreSQL/Redis
(hybrid mode) and a real API server (api mode)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from streamlit.testing.v1 import AppTest

from abbanoa.summary import system_metrics
from tests.dashboard.conftest import PASSWORD, VIEWS

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")


def view(name: str, session: dict) -> AppTest:
    at = AppTest.from_string(f"from dashboard.views import {name}\n{name}.main()\n", default_timeout=30)
    for key, value in session.items():
        at.session_state[key] = value
    return at.run()


def texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [m.value for m in at.info] + [m.value for m in at.caption]
    parts += [f"{m.label}={m.value}" for m in at.metric] + [t.value for t in at.title]
    return "\n".join(str(p) for p in parts)


@pytest.mark.parametrize("name", VIEWS)
def test_every_view_renders_without_exception_on_demo_data(dashboard_data, login, name):
    # given an operator logged in through the API, in this data mode
    session = login("operator", mode="hybrid")
    # when the view runs
    at = view(name, session)
    # then no exception box and no error element
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


@pytest.mark.parametrize("mode", ["hybrid", "api"])
def test_overview_shows_the_stored_node_and_anomaly_counts(dashboard_data, login, mode, api_db):
    at = view("overview", login("viewer", mode=mode))
    metrics = {m.label: m.value for m in at.metric}
    with api_db.connect() as conn:  # the same figures straight from the store
        expected = system_metrics(conn, "abbanoa", "24h", dt.datetime.now(dt.UTC))
    assert metrics["Active nodes"] == f"{expected['nodes_active']} / 2"
    assert metrics["Open anomalies"] == "1"
    assert "**high** 1" in texts(at)
    table = at.dataframe[0].value
    assert set(table["Node"]) == {"N1", "N2"}
    assert table.set_index("Node").loc["N1", "State"] == "alarm"  # its open burst
    assert "Flow 45.0 l/s" in table.set_index("Node").loc["N1", "Latest values"]  # people's labels and units
    assert not table.isin(["None"]).any().any()
    assert len(at.get("plotly_chart")) == 1  # the map


def test_views_of_a_tenant_without_data_show_empty_states(dashboard_data, login):
    session = login("admin", tenant="empty")
    for name in ("forecast", "kpis", "consumption", "efficiency", "reports"):
        at = view(name, session)
        assert not at.exception, (name, [e.value for e in at.exception])
        assert at.info, name  # an explanation, never a chart of nothing
    assert "No nodes registered" in texts(view("overview", session))
    assert "No anomalies match" in texts(view("anomalies", session))


def test_acknowledge_and_resolve_buttons_are_hidden_for_viewers(dashboard_data, login):
    at = view("anomalies", login("viewer"))
    assert [b.label for b in at.button] == []
    at = view("anomalies", login("operator"))
    assert {"Acknowledge", "Resolve"} <= {b.label for b in at.button}


def test_operator_acknowledges_an_anomaly_from_the_view(dashboard_data, login, api_db):
    at = view("anomalies", login("operator", mode="api"))
    anomaly_id = at.selectbox[-1].value
    next(b for b in at.button if b.label == "Acknowledge").click().run()
    assert not at.exception
    with api_db.connect() as conn:
        row = conn.execute(
            sa.text("SELECT status, acknowledged_by FROM anomalies WHERE anomaly_id = :i"), {"i": anomaly_id}
        ).one()
    assert row.status == "acknowledged"
    assert row.acknowledged_by.startswith("abbanoa-operator")
    # the action confirms and the operator stays on the same anomaly
    assert at.success and f"Anomaly #{anomaly_id} acknowledged by" in at.success[0].value
    assert at.selectbox(key="an_detail").value == anomaly_id


def test_run_now_is_for_the_platform_operator_and_job_runs_for_operators(dashboard_data, login):
    viewer = view("performance", login("viewer"))
    assert "Run now" not in [b.label for b in viewer.button]
    assert "Job runs are visible to operators and admins." in texts(viewer)
    admin = view("performance", login("admin"))
    assert "Run now" not in [b.label for b in admin.button]  # platform jobs are no tenant's to run
    runs = admin.dataframe[0].value.set_index("Job")
    assert runs.loc["cache_refresh", "Status"] == "failed"
    assert runs.loc["realtime_sync", "Rows"] == "—"  # the platform's figure; not "None"
    platform = view("performance", login("platform_operator", tenant="_platform"))
    assert "Run now" in [b.label for b in platform.button]
    assert platform.dataframe[0].value.set_index("Job").loc["realtime_sync", "Rows"] == "72"


def test_fallback_mode_says_which_features_need_the_operational_stores(dashboard_data, login):
    at = view("anomalies", login("operator", mode="fallback"))
    assert not at.exception
    assert "operational stores" in texts(at)


def test_login_page_logs_in_against_the_api_and_sidebar_shows_mode_and_role(dashboard_data, login, make_user):
    login("viewer", mode="api")  # points the settings at the test API
    user = make_user("operator")
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    at.text_input[0].input(user["username"])
    at.text_input[1].input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception, [e.value for e in at.exception]
    sidebar = "\n".join(m.value for m in at.sidebar.markdown)
    assert "`api`" in sidebar and f"{user['username']}" in sidebar and "operator" in sidebar
    assert at.title[0].value == "Overview"
    # logout clears the session
    next(b for b in at.sidebar.button if b.label == "Log out").click().run()
    assert "token" not in at.session_state
    assert at.title[0].value == "Abbanoa network monitor"


def test_wrong_password_is_refused_with_a_message(dashboard_data, login, make_user):
    login("viewer", mode="api")
    user = make_user("viewer")
    at = AppTest.from_file(APP, default_timeout=30).run()
    at.text_input[0].input(user["username"])
    at.text_input[1].input("not the password")
    at.button[0].click().run()
    assert "token" not in at.session_state
    assert at.error[0].value.startswith("Login failed")


def test_consumption_view_compares_the_last_week_with_the_typical_one_from_stored_hours(dashboard_data, login, api_db):
    # given a flow meter with two weeks of hourly means, the last week 20% above the first
    now = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    hours = [now - dt.timedelta(hours=h) for h in range(1, 14 * 24 + 1)]
    rows = [{"b": b, "v": (20.0 + (b.hour % 6)) * (1.2 if b >= now - dt.timedelta(days=7) else 1.0)} for b in hours]
    with api_db.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO nodes (node_id, tenant_id, name, node_type, district_id)"
                " VALUES ('N3', 'abbanoa', 'Two weeks', 'flow_meter', 'D1')"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO readings_1h (node_id, metric, bucket, n, sum_value, min_value, max_value, avg_value)"
                " VALUES ('N3', 'flow_rate', :b, 12, CAST(:v AS float8) * 12, :v, :v, :v)"
            ),
            rows,
        )
    try:
        # when the consumption view shows that meter
        at = view("consumption", login("viewer", mode="hybrid"))
        picker = at.selectbox(key="c_node")
        at = picker.set_value(next(o for o in picker.options if o.startswith("N3 "))).run()
        # then the week's volume ratio is the stored one, and the profiles and week chart are drawn
        assert not at.exception, [e.value for e in at.exception]
        assert "1.20 x the typical week's volume" in texts(at)
        assert len(at.get("plotly_chart")) == 4
    finally:
        with api_db.begin() as conn:
            conn.execute(sa.text("DELETE FROM readings_1h WHERE node_id = 'N3'"))
            conn.execute(sa.text("DELETE FROM nodes WHERE node_id = 'N3'"))


def test_a_token_about_to_expire_is_renewed_and_a_refused_renewal_ends_the_session(
    dashboard_data, login, base_settings
):
    from abbanoa.auth import tokens

    # given a logged-in operator whose access token has 30 s left
    session = login("operator", mode="api")
    user = session["user"]
    ageing = dt.datetime.now(dt.UTC) - tokens.ACCESS_TTL + dt.timedelta(seconds=30)
    old_access = tokens.issue(base_settings, user, "access", now=ageing)
    old_refresh = session["refresh_token"]
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["token"], at.session_state["refresh_token"] = old_access, old_refresh
    at.session_state["user"] = session["user"]
    # when the dashboard runs, then it renewed the pair and shows the overview
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["token"] != old_access and at.session_state["refresh_token"] != old_refresh
    assert at.title[0].value == "Overview"
    # given an expired access token whose refresh token was already used (refresh tokens are single-use)
    at.session_state["token"] = tokens.issue(base_settings, user, "access", now=ageing - dt.timedelta(minutes=1))
    at.session_state["refresh_token"] = old_refresh
    # when the dashboard runs, then the session ends with a sentence on the login page
    at.run()
    assert "token" not in at.session_state
    assert at.title[0].value == "Abbanoa network monitor"
    assert "Your session has ended" in at.warning[0].value


def test_an_api_that_cannot_renew_the_session_does_not_end_it(dashboard_data, login, base_settings):
    from abbanoa import settings as settings_module
    from abbanoa.auth import tokens

    # given an operator whose access token has 30 s left, and an API that does not answer
    session = login("operator", mode="api")
    ageing = dt.datetime.now(dt.UTC) - tokens.ACCESS_TTL + dt.timedelta(seconds=30)
    settings_module.reset_settings(base_settings.with_(api_url="http://127.0.0.1:9", dashboard_data_mode="api"))
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["token"] = tokens.issue(base_settings, session["user"], "access", now=ageing)
    at.session_state["refresh_token"] = session["refresh_token"]
    at.session_state["user"] = session["user"]
    # when the dashboard runs, then the session stays, and the sidebar says renewal will be retried
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["refresh_token"] == session["refresh_token"]
    assert "Session not renewed yet" in at.sidebar.warning[0].value
