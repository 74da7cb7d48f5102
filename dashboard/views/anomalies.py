"""Anomalies as events: one incident per root cause, counts by status for the period, the
detail with the series around it, and the workflow (acknowledge, resolve, reopen, assign,
comment, history). An action confirms what it did and keeps the operator on the same event."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.express as px
import streamlit as st

from abbanoa.analytics import incidents
from dashboard import present, transforms, ui

STATUSES = ["open", "acknowledged", "resolved"]
SEVERITIES = ["critical", "high", "medium", "low"]
TABLE = ["anomaly_id", "severity", "status", "anomaly_type", "node_id", "district_id", "members", "start_ts",
         "end_ts", "estimated_flow_l_s", "estimated_volume_m3", "assigned_to"]  # fmt: skip
DETAIL_KEY = "an_detail"
FLASH_KEY = "an_flash"
KEEP_KEY = "an_keep"


def _ts(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def as_incidents(items: list[dict], now: dt.datetime) -> list[dict]:
    """incidents.group on the API's rows (ISO times); an end in the future is shown as now."""
    rows = [{**a, "start_ts": _ts(a["start_ts"]), "end_ts": min(_ts(a.get("end_ts")) or now, now)} for a in items]
    grouped = incidents.group(rows)
    by_id = {a["anomaly_id"]: a for a in rows}
    for g in grouped:
        g["member_ids"] = g["members"]
        g["member_status"] = {i: by_id[i]["status"] for i in g["members"]}
        g["members"] = symptoms(g, [by_id[i] for i in g["members"]])
        g["start_ts"], g["end_ts"] = g["start_ts"].isoformat(), g["end_ts"].isoformat()  # fmt: skip
    return grouped


def symptoms(incident: dict, members: list[dict]) -> str:
    """What an incident is made of, for people: a probe's outage lists its parameters; the
    hydraulic symptoms of one burst say what was seen where ("burst: district inflow ·
    pressure drop: SEL-PL-01, SEL-PL-02")."""
    if len(members) > 1 and len({m.get("node_id") for m in members}) > 1:
        seen: dict[str, list[str]] = {}
        for m in sorted(members, key=lambda m: (m["anomaly_type"] != "burst", m.get("node_id") or "")):
            where = m.get("node_id") or "district inflow"
            what = seen.setdefault(str(m["anomaly_type"]).replace("_", " "), [])
            if where not in what:
                what.append(where)
        return " · ".join(f"{what}: {', '.join(where)}" for what, where in seen.items())
    if len(members) > 1:
        return ", ".join(present.metric_label(m, with_unit=False) for m in incident["metrics"])
    return present.metric_label(incident["metric"], with_unit=False) if incident.get("metric") else "—"


