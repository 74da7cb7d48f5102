"""Network efficiency: per district water balance, minimum night flow trend, losses, ILI, M1a / M1b.

Headline figures are water_balance.range_figures over the range's complete local days (the
same function the API, the KPI view and the reports use); partial days (today) are drawn
apart in the charts and never counted."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from abbanoa.analytics import water_balance
from dashboard import present, ui
from dashboard.views._common import district_efficiency

NO_BILLING = "no billing data"


def headline(figures: dict) -> list[tuple[str, str, str]]:
    """(label, value, help) of the headline metrics."""
    nrw = figures.get("nrw_pct")
    return [
        ("System input", present.number(figures["input_m3"], "m³", 0), "Net volume into the district (meters)"),
        (
            "Billed consumption",
            present.number(figures["consumption_m3"], "m³", 0) if figures["consumption_m3"] is not None
            else NO_BILLING,
            "Billed authorised consumption, where billing data is imported",
        ),
        (
            "Real losses (night-flow estimate)",
            present.number(figures["losses_m3"], "m³", 0),
            "Net night flow x night-day factor (IWA); apparent losses not included",
        ),
        ("Losses / input (M1b)", present.number(figures["m1b_pct"], "%", 1), "ARERA M1b = losses / system input"),
        (
            "Non-revenue water",
            present.number(nrw, "%", 1) if nrw is not None else NO_BILLING,
            "IWA: (system input - billed consumption) / system input; needs billing data",
        ),
    ]  # fmt: skip


def main() -> None:
    st.title("Network efficiency")
    # filters and fetch
    df = district_efficiency("e", "30 days")
    if df is None:
        return
    # aggregate: one definition of the range's figures
    figures = water_balance.range_figures(df)
    c = st.columns(5)
    for col, (label, value, hint) in zip(c, headline(figures), strict=True):
        col.metric(label, value, help=hint)
    st.caption(present.days_caption(figures, ui.tz()))
    # charts
    df = df.assign(state=df["partial"].map({True: "partial day", False: "complete day"}))
    day_axis = f"day ({ui.tz()})"
    balance = df.melt(
        id_vars=["day", "state"], value_vars=["consumption_m3", "losses_m3"], var_name="component", value_name="m3"
    )
    balance["component"] = balance["component"].map(
        {"consumption_m3": "billed consumption", "losses_m3": "real losses (estimate)"}
    )
    balance = balance.dropna(subset=["m3"])
    inflow = (
        df[["day", "net_inflow_m3", "state"]].rename(columns={"net_inflow_m3": "m3"}).assign(component="system input")
    )
    st.plotly_chart(
        px.bar(
            balance.assign(component=balance["component"]),
            x="day",
            y="m3",
            color="component",
            pattern_shape="state",
            title="Daily water balance",
            labels={"day": day_axis, "m3": "volume [m³]", "component": "", "state": ""},
        ).add_scatter(x=inflow["day"], y=inflow["m3"], mode="lines+markers", name="system input"),
        width="stretch",
    )
    st.plotly_chart(
        px.line(
            df,
            x="day",
            y="mnf_l_s",
            title="Minimum night flow",
            markers=True,
            labels={"day": day_axis, "mnf_l_s": "minimum night flow [l/s]"},
        ),
        width="stretch",
    )
    c = st.columns(2)
    c[0].plotly_chart(
        px.line(df, x="day", y="ili", title="Infrastructure Leakage Index", markers=True,
                labels={"day": day_axis, "ili": "ILI"}),
        width="stretch",
    )  # fmt: skip
    c[1].plotly_chart(
        px.line(df, x="day", y="m1a_m3_km_day", title="M1a linear water losses", markers=True,
                labels={"day": day_axis, "m1a_m3_km_day": "M1a [m³/km/day]"}),
        width="stretch",
    )  # fmt: skip
    pct = df.rename(columns={"m1b_pct": "M1b (losses / input)", "nrw_pct": "non-revenue water"})
    st.plotly_chart(
        px.line(
            pct,
            x="day",
            y=[c for c in ("M1b (losses / input)", "non-revenue water") if pct[c].notna().any()],
            title="Losses as a share of input",
            markers=True,
            labels={"day": day_axis, "value": "[%]", "variable": ""},
        ),
        width="stretch",
    )
