"""Abbanoa control-room dashboard: `streamlit run dashboard/app.py`.

Login against the API (the session holds the token), the data mode and user in the
sidebar, and the nine views (dashboard/views/*, each a `main()`).
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # `streamlit run` from anywhere

import streamlit as st  # noqa: E402

from abbanoa.settings import get_settings  # noqa: E402
from dashboard import data  # noqa: E402
from dashboard.views import (  # noqa: E402
    anomalies,
    consumption,
    efficiency,
    forecast,
    kpis,
    overview,
    performance,
    quality,
    reports,
)

VIEWS = [
    (overview.main, "Overview", "overview", ":material/map:"),
    (forecast.main, "Forecast", "forecast", ":material/trending_up:"),
    (kpis.main, "KPI dashboard", "kpis", ":material/speed:"),
    (quality.main, "Water quality", "quality", ":material/water_drop:"),
    (anomalies.main, "Anomalies", "anomalies", ":material/warning:"),
    (consumption.main, "Consumption patterns", "consumption", ":material/calendar_month:"),
    (efficiency.main, "Network efficiency", "efficiency", ":material/water:"),
    (reports.main, "Reports", "reports", ":material/description:"),
    (performance.main, "Performance monitor", "performance", ":material/monitor_heart:"),
]


def login_page() -> None:
    st.title("Abbanoa network monitor")
    if "login_message" in st.session_state:
        st.warning(st.session_state["login_message"])
    with st.form("login"):
        username = st.text_input("Username", help="username@tenant for a tenant other than the default")
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Log in")
    if submitted:
        try:
            answer = data.login(get_settings(), username, password)
        except (data.LoginFailed, data.Unavailable) as exc:
            st.error(f"Login failed: {exc}")
            return
        st.session_state["token"] = answer["access_token"]
        st.session_state["refresh_token"] = answer.get("refresh_token")
        st.session_state["user"] = answer["user"]
        st.session_state.pop("login_message", None)
        st.rerun()


RENEW_BEFORE_S = 120  # renew the access token when it has less than this to live


def keep_session() -> bool:
    """Renew the access token with the refresh token before it expires (an operator's
    dashboard stays logged in while in use). When the API refuses the refresh token, end the
    session with a sentence on the login page (False); when it cannot answer (down, Redis
    down), keep the session and try again on the next run."""
    token = st.session_state["token"]
    refresh_token = st.session_state.get("refresh_token")
    if data.seconds_left(token) > RENEW_BEFORE_S:
        return True
    try:
        if not refresh_token:
            raise data.LoginFailed("no refresh token")
        answer = data.refresh(get_settings(), refresh_token)
    except data.Unavailable as exc:
        st.sidebar.warning(f"Session not renewed yet ({exc}); retrying.")
        return True
    except data.LoginFailed as exc:
        for key in ("token", "refresh_token", "user"):
            st.session_state.pop(key, None)
        st.session_state["login_message"] = f"Your session has ended ({exc}); please log in again."
        st.cache_data.clear()
        return False
    st.session_state["token"] = answer["access_token"]
    st.session_state["refresh_token"] = answer.get("refresh_token")
    st.session_state["user"] = answer["user"]
    return True


def sidebar() -> None:
    user = st.session_state["user"]
    mode = get_settings().dashboard_data_mode
    st.sidebar.markdown(f"**Data mode:** `{mode}`" + (" (read-only)" if mode == "fallback" else ""))
    st.sidebar.markdown(f"**User:** {user['username']} · **role:** {user['role']} · **tenant:** {user['tenant_id']}")
    if st.sidebar.button("Log out"):
        data.logout(get_settings(), st.session_state["token"], st.session_state.get("refresh_token"))
        for key in ("token", "refresh_token", "user"):
            st.session_state.pop(key, None)
        st.cache_data.clear()
        st.rerun()


LIVE_CHECK_S = 2  # how often a session's fragment looks at what the live stream brought
BACKSTOP_S = 30  # and asks the API's event cursor directly (Redis down: the stream has no push)
BANNER_KEY = "live_banner"
NEWEST = 2**62  # `after` for "nothing, just the newest id" (GET /events)


def live_events() -> None:
    """New and escalated alerts since this session last looked: a toast each, a banner above
    the view, and a rerun of the page so the affected figures refresh (no page reload).

    They come from the process's relay of the API's server-sent-events stream
    (dashboard/live.py), looked at every LIVE_CHECK_S; every BACKSTOP_S the session also asks
    the API's event cursor (GET /events?after=), which holds every alert the stream carries."""
    import uuid

    from dashboard import live, ui

    settings = get_settings()
    try:
        ui.source().check_user()  # a refused user sees no more alerts (at most every 10 s)
    except data.LoginFailed as exc:
        ui.end_session(f"Your session has ended ({exc}); please log in again.")
    except data.Unavailable:
        pass
    now = time.monotonic()
    if "live_after" not in st.session_state:
        try:
            st.session_state["live_after"] = ui.source().events(NEWEST).get("newest", 0)  # what comes after opening
        except data.Unavailable:
            st.session_state["live_after"] = None  # fallback mode or the API down: the stream only
        st.session_state["live_session"] = uuid.uuid4().hex
        st.session_state["live_polled"] = now
    after = st.session_state["live_after"]
    relay = live.relay(settings.api_url, st.session_state["user"]["tenant_id"], after)
    relay.look(st.session_state["live_session"], st.session_state["token"])
    if after is None:  # no cursor yet: what the stream brings from now on
        after = st.session_state["live_after"] = max([0, *(e["alert_id"] for e in relay.since(0))])
        return
    items = {e["alert_id"]: e for e in relay.since(after)}
    if now - st.session_state.get("live_polled", 0) >= BACKSTOP_S:
        st.session_state["live_polled"] = now
        with contextlib.suppress(data.Unavailable):  # the views say so themselves
            items.update({e["alert_id"]: e for e in ui.source().events(after).get("items") or []})
    if not items:
        return
    events = [items[i] for i in sorted(items)]
    st.session_state["live_after"] = events[-1]["alert_id"]
    texts = [banner_text(e) for e in events]
    for text in texts:
        st.toast(text, icon=":material/notifications_active:")
    st.session_state[BANNER_KEY] = texts[-5:]
    st.cache_data.clear()
    st.rerun(scope="app")


