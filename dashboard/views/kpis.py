"""KPI dashboard: the range's loss KPIs (complete local days), beside the previous period of
the same length, with the ARERA M1 class; daily series against their targets."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from abbanoa.analytics import kpi, water_balance
from dashboard import present, transforms, ui
from dashboard.views._common import district_picker

# Targets: ARERA RQTI (delibera 917/2017) class A for M1a (< 12 m3/km/day) and M1b (< 25 %);
# ILI band A (< 2) of the World Bank Institute banding (Liemberger et al., 2007); NRW 20 %
# a common utility goal.
TARGETS = {
    "m1a_m3_km_day": ("M1a linear water losses", "m³/km/day", 12.0),
    "m1b_pct": ("M1b losses / system input", "%", 25.0),
    "ili": ("Infrastructure Leakage Index", "", 2.0),
    "nrw_pct": ("Non-revenue water", "%", 20.0),
}


def main() -> None:
    st.title("KPI dashboard")
    # filters
    district = district_picker("kpi_district")
    if district is None:
        return
    start, end = ui.time_range(default="90 days", key="kpi_range")
    # fetch: this range and the one before it, of the same length
    eff = ui.fetch("efficiency", district["district_id"], "day", start, end)
    items = (eff or {}).get("items") or []
    if not items:
        ui.empty("No data for this district in this range (the network_efficiency job has not run).")
        return
    before = ui.fetch("efficiency", district["district_id"], "day", start - (end - start), start)
    # aggregate: one definition (water_balance.range_figures), as the API and the reports
    now_fig = water_balance.range_figures(items)
    prev_fig = water_balance.range_figures((before or {}).get("items") or [])
    cols = st.columns(len(TARGETS) + 1)
    for col, (key, (label, unit, target)) in zip(cols, TARGETS.items(), strict=False):
        value, previous = now_fig.get(key), prev_fig.get(key)
        if value is None and key == "nrw_pct":
            col.metric(label, "no billing data", help="NRW needs billed consumption; none is imported")
            continue
        delta = None if value is None or previous is None else f"{value - previous:+.2f} vs previous period"
        col.metric(
            label,
            present.number(value, unit, 2),
            delta,
            delta_color="inverse",
            help=f"target {target:g} {unit}; previous period {present.number(previous, unit, 2)}",
        )
    m1 = kpi.arera_m1_class(now_fig["m1a_m3_km_day"], now_fig["m1b_pct"])
    m1_prev = kpi.arera_m1_class(prev_fig["m1a_m3_km_day"], prev_fig["m1b_pct"])
    cols[-1].metric("ARERA M1 class", m1 or "—", help=f"previous period: {m1_prev or '—'} (A best, E worst)")
    st.caption(
        present.days_caption(now_fig, ui.tz())
        + f". Previous period: {present.days_caption(prev_fig, ui.tz())}"
        + f"; ARERA class previous period: {m1_prev or '—'}."
    )
    # charts: every day, partial ones marked
    df = transforms.efficiency_frame(items, ui.tz())
    df["day state"] = df["partial"].map({True: "partial", False: "complete"})
    for key, (label, unit, target) in TARGETS.items():
        if df[key].notna().any():
            axis = f"{label} [{unit}]" if unit else label
            fig = px.line(df, x="day", y=key, title=label, markers=True, symbol="day state",
                          labels={"day": f"day ({ui.tz()})", key: axis, "day state": ""})  # fmt: skip
            fig.add_hline(y=target, line_dash="dash", line_color="#c62828", annotation_text=f"target {target:g} {unit}")
            fig.update_layout(height=300)
            st.plotly_chart(fig, width="stretch")
