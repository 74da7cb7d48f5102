"""Performance monitor: job runs per job ("run now" for the platform operator), API latency and cache hit rate,
freshness."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import streamlit as st

from dashboard import data, present, transforms, ui

JOBS = (
    "realtime_sync",
    "daily_sync",
    "cache_refresh",
    "anomaly_detection",
    "network_efficiency",
    "quality_compliance",
    "demand_forecast",
    "data_quality",
    "weekly_cleanup",
)


def run_now() -> None:
    """Queue a run (a message to the job's topic) and follow it through its job_runs row."""
    c = st.columns([3, 1])
    job = c[0].selectbox("Job", JOBS)
    if c[1].button("Run now"):
        try:
            answer = ui.source().run_job(job)
            st.session_state["run_now"] = (job, answer["message_id"])
        except Exception as exc:  # a refused or failed publish is shown, not raised
            st.error(f"{job} could not be queued: {exc}")
    if "run_now" in st.session_state:
        job, message_id = st.session_state["run_now"]
        run = ui.source().job_run(message_id)
        if run is None:
            st.info(f"{job}: queued (message {message_id}); no run recorded yet")
        else:
            st.info(f"{job}: run {run['run_id']} {run['status']} (started {ui.local(run['started_at'])})")
        st.button("Refresh run status")


def main() -> None:
    st.title("Performance monitor")
    # fetch
    summary = ui.fetch("summary", "24h")
    runs = ui.fetch("job_runs", 200) if ui.role_at_least("operator") else None
    metrics_text = data.api_metrics_text(ui.settings())
    # data freshness
    st.subheader("Data freshness")
    if summary:
        newest = summary.get("newest_reading")
        age = (ui.now() - pd.Timestamp(newest).to_pydatetime()).total_seconds() / 60 if newest else None
        c = st.columns(3)
        c[0].metric("Newest reading", present.local_time(newest, ui.tz()))
        c[1].metric("Age", "no data" if age is None else f"{age:,.0f} min")
        c[2].metric("Stale nodes", summary.get("nodes_stale", 0))
    # job runs
    st.subheader("Job runs")
    if not ui.role_at_least("operator"):
        st.info("Job runs are visible to operators and admins.")
    elif not runs:
        ui.empty("No job runs recorded yet.")
    else:
        last = transforms.latest_per_job(runs).reset_index()
        st.dataframe(
            present.table(
                last, ["job_name", "status", "trigger", "started_at", "duration_s", "rows_processed", "error"], ui.tz()
            ),
            hide_index=True,
            width="stretch",
        )
        df = pd.DataFrame(runs)
        df["started"] = pd.to_datetime(df["started_at"], utc=True).dt.tz_convert(ui.tz())
        df["duration_s"] = (
            pd.to_datetime(df["finished_at"], utc=True) - pd.to_datetime(df["started_at"], utc=True)
        ).dt.total_seconds()
        st.plotly_chart(
            px.scatter(
                df,
                x="started",
                y="duration_s",
                color="job_name",
                symbol="status",
                labels={
                    "started": f"started ({ui.tz()})",
                    "duration_s": "duration [s]",
                    "job_name": "job",
                    "status": "status",
                },
            ),
            width="stretch",
        )
    if ui.role_at_least("platform_operator") and not ui.source().read_only:
        run_now()
    # API
    st.subheader("API")
    if metrics_text is None:
        ui.empty(f"API metrics unavailable ({ui.settings().api_url}/metrics not reachable).")
        return
    fig = transforms.api_figures(metrics_text)
    c = st.columns(3)
    c[0].metric("Requests (this worker)", f"{fig['requests']:,.0f}")
    c[1].metric("Mean latency", "no data" if fig["mean_latency_ms"] is None else f"{fig['mean_latency_ms']:.1f} ms")
    c[2].metric(
        "Cache hit rate", "no data" if fig["cache_hit_rate"] is None else f"{100 * fig['cache_hit_rate']:.0f} %"
    )
    if fig["routes"]:
        routes = pd.DataFrame({"route": list(fig["routes"]), "ms": list(fig["routes"].values())})
        st.plotly_chart(
            px.bar(routes, x="ms", y="route", orientation="h", labels={"ms": "mean latency [ms]"}),
            width="stretch",
        )