def banner_text(event: dict) -> str:
    from dashboard import present

    where = event.get("node_id") or event.get("district_id") or "network"
    what = str(event.get("type") or "alert").replace("_", " ")
    kind = "Escalated" if event.get("escalation") else "New"
    when = present.local_time(event.get("start_ts"), get_settings().timezone)
    return f"{kind} {event.get('severity')} alert: {what} at {where} (from {when})"


def banner() -> None:
    texts = st.session_state.get(BANNER_KEY)
    if texts:
        c = st.columns([8, 1])
        c[0].warning("  \n".join(texts), icon=":material/notifications_active:")
        if c[1].button("Dismiss", key="dismiss_banner"):
            st.session_state.pop(BANNER_KEY, None)
            st.rerun()


def main() -> None:
    st.set_page_config(page_title="Abbanoa", page_icon=":material/water_drop:", layout="wide")
    if "token" in st.session_state:
        keep_session()  # renews, or ends the session (then the login page below)
    if "token" not in st.session_state:
        st.navigation([st.Page(login_page, title="Log in", url_path="login")]).run()
        return
    sidebar()
    banner()
    st.fragment(live_events, run_every=LIVE_CHECK_S)()
    pages = [
        st.Page(fn, title=title, url_path=path, icon=icon, default=(i == 0))
        for i, (fn, title, path, icon) in enumerate(VIEWS)
    ]
    st.navigation(pages).run()


main()
