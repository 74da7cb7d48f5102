"""Consumption patterns: daily and weekly profiles, hour x weekday heatmap, the last week against
the typical one; all from abbanoa.analytics.patterns."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from abbanoa.analytics import patterns
from dashboard import transforms, ui
from dashboard.views._common import node_picker

WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def main() -> None:
    st.title("Consumption patterns")
    # filters
    node = node_picker(("flow_meter",), key="c_node")
    if node is None:
        return
    start, end = ui.time_range(default="30 days", key="c_range")
    # fetch: hourly means (at most 8,760 per year; the profiles aggregate them)
    series = ui.fetch("readings", node["node_id"], "flow_rate", start, end, "1h")
    df = transforms.series_frame(series or {}, ui.tz())
    if df.empty:
        ui.empty(f"No flow data for {node['node_id']} in this range.")
        return
    # aggregate: the same profiles the analytics use (abbanoa.analytics.patterns)
    hourly = df.set_index("time")["value"]
    daily = patterns.daily_profile(hourly, ui.tz())
    weekly = patterns.weekly_profile(hourly, ui.tz())
    unit = transforms.axis_label("flow_rate")
    st.metric("Mean flow", f"{df['value'].mean():.2f} {transforms.unit_of('flow_rate')}")
    # charts
    c = st.columns(2)
    band = daily.melt(id_vars="hour", value_vars=["p10", "mean", "p90"], var_name="series", value_name="value")
    c[0].plotly_chart(
        px.line(
            band,
            x="hour",
            y="value",
            color="series",
            title="Daily profile (mean, 10th and 90th percentile)",
            labels={"hour": f"hour ({ui.tz()})", "value": unit},
        ),
        width="stretch",
    )
    by_day = weekly.groupby("weekday", as_index=False)["mean"].mean()
    by_day["day"] = by_day["weekday"].map(dict(enumerate(WEEKDAYS)))
    c[1].plotly_chart(
        px.bar(by_day, x="day", y="mean", title="Weekly profile", labels={"day": "weekday", "mean": unit}),
        width="stretch",
    )
    heat = patterns.heatmap(hourly, ui.tz()).rename(index=dict(enumerate(WEEKDAYS)))
    st.plotly_chart(
        px.imshow(
            heat,
            aspect="auto",
            title="Hour x weekday",
            labels={"x": f"hour ({ui.tz()})", "y": "weekday", "color": unit},
        ),
        width="stretch",
    )
    week = patterns.week_against_typical(hourly, ui.tz(), pd.Timestamp(ui.now()))
    if week["typical"].notna().any():
        departure = patterns.current_week_departure(hourly, ui.tz(), pd.Timestamp(ui.now()))
        st.caption(
            f"Last 7 days: {departure['ratio']:.2f} x the typical week's volume, "
            f"{departure['mean_abs_departure_pct']:.1f}% mean hourly departure ({departure['hours']} hours compared)."
            if departure["ratio"] is not None
            else "Last 7 days: no typical volume to compare with."
        )
        long = week.rename(columns={"value": "this week", "typical": "typical"}).melt(
            id_vars="ts", value_vars=["this week", "typical"], var_name="series", value_name="value"
        )
        st.plotly_chart(
            px.line(
                long,
                x="ts",
                y="value",
                color="series",
                title="The last 7 days against the typical week before them",
                labels={"ts": "time", "value": unit},
            ),
            width="stretch",
        )
    else:
        ui.empty("Not enough history for a typical week: pick a range longer than 7 days.")
