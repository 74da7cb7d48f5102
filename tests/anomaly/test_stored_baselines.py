"""The tick's stored baselines (learnt once per local day) against baselines learnt from
scratch on the same data: the same references, the same flags in the window."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import sqlalchemy as sa

from abbanoa.analytics import baseline
from abbanoa.analytics import detectors as d
from abbanoa.analytics.config import DetectorConfig
from abbanoa.jobs import anomaly_detection
from abbanoa.jobs.base import JobContext
from abbanoa.repository import rollups
from abbanoa.stores import postgres
from tests.anomaly.series import daily_cycle

NOW = pd.Timestamp("2026-03-30 09:40", tz="UTC")  # the Monday after the spring DST change


def _seed(engine) -> pd.DataFrame:
    frames = []
    for k in range(3):
        cycle = daily_cycle("2026-02-20", "2026-03-30 09:40", node_id=f"fm{k}", seed=k + 3, freq="10min")
        frames.append(cycle)
    rows = pd.concat(frames, ignore_index=True)
    young = daily_cycle("2026-03-24", "2026-03-30 09:40", node_id="new", seed=9, freq="10min")  # a week old: fallbacks
    rows = pd.concat([rows, young], ignore_index=True)
    burst = (rows["node_id"] == "fm1") & (rows["metric"] == "flow_rate") & (rows["ts"] >= NOW - pd.Timedelta("3h"))
    rows.loc[burst, "value"] += 15.0
    drop = (rows["node_id"] == "fm2p") & (rows["ts"] >= NOW - pd.Timedelta("2h"))
    rows.loc[drop, "value"] -= 0.6
    with engine.begin() as conn:
        conn.execute(
            sa.text("SELECT ensure_readings_partitions(:a, :b)"), {"a": rows["ts"].min(), "b": rows["ts"].max()}
        )
        conn.execute(sa.text("INSERT INTO tenants (tenant_id, name) VALUES ('abbanoa', 'Abbanoa')"))
        for node in rows["node_id"].unique():
            conn.execute(sa.text("INSERT INTO nodes (node_id, tenant_id) VALUES (:n, 'abbanoa')"), {"n": node})
        postgres.copy_rows(
            conn, "readings", ["node_id", "metric", "ts", "value"], rows[["node_id", "metric", "ts", "value"]].values
        )
        conn.execute(
            sa.text(
                "INSERT INTO latest_readings SELECT DISTINCT ON (node_id, metric) node_id, metric, ts, value"
                " FROM readings ORDER BY node_id, metric, ts DESC"
            )
        )
        ranges = [(n, m, g["ts"].min(), g["ts"].max()) for (n, m), g in rows.groupby(["node_id", "metric"])]
        rollups.refresh(conn, ranges, tz="Europe/Rome")
    return rows


def test_stored_baselines_give_the_references_and_flags_of_a_from_scratch_run(db, settings):
    # given four weeks of series (one only a week old) across a DST change, with a burst and a drop
    _seed(db)
    config = DetectorConfig()
    now = NOW.to_pydatetime()
    raw_since = (NOW - pd.Timedelta(hours=12)).floor("h").to_pydatetime()
    span = anomaly_detection.history_span(config)
    with db.begin() as conn:
        # when the day's baselines are learnt and stored, and a tick reads them
        days = sorted({day for day, _ in anomaly_detection.local_hours(raw_since, now, config.timezone)})
        learnt = anomaly_detection.refresh_baselines(conn, config, days)
        assert anomaly_detection.refresh_baselines(conn, config, days) == 0  # once per day
        tick = anomaly_detection.gather_tick(conn, now, raw_since, config)
        scratch = anomaly_detection.gather(conn, now - span, now, raw_since=raw_since)
    assert learnt > 20 * 24 * 8
    frame = d.prepare(tick["readings"])
    stored = baseline.expected_from_stored(frame, *tick["baselines"], config)
    basis = pd.concat([d.prepare(scratch["history"]), frame], ignore_index=True)
    fresh = baseline.expected_hourly(basis, config)
    fresh = fresh[fresh["hour"] >= pd.Timestamp(raw_since)].reset_index(drop=True)
    # then every hour of the window has the same reference, basis and (nearly) the same scale
    key = ["node_id", "metric", "hour"]
    both = fresh.merge(stored, on=key, suffixes=("_fresh", "_stored"))
    assert len(both) == len(fresh) == len(stored) > 8 * 12
    assert both["expected_stored"].notna().all()
    assert np.allclose(both["expected_fresh"], both["expected_stored"], equal_nan=True)
    assert (both["basis_fresh"] == both["basis_stored"]).all()
    assert "hour_of_day" in set(both.loc[both["node_id"] == "new", "basis_stored"])  # the fallbacks too
    assert np.allclose(both["scale_fresh"], both["scale_stored"], rtol=0.05)
    # and the detectors flag the same points in the window
    flags = {}
    for name, data in (("tick", tick), ("scratch", scratch)):
        found = anomaly_detection.decide(data, config, now, raw_since)
        flags[name] = sorted(zip(found["node_id"], found["anomaly_type"], found["start_ts"].astype(str), strict=True))
    assert flags["tick"] == flags["scratch"]
    assert ("fm2p", "pressure_drop") in {(n, t) for n, t, _ in flags["tick"]}


def test_a_tick_learns_the_days_baselines_once_and_reads_them_after(db, settings):
    # given the same network
    _seed(db)
    # when two ticks run a quarter of an hour apart
    first = anomaly_detection.run(JobContext("anomaly_detection", settings, now=NOW.to_pydatetime()))
    later = NOW + pd.Timedelta(minutes=15)
    second = anomaly_detection.run(JobContext("anomaly_detection", settings, now=later.to_pydatetime()))
    # then the first learnt the baselines of the window's local days from the hourly rollup
    # and the second only read them
    assert first.details["stored_baselines"] and second.details["stored_baselines"]
    assert first.details["hourly_history"] > 0 and second.details["hourly_history"] == 0
    with db.begin() as conn:
        stored = conn.execute(sa.text("SELECT day, series FROM detection_baseline_days ORDER BY day")).all()
        found = conn.execute(sa.text("SELECT DISTINCT node_id, anomaly_type FROM anomalies")).all()
    # (the window reaches back into Sunday: both days)
    assert [s.day for s in stored] == [dt.date(2026, 3, 29), dt.date(2026, 3, 30)]
    assert {s.series for s in stored} == {8}
    assert ("fm2p", "pressure_drop") in {(f.node_id, f.anomaly_type) for f in found}
