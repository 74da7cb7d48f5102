"""Reports: a district report for any period as PDF (charts and tables), CSV and Excel."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import streamlit as st

from abbanoa.reports import district as report
from dashboard import present, ui
from dashboard.views._common import district_picker


def main() -> None:
    st.title("Reports")
    # filters
    district = district_picker("r_district")
    if district is None:
        return
    today = ui.now().astimezone(ZoneInfo(ui.tz())).date()
    # default: the newest ended month with figures (not an empty "last month")
    months = ui.fetch("efficiency", district["district_id"], "month", ui.now() - dt.timedelta(days=400), ui.now())
    first, last = report.default_period((months or {}).get("items") or [], today, ui.tz())
    period = st.date_input("Period (local days)", value=(first, last), format="DD/MM/YYYY")
    if not isinstance(period, tuple) or len(period) != 2:
        st.info("Pick a start and an end day.")
        return
    zone = ZoneInfo(ui.tz())
    start = dt.datetime.combine(period[0], dt.time(), zone).astimezone(dt.UTC)
    end = dt.datetime.combine(period[1] + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.UTC)
    # fetch
    eff = ui.fetch("efficiency", district["district_id"], "day", start, end)
    p0, p1 = report.previous_period(period[0], period[1])
    before = ui.fetch(
        "efficiency",
        district["district_id"],
        "day",
        dt.datetime.combine(p0, dt.time(), zone).astimezone(dt.UTC),
        dt.datetime.combine(p1 + dt.timedelta(days=1), dt.time(), zone).astimezone(dt.UTC),
    )
    page = ui.fetch("anomalies", district_id=district["district_id"], start=start, end=end, limit=500)
    data = report.ReportData(
        district=district,
        start=period[0],
        end=period[1],
        efficiency=(eff or {}).get("items") or [],
        anomalies=(page or {}).get("items") or [],
        timezone=ui.tz(),
        previous=(before or {}).get("items") or [],
    )
    if not data.efficiency and not data.anomalies:
        ui.empty("No data for this district in this range.")
        return
    t = report.totals(data)
    st.write(
        f"{present.days_caption(t, ui.tz())}; {len(data.anomalies)} anomalies. ARERA M1 class "
        f"{t['arera_class'] or '—'} (previous period {report.totals(data, previous=True)['arera_class'] or '—'})."
    )
    name = f"report_{district['district_id']}_{period[0]}_{period[1]}"
    c = st.columns(3)
    if c[0].button("Build PDF"):
        st.session_state["report_pdf"] = (name, report.to_pdf(data))
    if "report_pdf" in st.session_state and st.session_state["report_pdf"][0] == name:
        c[0].download_button("Download PDF", st.session_state["report_pdf"][1], f"{name}.pdf", "application/pdf")
    c[1].download_button("Download CSV", report.to_csv(data), f"{name}.csv", "text/csv")
    c[2].download_button(
        "Download Excel",
        report.to_excel(data),
        f"{name}.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
