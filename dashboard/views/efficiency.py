"""Network efficiency: per district water balance, minimum night flow trend, NRW, ILI, M1a / M1b."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from dashboard import ui
from dashboard.views._common import district_efficiency


def main() -> None:
    st.title("Network efficiency")
    # filters and fetch
    df = district_efficiency("e", "30 days")
    if df is None:
        return
    # aggregate
    total = df[["net_inflow_m3", "consumption_m3", "losses_m3"]].sum(min_count=1)
    c = st.columns(4)
    c[0].metric("System input", f"{total['net_inflow_m3']:,.0f} m³" if pd.notna(total["net_inflow_m3"]) else "no data")
    c[1].metric("Consumption", f"{total['consumption_m3']:,.0f} m³" if pd.notna(total["consumption_m3"]) else "no data")
    c[2].metric("Losses", f"{total['losses_m3']:,.0f} m³" if pd.notna(total["losses_m3"]) else "no data")
    nrw = 100 * total["losses_m3"] / total["net_inflow_m3"] if total["net_inflow_m3"] else None
    c[3].metric("NRW (period)", "no data" if nrw is None or pd.isna(nrw) else f"{nrw:.1f} %")
    # charts
    balance = df.melt(id_vars="day", value_vars=["consumption_m3", "losses_m3"], var_name="component", value_name="m3")
    st.plotly_chart(
        px.bar(
            balance,
            x="day",
            y="m3",
            color="component",
            title="Daily water balance",
            labels={"day": f"day ({ui.tz()})", "m3": "volume [m³]"},
        ),
        width="stretch",
    )
    st.plotly_chart(
        px.line(
            df,
            x="day",
            y="mnf_l_s",
            title="Minimum night flow",
            markers=True,
            labels={"day": f"day ({ui.tz()})", "mnf_l_s": "MNF [l/s]"},
        ),
        width="stretch",
    )
    c = st.columns(2)
    c[0].plotly_chart(
        px.line(df, x="day", y="ili", title="ILI", labels={"day": f"day ({ui.tz()})", "ili": "ILI [-]"}),
        width="stretch",
    )
    c[1].plotly_chart(
        px.line(
            df,
            x="day",
            y=["m1a_m3_km_day"],
            title="M1a",
            labels={"day": f"day ({ui.tz()})", "value": "M1a [m³/km/day]"},
        ),
        width="stretch",
    )
    st.plotly_chart(
        px.line(
            df,
            x="day",
            y=["m1b_pct", "nrw_pct"],
            title="M1b and NRW",
            labels={"day": f"day ({ui.tz()})", "value": "[%]"},
        ),
        width="stretch",
    )
