"""Water quality: compliance over the range, excursions, one parameter against its limits, and
the data quality of the readings (scores per sensor and day, the quarantine)."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from abbanoa.analytics.compliance import LIMITS as COMPLIANCE_LIMITS
from abbanoa.reports import safe
from dashboard import present, transforms, ui
from dashboard.views._common import metric_picker, node_picker

# One source of truth for the limits (Directive (EU) 2020/2184 and operational ranges).
LIMITS = {m: (lim.low, lim.high) for m, lim in COMPLIANCE_LIMITS.items()}
EXCURSION_COLUMNS = ["node_id", "metric", "limit_kind", "low", "high", "start_ts", "end_ts", "peak_value", "open"]
SCORE_COLUMNS = ["day", "node_id", "metric", "quality_score", "completeness", "validity", "staleness_s",
                 "duplicates", "expected", "received"]  # fmt: skip


def main() -> None:
    st.title("Water quality")
    # filters
    start, end = ui.time_range(default="30 days", key="q_range")
    # fetch
    q = ui.fetch("quality", start.date(), end.date())
    if q is None:
        return
    # aggregate: the range's compliance (abbanoa.analytics.compliance.range_compliance, as the API)
    summary = q.get("summary") or {}
    exc = pd.DataFrame(q.get("excursions") or [])
    if not summary.get("samples") and exc.empty:
        ui.empty("No quality data in this range (the quality_compliance job has not run).")
    else:
        c = st.columns(4)
        c[0].metric("Compliance", present.number(summary.get("compliance_pct"), "%", 1))
        c[1].metric("Samples", f"{summary.get('samples', 0):,}")
        c[2].metric("Non-compliant samples", f"{summary.get('non_compliant', 0):,}")
        c[3].metric("Excursions (ongoing)", f"{summary.get('excursions', 0)} ({summary.get('open_excursions', 0)})")
        by = pd.DataFrame(
            [{"parameter": present.metric_label(m, with_unit=False), **v} for m, v in
             (summary.get("by_metric") or {}).items()]
        )  # fmt: skip
        if not by.empty:
            fig = px.bar(
                by,
                x="parameter",
                y="compliance_pct",
                labels={"compliance_pct": "compliance [%]", "parameter": "parameter"},
                title="Compliance by parameter",
                range_y=[0, 100],
            )
            st.plotly_chart(fig, width="stretch")
        st.subheader("Excursions")
        if exc.empty:
            ui.empty("No excursions in this range.")
        else:
            exc["peak_value"] = [present.reading(v, m) for v, m in zip(exc["peak_value"], exc["metric"], strict=True)]
            st.dataframe(present.table(exc, EXCURSION_COLUMNS, ui.tz()), hide_index=True, width="stretch")
    # one parameter against its limits
    st.subheader("Parameter against limits")
    node = node_picker(("quality_probe",), key="q_node")
    if node is not None:
        metric = metric_picker("free_chlorine", key="q_metric", kinds=("quality",))
        series = ui.fetch("readings", node["node_id"], metric, start, end, transforms.resolution_for(start, end))
        df = transforms.thin(transforms.series_frame(series or {}, ui.tz()))
        if df.empty:
            ui.empty(f"No {present.metric_label(metric, with_unit=False)} data for {node['node_id']} in this range.")
        else:
            fig = px.line(df, x="time", y="value", labels={"time": f"time ({ui.tz()})",
                                                           "value": present.metric_label(metric)})  # fmt: skip
            low, high = LIMITS.get(metric, (None, None))
            for limit, name in ((low, "minimum"), (high, "maximum")):
                if limit is not None:
                    fig.add_hline(y=limit, line_dash="dash", line_color="#c62828", annotation_text=f"{name} {limit:g}")
            st.plotly_chart(fig, width="stretch")
    data_quality(q)
    quarantined(start, None)  # up to now: the range ends at the minute, imports land in it


def data_quality(q: dict) -> None:
    """Scores per sensor and day (the data_quality job), lowest first."""
    st.subheader("Data quality of the readings")
    scores = pd.DataFrame(q.get("data_quality") or [])
    if scores.empty:
        ui.empty("No data-quality scores in this range (the data_quality job runs daily at 06:00).")
        return
    scores = scores.rename(columns={"score": "quality_score"})
    for col in ("completeness", "validity"):
        scores[col] = pd.to_numeric(scores[col], errors="coerce") * 100.0
    scores["staleness_s"] = pd.to_numeric(scores["staleness_s"], errors="coerce") / 60.0
    scores = scores.sort_values(["quality_score", "day"], ascending=[True, False])
    c = st.columns(2)
    c[0].metric("Mean score", present.number(pd.to_numeric(scores["quality_score"]).mean(), "%", 1))
    c[1].metric("Sensor-days below 90 %", int((pd.to_numeric(scores["quality_score"]) < 90).sum()))
    st.dataframe(present.table(scores, SCORE_COLUMNS, ui.tz()), hide_index=True, width="stretch")


QUARANTINE_COLUMNS = ["received_at", "source", "line_no", "reason", "detail", "raw"]


def quarantined(start, end=None) -> None:
    """Rows the importer set aside (never silently dropped): counts per reason, rows, download."""
    st.subheader("Quarantined rows")
    if not ui.role_at_least("operator"):
        st.info("The quarantine is visible to operators and admins.")
        return
    qr = ui.fetch("quarantine", start, end)
    if qr is None:
        return
    if not qr.get("total"):
        ui.empty("No rows were quarantined in this range.")
        return
    st.caption(
        f"{qr['total']:,} row(s) set aside: "
        + " · ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in sorted(qr["by_reason"].items()))
    )
    rows = pd.DataFrame(qr["items"])
    shown = present.table(rows, QUARANTINE_COLUMNS, ui.tz())
    st.dataframe(shown, hide_index=True, width="stretch")
    export = rows.reindex(columns=QUARANTINE_COLUMNS).assign(
        received_at=[present.export_time(v, ui.tz()) for v in rows["received_at"]]
    )
    export = pd.DataFrame([safe.row(r) for r in export.to_dict("records")])  # no formulas in a spreadsheet
    st.download_button("Download quarantined rows (CSV)", export.to_csv(index=False), "quarantine.csv", "text/csv")
