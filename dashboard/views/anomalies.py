"""Anomalies: open and recent, filters, detail with the series around it, acknowledge / resolve."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.express as px
import streamlit as st

from dashboard import transforms, ui

STATUSES = ["open", "acknowledged", "resolved"]
SEVERITIES = ["critical", "high", "medium", "low"]


def main() -> None:
    st.title("Anomalies")
    # filters
    c = st.columns(3)
    status = c[0].multiselect("Status", STATUSES, default=["open", "acknowledged"])
    severity = c[1].multiselect("Severity", SEVERITIES, default=SEVERITIES)
    start, end = ui.time_range(default="30 days", key="an_range")
    # fetch (one request per status; at most 500 each)
    items: list[dict] = []
    for s in status:
        page = ui.fetch("anomalies", status=s, start=start, end=end, limit=500)
        items += (page or {}).get("items", [])
    items = [a for a in items if a["severity"] in severity]
    if not items:
        ui.empty("No anomalies match these filters in this range.")
        return
    # aggregate
    df = pd.DataFrame(items).sort_values("start_ts", ascending=False)
    c[2].metric("Matching anomalies", len(df))
    cols = ["anomaly_id", "severity", "status", "anomaly_type", "node_id", "district_id", "metric", "start_ts", "score"]
    st.dataframe(df[cols], hide_index=True, width="stretch")
    # detail
    chosen = st.selectbox(
        "Detail",
        df["anomaly_id"].tolist(),
        format_func=lambda i: f"#{i} {df.set_index('anomaly_id').loc[i, 'anomaly_type']}",
    )
    a = df.set_index("anomaly_id").loc[chosen].to_dict()
    st.markdown(
        f"**#{chosen}** {a['anomaly_type']} · severity **{a['severity']}** · status **{a['status']}** · "
        f"node {a['node_id']} · from {ui.local(a['start_ts'])} to {ui.local(a.get('end_ts'))} · "
        f"observed {a.get('observed_value')} vs expected {a.get('expected_value')}"
    )
    if a.get("node_id") and a.get("metric"):
        t0 = dt.datetime.fromisoformat(a["start_ts"].replace("Z", "+00:00"))
        t1 = dt.datetime.fromisoformat((a.get("end_ts") or a["start_ts"]).replace("Z", "+00:00"))
        lo, hi = t0 - dt.timedelta(hours=12), t1 + dt.timedelta(hours=12)
        series = ui.fetch("readings", a["node_id"], a["metric"], lo, hi, transforms.resolution_for(lo, hi))
        s = transforms.series_frame(series or {}, ui.tz())
        if s.empty:
            ui.empty("No readings around this anomaly.")
        else:
            fig = px.line(
                s,
                x="time",
                y="value",
                labels={"time": f"time ({ui.tz()})", "value": transforms.axis_label(a["metric"])},
            )
            fig.add_vrect(
                x0=t0, x1=max(t1, t0 + dt.timedelta(minutes=5)), fillcolor="#c62828", opacity=0.15, line_width=0
            )
            st.plotly_chart(fig, width="stretch")
    # actions: operator and admin only
    if ui.role_at_least("operator") and not ui.source().read_only:
        b = st.columns(2)
        if a["status"] == "open" and b[0].button("Acknowledge", key=f"ack{chosen}"):
            _act("acknowledge", int(chosen))
        if a["status"] != "resolved" and b[1].button("Resolve", key=f"res{chosen}"):
            _act("resolve", int(chosen))


def _act(action: str, anomaly_id: int) -> None:
    try:
        getattr(ui.source(), action)(anomaly_id)
    except ui.data.Unavailable as exc:
        st.error(f"{action} failed: {exc}")
        return
    st.cache_data.clear()
    st.success(f"Anomaly #{anomaly_id}: {action}d")
    st.rerun()
