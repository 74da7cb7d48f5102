"""KPI dashboard: efficiency and service KPIs over time against their targets."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from dashboard import ui
from dashboard.views._common import district_efficiency

# Targets: ARERA RQTI (delibera 917/2017) classes A for M1a (< 12 m3/km/day) and M1b (< 25 %);
# ILI band A (< 2) of the World Bank Institute banding (Liemberger et al., 2007); NRW 20 %
# a common utility goal; service KPIs as shown.
TARGETS = {
    "m1a_m3_km_day": ("M1a linear water losses", "m³/km/day", 12.0),
    "m1b_pct": ("M1b percentage water losses", "%", 25.0),
    "ili": ("ILI infrastructure leakage index", "-", 2.0),
    "nrw_pct": ("Non-revenue water", "%", 20.0),
}


def main() -> None:
    st.title("KPI dashboard")
    # filters and fetch
    df = district_efficiency("kpi", "90 days")
    if df is None:
        return
    # aggregate
    latest = df.iloc[-1]
    cols = st.columns(len(TARGETS))
    for col, (key, (label, unit, target)) in zip(cols, TARGETS.items(), strict=True):
        value = latest.get(key)
        shown = "no data" if pd.isna(value) else f"{value:.2f} {unit}"
        delta = None if pd.isna(value) else f"{value - target:+.2f} vs target {target:g}"
        col.metric(label, shown, delta, delta_color="inverse")
    # chart
    for key, (label, unit, target) in TARGETS.items():
        if df[key].notna().any():
            fig = px.line(df, x="day", y=key, title=label, labels={"day": f"day ({ui.tz()})", key: f"{label} [{unit}]"})
            fig.add_hline(y=target, line_dash="dash", line_color="#c62828", annotation_text=f"target {target:g} {unit}")
            fig.update_layout(height=300)
            st.plotly_chart(fig, width="stretch")
