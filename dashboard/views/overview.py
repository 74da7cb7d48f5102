"""Overview: system KPIs, a map of nodes coloured by state, latest readings."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from dashboard import transforms, ui

RANGE_CHOICES = {"Last hour": "1h", "Last 24 h": "24h", "Last 7 days": "7d", "Last 30 days": "30d"}
STATE_COLOURS = {"ok": "#2e7d32", "stale": "#f9a825", "alarm": "#c62828", "no data": "#9e9e9e"}
MAX_LATEST = 200  # nodes whose latest values are fetched for the map and table


def _fmt(value, unit: str = "", digits: int = 1) -> str:
    return "no data" if value is None else f"{value:,.{digits}f} {unit}".strip()


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
        c = st.columns(5)
        c[0].metric("Total inflow", _fmt(summary.get("total_inflow_m3"), "m³"))
        c[1].metric("Active nodes", f"{summary.get('nodes_active', 0)} / {summary.get('nodes_total', 0)}")
        c[2].metric("Stale nodes", summary.get("nodes_stale", 0))
        sev = summary.get("open_anomalies") or {}
        c[3].metric(
            "Open anomalies",
            summary.get("open_anomalies_total", 0),
            help=", ".join(f"{k}: {v}" for k, v in sev.items()),
        )
        c[4].metric("Losses", _fmt(summary.get("losses_m3"), "m³"))
        st.caption(
            "Open anomalies by severity: "
            + " · ".join(f"**{k}** {sev.get(k, 0)}" for k in ("critical", "high", "medium", "low"))
            + f" — newest reading {ui.local(summary.get('newest_reading'))}"
            + f" (source: {summary.get('source', ui.source().mode)})"
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
                "latest": ", ".join(f"{m} {r['value']:.2f} {r['unit']}" for m, r in sorted(readings.items())),
                "at": ui.local(max((r["ts"] for r in readings.values()), default=None)),
            }
        )
    df = pd.DataFrame(rows)
    # chart: a plain lon/lat scatter renders offline (no tile server needed)
    located = df.dropna(subset=["latitude", "longitude"])
    if located.empty:
        ui.empty("No node has coordinates: the map needs latitude/longitude in the nodes file.")
    else:
        fig = px.scatter(
            located,
            x="longitude",
            y="latitude",
            color="state",
            color_discrete_map=STATE_COLOURS,
            hover_name="name",
            hover_data={"node_id": True, "node_type": True, "district_id": True, "latest": True},
            labels={"longitude": "longitude [°E]", "latitude": "latitude [°N]"},
            title="Nodes by state",
        )
        fig.update_traces(marker={"size": 11, "line": {"width": 1, "color": "white"}})
        fig.update_yaxes(scaleanchor="x", scaleratio=1.25)  # ~1/cos(39°N): Sardinia's aspect
        fig.update_layout(height=480, plot_bgcolor="#eef3f7")
        st.plotly_chart(fig, width="stretch")
    st.subheader("Latest readings")
    st.dataframe(df.drop(columns=["latitude", "longitude"]), hide_index=True, width="stretch")
