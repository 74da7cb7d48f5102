"""Water quality: parameters against limits, compliance %, excursions."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from abbanoa.analytics.compliance import LIMITS as COMPLIANCE_LIMITS
from dashboard import transforms, ui
from dashboard.views._common import metric_picker, node_picker

# One source of truth for the limits (Directive (EU) 2020/2184 and operational ranges).
LIMITS = {m: (lim.low, lim.high) for m, lim in COMPLIANCE_LIMITS.items()}


def main() -> None:
    st.title("Water quality")
    # filters
    start, end = ui.time_range(default="30 days", key="q_range")
    # fetch
    q = ui.fetch("quality", start.date(), end.date())
    if q is None:
        return
    # aggregate
    comp = pd.DataFrame(q.get("compliance") or [])
    exc = pd.DataFrame(q.get("excursions") or [])
    if comp.empty and exc.empty:
        ui.empty("No quality data in this range (the quality_compliance job has not run).")
    else:
        c = st.columns(3)
        if not comp.empty:
            pct = 100.0 * comp["compliant"].sum() / comp["samples"].sum() if comp["samples"].sum() else None
            c[0].metric("Compliance", "no data" if pct is None else f"{pct:.1f} %")
            c[1].metric("Samples", int(comp["samples"].sum()))
            by = comp.groupby("metric", as_index=False)[["samples", "compliant"]].sum()
            by["compliance_pct"] = 100.0 * by["compliant"] / by["samples"]
            fig = px.bar(
                by,
                x="metric",
                y="compliance_pct",
                labels={"compliance_pct": "compliance [%]", "metric": "parameter"},
                title="Compliance by parameter",
                range_y=[0, 100],
            )
            st.plotly_chart(fig, width="stretch")
        c[2].metric("Open excursions", int(exc["open"].sum()) if not exc.empty else 0)
        st.subheader("Excursions")
        if exc.empty:
            ui.empty("No excursions in this range.")
        else:
            st.dataframe(exc, hide_index=True, width="stretch")
    # one parameter against its limits
    st.subheader("Parameter against limits")
    node = node_picker(("quality_probe",), key="q_node")
    if node is None:
        return
    metric = metric_picker("free_chlorine", key="q_metric", kinds=("quality",))
    series = ui.fetch("readings", node["node_id"], metric, start, end, transforms.resolution_for(start, end))
    df = transforms.thin(transforms.series_frame(series or {}, ui.tz()))
    if df.empty:
        ui.empty(f"No {metric} data for {node['node_id']} in this range.")
        return
    fig = px.line(df, x="time", y="value", labels={"time": f"time ({ui.tz()})", "value": transforms.axis_label(metric)})
    low, high = LIMITS.get(metric, (None, None))
    for limit, name in ((low, "minimum"), (high, "maximum")):
        if limit is not None:
            fig.add_hline(y=limit, line_dash="dash", line_color="#c62828", annotation_text=f"{name} {limit:g}")
    st.plotly_chart(fig, width="stretch")
