"""Forecast: 7-day forecast with its interval over recent history, per district or node, and accuracy."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import present, transforms, ui
from dashboard.views._common import district_picker, metric_picker, node_picker

HISTORY_DAYS = 14
NON_NEGATIVE = {"flow_rate", "total_flow", "level", "turbidity", "free_chlorine", "conductivity"}


def district_history(items: list[dict], tz: str) -> pd.DataFrame:
    """Hourly network_efficiency rows -> time (local) and mean net inflow (l/s)."""
    if not items:
        return pd.DataFrame(columns=["time", "value"])
    df = pd.DataFrame(items)
    df["time"] = pd.to_datetime(df["period_start"], utc=True).dt.tz_convert(tz)
    df["value"] = pd.to_numeric(df["net_inflow_m3"], errors="coerce") / 3.6
    return df[["time", "value"]].sort_values("time")


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
    since = end - dt.timedelta(days=HISTORY_DAYS)
    if history_node:
        history = ui.fetch("readings", history_node, metric, since, end, "1h")
        h = transforms.series_frame(history or {}, ui.tz())
    else:  # a district: its hourly net inflow from the water balance (m3 per hour -> l/s)
        hours = ui.fetch("efficiency", target[4:], "hour", since, end)
        h = district_history((hours or {}).get("items") or [], ui.tz())
    # aggregate
    f = transforms.series_frame(fc, ui.tz())
    if metric in NON_NEGATIVE and not f.empty:  # a flow into a district is not below 0
        f["lower"] = f["lower"].clip(lower=0.0)
    # chart
    fig = go.Figure()
    if not h.empty:
        fig.add_scatter(x=h["time"], y=h["value"], name="actual (hourly mean)", line={"color": "#455a64"})
    fig.add_scatter(x=f["time"], y=f["upper"], line={"width": 0}, showlegend=False, hoverinfo="skip")
    fig.add_scatter(
        x=f["time"], y=f["lower"], fill="tonexty", line={"width": 0}, name="interval", fillcolor="rgba(21,101,192,0.2)"
    )
    fig.add_scatter(x=f["time"], y=f["value"], name=f"forecast ({fc.get('model')})", line={"color": "#1565c0"})
    fig.update_layout(
        xaxis_title=f"time ({ui.tz()})",
        yaxis_title=present.metric_label(metric),
        height=450,
    )
    st.plotly_chart(fig, width="stretch")
    st.caption(
        f"Generated {present.local_time(fc.get('generated_at'), ui.tz())}; {len(f)} forecast points; "
        f"{HISTORY_DAYS} days of actuals overlaid."
    )
    st.subheader("Tracked accuracy")
    acc = fc.get("accuracy") or []
    if acc:
        st.dataframe(
            present.table(pd.DataFrame(acc), ["model", "generated_at", "points", "mae", "mape", "coverage"], ui.tz()),
            hide_index=True,
            width="stretch",
        )
    else:
        ui.empty("No scored forecasts yet (accuracy needs the forecast period to have passed).")
