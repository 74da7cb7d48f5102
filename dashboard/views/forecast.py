"""Forecast: 7-day forecast with its interval over recent history, per district or node, and accuracy."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import transforms, ui
from dashboard.views._common import district_picker, metric_picker, node_picker


def main() -> None:
    st.title("Forecast")
    # filters
    scope = st.radio("Forecast for", ["District", "Node"], horizontal=True)
    if scope == "District":
        district = district_picker("fc_district")
        if district is None:
            return
        target, metric, history_node = f"dma:{district['district_id']}", "flow_rate", None
    else:
        node = node_picker(key="fc_node")
        if node is None:
            return
        metric = metric_picker(key="fc_metric")
        target, history_node = node["node_id"], node["node_id"]
    # fetch
    fc = ui.fetch("forecast", target, metric)
    if not fc or not fc.get("points"):
        ui.empty(f"No forecast yet for {target} / {metric}: the demand_forecast job has not produced one.")
        return
    end = ui.now()
    history = None
    if history_node:
        history = ui.fetch("readings", history_node, metric, end - dt.timedelta(days=14), end, "1h")
    # aggregate
    f = transforms.series_frame(fc, ui.tz())
    h = transforms.series_frame(history or {}, ui.tz())
    # chart
    fig = go.Figure()
    if not h.empty:
        fig.add_scatter(x=h["time"], y=h["value"], name="history (hourly mean)", line={"color": "#455a64"})
    fig.add_scatter(x=f["time"], y=f["upper"], line={"width": 0}, showlegend=False, hoverinfo="skip")
    fig.add_scatter(
        x=f["time"], y=f["lower"], fill="tonexty", line={"width": 0}, name="interval", fillcolor="rgba(21,101,192,0.2)"
    )
    fig.add_scatter(x=f["time"], y=f["value"], name=f"forecast ({fc.get('model')})", line={"color": "#1565c0"})
    fig.update_layout(
        xaxis_title=f"time ({ui.tz()})",
        yaxis_title=f"{metric} [{fc.get('unit') or transforms.unit_of(metric)}]",
        height=450,
    )
    st.plotly_chart(fig, width="stretch")
    st.caption(f"Generated {ui.local(fc.get('generated_at'))}; {len(f)} forecast points.")
    st.subheader("Tracked accuracy")
    acc = fc.get("accuracy") or []
    if acc:
        st.dataframe(pd.DataFrame(acc), hide_index=True, width="stretch")
    else:
        ui.empty("No scored forecasts yet (accuracy needs the forecast period to have passed).")
