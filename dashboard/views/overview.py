"""Overview: system KPIs, a map of nodes coloured by state, latest readings.

The balance figures are those of the period's complete local days (abbanoa.summary,
water_balance.range_figures: the same definition as the Efficiency view); anomaly counts
are split by status and bounded by the period."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from dashboard import present, transforms, ui

RANGE_CHOICES = {"Last hour": "1h", "Last 24 h": "24h", "Last 7 days": "7d", "Last 30 days": "30d"}
STATE_COLOURS = {"ok": "#2e7d32", "stale": "#f9a825", "alarm": "#c62828", "no data": "#9e9e9e"}
MAX_LATEST = 200  # nodes whose latest values are fetched for the map and table


def balance_caption(balance: dict, tz: str) -> str:
    if not balance or not balance.get("days"):
        return "Water balance: no complete local day yet."
    first, last = present.local_day(balance["first_day"], tz), present.local_day(balance["last_day"], tz)
    span = first if first == last else f"{first} – {last}"
    return f"Water balance over {balance['days']} complete day{'s' if balance['days'] != 1 else ''} ({span})"


def main() -> None:
    st.title("Overview")
    # filters
    label = st.selectbox("Period", list(RANGE_CHOICES), index=1)
    # fetch
    summary = ui.fetch("summary", RANGE_CHOICES[label])
    nodes = ui.fetch("nodes") or []
    open_page = ui.fetch("anomalies", status="open", limit=500)
    # KPIs
    if summary:
        balance = summary.get("balance") or {}
        by_status = summary.get("anomalies_by_status") or {}
        c = st.columns(6)
        c[0].metric("System input", present.number(balance.get("input_m3"), "m³", 0))
        c[1].metric(
            "Real losses (estimate)",
            present.number(balance.get("losses_m3"), "m³", 0),
            help="Night-flow estimate of real losses over the complete days named below",
        )
        c[2].metric("Active nodes", f"{summary.get('nodes_active', 0)} / {summary.get('nodes_total', 0)}")
        c[3].metric("Stale nodes", summary.get("nodes_stale", 0))
        sev = summary.get("open_anomalies") or {}
        c[4].metric(
            "Open anomalies",
            summary.get("open_anomalies_total", 0),
            help="Not yet acknowledged, in this period; by severity: " + ", ".join(f"{k} {v}" for k, v in sev.items()),
        )
        c[5].metric("Acknowledged / resolved", f"{by_status.get('acknowledged', 0)} / {by_status.get('resolved', 0)}")
        st.caption(
            balance_caption(balance, ui.tz())
            + ". Open anomalies by severity: "
            + " · ".join(f"**{k}** {sev.get(k, 0)}" for k in ("critical", "high", "medium", "low"))
            + f" — newest reading {present.local_time(summary.get('newest_reading'), ui.tz())}"
            + f", figures of {present.local_time(summary.get('generated_at'), ui.tz())}"
        )
    if not nodes:
        ui.empty("No nodes registered for this tenant yet: import a nodes file.")
        return
    # aggregate
    open_nodes = {a["node_id"] for a in (open_page or {}).get("items", []) if a.get("node_id")}
    rows = []
    for node in nodes[:MAX_LATEST]:
        latest = ui.fetch("latest", node["node_id"]) if ui.source().mode != "fallback" else None
        state = transforms.node_state(node, latest, ui.now(), open_nodes)
        readings = (latest or {}).get("readings") or {}
        rows.append(
            {
                **{k: node.get(k) for k in ("node_id", "name", "node_type", "district_id", "latitude", "longitude")},
                "state": state,
                "latest": ", ".join(
                    f"{present.metric_label(m, with_unit=False)} {present.reading(r['value'], m)}"
                    for m, r in sorted(readings.items())
                )
                or present.MISSING,
                "at": max((r["ts"] for r in readings.values()), default=None),
            }
        )
    df = pd.DataFrame(rows)
    # chart: a plain lon/lat scatter renders offline (no tile server needed)
    located = df.dropna(subset=["latitude", "longitude"])
    if located.empty:
        ui.empty("No node has coordinates: the map needs latitude/longitude in the nodes file.")
    else:
        shown = located.assign(
            at_local=[present.local_time(v, ui.tz()) for v in located["at"]],
            district=located["district_id"].fillna(present.MISSING),
        )
        fig = px.scatter(
            shown,
            x="longitude",
            y="latitude",
            color="state",
            color_discrete_map=STATE_COLOURS,
            hover_name="name",
            hover_data={"node_id": True, "node_type": True, "district": True, "latest": True, "at_local": True,
                        "longitude": False, "latitude": False},
            labels={"longitude": "longitude [°E]", "latitude": "latitude [°N]", "at_local": "at", "state": "state",
                    "node_id": "node", "node_type": "type"},
            title="Nodes by state",
        )  # fmt: skip
        fig.update_traces(marker={"size": 11, "line": {"width": 1, "color": "white"}})
        fig.update_yaxes(scaleanchor="x", scaleratio=1.25)  # ~1/cos(39°N): Sardinia's aspect
        fig.update_layout(height=480, plot_bgcolor="#eef3f7")
        st.plotly_chart(fig, width="stretch")
    st.subheader("Latest readings")
    st.dataframe(
        present.table(df, ["node_id", "name", "node_type", "district_id", "state", "latest", "at"], ui.tz()),
        hide_index=True,
        width="stretch",
    )
