"""Overview: system KPIs, a map of nodes coloured by state, latest readings.

The balance figures are those of the period's complete local days (abbanoa.summary,
water_balance.range_figures: the same definition as the Efficiency view); anomaly counts
are split by status and bounded by the period."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
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


def network_map(
    nodes: list[dict], located: pd.DataFrame, open_items: list[dict], rows: list[dict], pipes: list[dict] | None = None
) -> go.Figure:
    fig = go.Figure()
    if pipes:  # the network model, where one is loaded: one trace, pipes separated by gaps
        xs: list = []
        ys: list = []
        for p in pipes:
            for lon, lat in p["coordinates"]:
                xs.append(lon)
                ys.append(lat)
            xs.append(None)
            ys.append(None)
        fig.add_scatter(x=xs, y=ys, mode="lines", name="pipes", line={"color": "#90a4ae", "width": 1.2},
                        hoverinfo="skip")  # fmt: skip
    for district, ring in transforms.district_outlines(nodes).items():
        xs, ys = zip(*ring, strict=True)
        fig.add_scatter(x=xs, y=ys, fill="toself", mode="lines", name=f"district {district}",
                        line={"color": "#78909c", "width": 1}, fillcolor="rgba(120,144,156,0.10)",
                        hoverinfo="name")  # fmt: skip
    pressure = [
        (r["longitude"], r["latitude"], r["pressure"]) for r in rows
        if r.get("pressure") is not None and r.get("latitude") is not None
    ]  # fmt: skip
    if pressure:
        x, y, p = zip(*pressure, strict=True)
        fig.add_scatter(x=x, y=y, mode="markers", name="pressure [bar]", hovertemplate="%{marker.color:.2f} bar",
                        marker={"size": 34, "color": p, "colorscale": "Blues", "opacity": 0.45,
                                "colorbar": {"title": "bar", "x": 1.02, "len": 0.5}})  # fmt: skip
    for state, colour in STATE_COLOURS.items():
        part = located[located["state"] == state]
        if part.empty:
            continue
        fig.add_scatter(
            x=part["longitude"], y=part["latitude"], mode="markers", name=state,
            marker={"size": 11, "color": colour, "line": {"width": 1, "color": "white"}},
            text=[f"{r.node_id} · {r.name or ''}<br>{str(r.node_type).replace('_', ' ')}<br>{r.latest}"
                  for r in part.itertuples()],
            hoverinfo="text",
        )  # fmt: skip
    where = located.set_index("node_id")[["longitude", "latitude"]]
    pins = [a for a in open_items if a.get("node_id") in where.index]
    if pins:
        fig.add_scatter(
            x=[where.loc[a["node_id"], "longitude"] for a in pins],
            y=[where.loc[a["node_id"], "latitude"] for a in pins],
            mode="markers", name="open event",
            marker={"symbol": "x", "size": 16, "color": "#b71c1c", "line": {"width": 2, "color": "#b71c1c"}},
            text=[f"#{a['anomaly_id']} {a['anomaly_type'].replace('_', ' ')} ({a['severity']})" for a in pins],
            hoverinfo="text",
        )  # fmt: skip
    fig.update_yaxes(scaleanchor="x", scaleratio=1.25, title="latitude [°N]")  # ~1/cos(39°N)
    fig.update_xaxes(title="longitude [°E]")
    fig.update_layout(height=520, plot_bgcolor="#f4f6f8", title="Network: districts, nodes by state, open events")
    return fig


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
                "pressure": (readings.get("pressure") or {}).get("value"),
            }
        )
    df = pd.DataFrame(rows)
    # chart: drawn offline (no tile server): district outlines, nodes by state, pressure
    # shading of the loggers, and the open events pinned where they are
    located = df.dropna(subset=["latitude", "longitude"])
    if located.empty:
        ui.empty("No node has coordinates: the map needs latitude/longitude in the nodes file.")
    else:
        pipes = ui.fetch("pipes") if ui.source().mode != "fallback" else None
        st.plotly_chart(network_map(nodes, located, (open_page or {}).get("items", []), rows, pipes), width="stretch")
    st.subheader("Latest readings")
    st.dataframe(
        present.table(df, ["node_id", "name", "node_type", "district_id", "state", "latest", "at"], ui.tz()),
        hide_index=True,
        width="stretch",
    )