def main() -> None:
    st.title("Anomalies")
    flash = st.session_state.pop(FLASH_KEY, None)
    if flash:
        st.success(flash)
        st.toast(flash)
    # filters
    c = st.columns(3)
    status = c[0].multiselect("Status", STATUSES, default=["open", "acknowledged"])
    severity = c[1].multiselect("Severity", SEVERITIES, default=SEVERITIES)
    start, end = ui.time_range(default="30 days", key="an_range")
    # fetch every status once: the counts are of the period whatever the filter
    by_status: dict[str, list[dict]] = {}
    for s in STATUSES:
        page = ui.fetch("anomalies", status=s, start=start, end=end, limit=500)
        by_status[s] = [a for a in (page or {}).get("items", []) if a["severity"] in severity]
    counts = st.columns(3)
    for col, s in zip(counts, STATUSES, strict=True):
        col.metric(s.capitalize(), len(as_incidents(by_status[s], ui.now())), help="incidents in the period")
    items = [a for s in status for a in by_status[s]]
    keep = st.session_state.pop(KEEP_KEY, None)  # the event just acted on stays in view
    if keep is not None and keep not in {a["anomaly_id"] for a in items}:
        items += [a for s in STATUSES for a in by_status[s] if a["anomaly_id"] == keep]
    if not items:
        ui.empty("No anomalies match these filters in this range.")
        return
    # aggregate: one incident per root cause
    events = as_incidents(items, ui.now())
    df = pd.DataFrame(events)
    st.dataframe(present.table(df, TABLE, ui.tz()), hide_index=True, width="stretch")
    # detail: the chosen event stays chosen across actions
    ids = df["anomaly_id"].tolist()
    if keep in ids:
        st.session_state[DETAIL_KEY] = keep
    elif st.session_state.get(DETAIL_KEY) not in ids:
        st.session_state.pop(DETAIL_KEY, None)
    by_id = df.set_index("anomaly_id")
    chosen = st.selectbox(
        "Detail",
        ids,
        key=DETAIL_KEY,
        format_func=lambda i: (
            f"#{i} {str(by_id.loc[i, 'anomaly_type']).replace('_', ' ')} · "
            f"{by_id.loc[i, 'node_id'] or by_id.loc[i, 'district_id']}"
        ),
    )
    a = by_id.loc[chosen].to_dict()
    detail(int(chosen), a)
    actions(int(chosen), a)


def detail(anomaly_id: int, a: dict) -> None:
    unit = present.unit(a["metric"]) if isinstance(a.get("metric"), str) else ""
    lines = [
        f"**#{anomaly_id}** {str(a['anomaly_type']).replace('_', ' ')} · severity **{a['severity']}** · "
        f"status **{a['status']}** · {a.get('node_id') or a.get('district_id')}",
        f"from {present.local_time(a['start_ts'], ui.tz())} to {present.local_time(a.get('end_ts'), ui.tz())}"
        f" · observed {present.number(a.get('observed_value'), unit)} against expected "
        f"{present.number(a.get('expected_value'), unit)}",
    ]
    if present.finite(a.get("estimated_flow_l_s")):
        lines.append(
            f"estimated loss **{present.number(a['estimated_flow_l_s'], 'l/s', 1)}**, "
            f"**{present.number(a.get('estimated_volume_m3'), 'm³', 0)}** lost so far"
        )
    if len(a.get("member_ids") or []) > 1:
        ids = ", ".join(f"#{i}" for i in a["member_ids"])
        lines.append(f"one incident of {len(a['member_ids'])} anomalies ({ids}): {a['members']}")
    if a.get("assigned_to"):
        lines.append(f"assigned to **{a['assigned_to']}**")
    if a.get("resolution"):
        lines.append(f"resolution: {a['resolution']}")
    st.markdown("  \n".join(lines))
    localisation(a.get("localisation"))
    if a.get("node_id") and isinstance(a.get("metric"), str):
        t0, t1 = _ts(a["start_ts"]), _ts(a.get("end_ts") or a["start_ts"])
        lo, hi = t0 - dt.timedelta(hours=12), t1 + dt.timedelta(hours=12)
        series = ui.fetch("readings", a["node_id"], a["metric"], lo, hi, transforms.resolution_for(lo, hi))
        s = transforms.series_frame(series or {}, ui.tz())
        if s.empty:
            ui.empty("No readings around this anomaly.")
        else:
            fig = px.line(s, x="time", y="value",
                          labels={"time": f"time ({ui.tz()})", "value": present.metric_label(a["metric"])})  # fmt: skip
            fig.add_vrect(x0=t0, x1=max(t1, t0 + dt.timedelta(minutes=5)), fillcolor="#c62828", opacity=0.15,
                          line_width=0)  # fmt: skip
            st.plotly_chart(fig, width="stretch")
    hist = ui.fetch("history", anomaly_id)
    if hist and hist.get("items"):
        with st.expander("History"):
            st.dataframe(
                pd.DataFrame(
                    [{"When": present.local_time(e["at"], ui.tz()), "Who": e["actor"],
                      "What": e["action"].replace("_", " "), "Note": e.get("note") or ""} for e in hist["items"]]
                ),
                hide_index=True,
                width="stretch",
            )  # fmt: skip


