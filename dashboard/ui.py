"""Streamlit glue shared by the views: the session's data source, cached queries, time ranges."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import streamlit as st

from abbanoa.settings import get_settings
from dashboard import data

RANGES = {
    "24 h": dt.timedelta(hours=24),
    "7 days": dt.timedelta(days=7),
    "30 days": dt.timedelta(days=30),
    "90 days": dt.timedelta(days=90),
    "1 year": dt.timedelta(days=365),
}


def settings():
    return get_settings()


def tz() -> str:
    return settings().timezone


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@st.cache_resource(max_entries=64, ttl=3600)  # keyed by token: a renewed token makes a new entry
def _source(mode: str, token: str, username: str, tenant: str, role: str) -> data.DataSource:
    s = settings()
    return data.make_source(s, token, {"username": username, "tenant_id": tenant, "role": role})


def source() -> data.DataSource:
    user = st.session_state["user"]
    return _source(
        settings().dashboard_data_mode, st.session_state["token"], user["username"], user["tenant_id"], user["role"]
    )


def role_at_least(role: str) -> bool:
    from abbanoa.auth import role_allows

    return role_allows(st.session_state["user"]["role"], role)


def _key() -> tuple:
    u = st.session_state["user"]
    return (settings().dashboard_data_mode, u["tenant_id"], u["role"], st.session_state["token"])


@st.cache_data(ttl=60, show_spinner=False)
def _cached(key: tuple, method: str, *args):
    return getattr(source(), method)(*args)


def fetch(method: str, *args, **kwargs):
    """source().method(...) cached for 60 s per user; None (and a shown message) when the
    mode or a store cannot serve it."""
    try:
        source().check_user()  # a refused user gets no cached result either
        if kwargs:
            return getattr(source(), method)(*args, **kwargs)
        return _cached(_key(), method, *args)
    except data.Unavailable as exc:
        st.info(f"{method.replace('_', ' ')}: {exc}")
        return None
    except data.LoginFailed as exc:
        end_session(f"Your session has ended ({exc}); please log in again.")


def end_session(message: str) -> None:
    """Forget the session and show the login page with `message`."""
    for key in ("token", "refresh_token", "user"):
        st.session_state.pop(key, None)
    st.session_state["login_message"] = message
    st.cache_data.clear()
    st.rerun()


def time_range(label: str = "Time range", default: str = "7 days", key: str | None = None):
    choice = st.selectbox(label, list(RANGES), index=list(RANGES).index(default), key=key)
    end = now().replace(second=0, microsecond=0)
    return end - RANGES[choice], end


def local(ts: str | None) -> str:
    if not ts:
        return "—"
    return dt.datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(ZoneInfo(tz())).strftime("%d/%m/%Y %H:%M")


def empty(message: str) -> None:
    st.info(message)
