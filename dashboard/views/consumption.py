"""Consumption patterns: daily and weekly profiles, hour x weekday heatmap, this week vs normal."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

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
    # aggregate
    p = transforms.profiles(df)
    unit = transforms.axis_label("flow_rate")
    st.metric("Mean flow", f"{df['value'].mean():.2f} {transforms.unit_of('flow_rate')}")
    # charts
    c = st.columns(2)
    c[0].plotly_chart(
        px.line(
            p["daily"], x="hour", y="value", title="Daily profile", labels={"hour": f"hour ({ui.tz()})", "value": unit}
        ),
        width="stretch",
    )
    weekly = p["weekly"].assign(day=lambda d: d["weekday"].map(dict(enumerate(WEEKDAYS))))
    c[1].plotly_chart(
        px.bar(weekly, x="day", y="value", title="Weekly profile", labels={"day": "weekday", "value": unit}),
        width="stretch",
    )
    heat = p["heatmap"].rename(index=dict(enumerate(WEEKDAYS)))
    st.plotly_chart(
        px.imshow(
            heat,
            aspect="auto",
            title="Hour x weekday",
            labels={"x": f"hour ({ui.tz()})", "y": "weekday", "color": unit},
        ),
        width="stretch",
    )
    cmp = transforms.this_week_vs_normal(df, ui.now())
    if "normal" in cmp and cmp["normal"].notna().any():
        long = cmp.melt(id_vars="how", var_name="series", value_name="value")
        st.plotly_chart(
            px.line(
                long,
                x="how",
                y="value",
                color="series",
                title="This week against normal",
                labels={"how": "hour of week (Mon 00 = 0, local)", "value": unit},
            ),
            width="stretch",
        )
    else:
        ui.empty("Not enough history for a 'normal' week: pick a range longer than 7 days.")