def localisation(results) -> None:
    """Where is the leak (issue 20): each method's ranked places, confidence and area."""
    if not isinstance(results, list) or not results:
        return
    from dashboard.localisation_figures import METHOD_LABELS, area_map, ranked_table

    with st.expander("Where is the leak", expanded=True):
        cols = st.columns(len(results))
        for col, result in zip(cols, results, strict=True):
            col.markdown(
                f"**{METHOD_LABELS.get(result['method'], result['method'])}** · confidence "
                f"{present.number(result.get('confidence'), '', 2)}"
                + (f" · radius {present.number(result.get('radius_m'), 'm', 0)}" if result.get("radius_m") else "")
            )
            col.dataframe(ranked_table(result), hide_index=True, width="stretch")
            if result.get("pipes"):
                col.caption("pipes at the top junction: " + ", ".join(result["pipes"]))
        fig = area_map(results)
        if fig is not None:
            st.plotly_chart(fig, width="stretch")


def actions(anomaly_id: int, a: dict) -> None:
    """Operator and admin only; each confirms and keeps this event selected. Acknowledge,
    resolve, reopen and assign act on every anomaly of the incident (one root cause, one
    action); a comment goes on the incident's lead."""
    if not ui.role_at_least("operator") or ui.source().read_only:
        return
    statuses = a.get("member_status") or {anomaly_id: a["status"]}
    b = st.columns(3)
    if a["status"] == "open" and b[0].button("Acknowledge", key=f"ack{anomaly_id}"):
        _act("acknowledge", anomaly_id, [i for i, s in statuses.items() if s == "open"])
    if a["status"] != "resolved" and b[1].button("Resolve", key=f"res{anomaly_id}"):
        _act("resolve", anomaly_id, [i for i, s in statuses.items() if s != "resolved"])
    if a["status"] == "resolved" and b[2].button("Reopen", key=f"reo{anomaly_id}"):
        _act("reopen", anomaly_id, [i for i, s in statuses.items() if s == "resolved"])
    with st.form(f"work{anomaly_id}", clear_on_submit=True):
        c = st.columns(2)
        assignee = c[0].text_input("Assign to (username)")
        note = c[1].text_input("Comment")
        if st.form_submit_button("Save"):
            if assignee.strip():
                _act("assign", anomaly_id, list(statuses), assignee.strip())
            if note.strip():
                _act("comment", anomaly_id, [anomaly_id], note.strip())


DONE = {"acknowledge": "acknowledged", "resolve": "resolved", "reopen": "reopened", "assign": "assigned",
        "comment": "commented"}  # fmt: skip


def _act(action: str, anomaly_id: int, ids: list[int], *args) -> None:
    """The action on each of `ids` (the incident's members it applies to), then a
    confirmation naming the incident by its lead, and the same event kept selected."""
    ids = [anomaly_id, *sorted(i for i in ids if i != anomaly_id)] if anomaly_id in ids else sorted(ids)
    try:
        for i in ids:
            getattr(ui.source(), action)(i, *args)
    except ui.data.Unavailable as exc:
        st.error(f"{action} failed: {exc}")
        return
    st.cache_data.clear()
    who = st.session_state["user"]["username"]
    what = f"Anomaly #{anomaly_id}" if len(ids) <= 1 else f"Incident #{anomaly_id} ({len(ids)} anomalies)"
    st.session_state[FLASH_KEY] = (
        f"{what} {DONE[action]}{' to ' + args[0] if action == 'assign' else ''} by {who} at "
        f"{present.local_time(ui.now(), ui.tz())}."
    )
    st.session_state[KEEP_KEY] = anomaly_id  # stay on this event
    st.rerun()
