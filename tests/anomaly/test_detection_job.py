"""The 15-minute detection job on PostgreSQL: raw readings for the recent window only, the
baselines' weeks from readings_1h, and the newest reading of every series for silence."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from abbanoa.jobs import anomaly_detection
from abbanoa.jobs.base import JobContext
from abbanoa.repository import rollups
from abbanoa.stores import postgres
from tests.anomaly.series import daily_cycle

NOW = pd.Timestamp("2026-04-02 16:00", tz="UTC")  # three weeks after the start, DST included


def _seed(engine) -> int:
    cycle = daily_cycle("2026-03-10", "2026-04-02 16:00")
    pressure = cycle[cycle["metric"] == "pressure"].assign(node_id="P1")
    drop = pressure["ts"] >= NOW - pd.Timedelta(hours=2)
    pressure.loc[drop, "value"] -= 0.5  # a pressure drop two hours ago
    chlorine = pressure[pressure["ts"] < NOW - pd.Timedelta(days=2)].assign(
        node_id="Q1", metric="free_chlorine", value=0.4
    )  # a chlorine analyser silent for two days
    rows = pd.concat([pressure, chlorine], ignore_index=True)
    with engine.begin() as conn:
        conn.execute(
            sa.text("SELECT ensure_readings_partitions(:a, :b)"), {"a": rows["ts"].min(), "b": rows["ts"].max()}
        )
        conn.execute(sa.text("INSERT INTO tenants (tenant_id, name) VALUES ('abbanoa', 'Abbanoa')"))
        conn.execute(
            sa.text(
                "INSERT INTO nodes (node_id, tenant_id, node_type) VALUES"
                " ('P1', 'abbanoa', 'pressure_logger'), ('Q1', 'abbanoa', 'quality_sensor')"
            )
        )
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
    return len(rows)


def test_job_reads_the_window_raw_and_the_weeks_before_from_the_hourly_rollup(db, settings):
    # given three weeks of a pressure logger that dropped 0.5 bar two hours ago, and a
    # chlorine analyser that went silent two days ago
    total = _seed(db)
    # when the detection job runs
    outcome = anomaly_detection.run(JobContext("anomaly_detection", settings, now=NOW.to_pydatetime()))
    # then it read only the last hours raw, and the weeks before as hourly means
    assert 0 < outcome.details["readings"] < total / 20
    assert outcome.details["hourly_history"] > 20 * 24
    with db.begin() as conn:
        found = pd.DataFrame(
            conn.execute(
                sa.text("SELECT node_id, anomaly_type, start_ts, end_ts, observed_value, expected_value FROM anomalies")
            ).all()
        )
    # the drop is seen against the hour-of-week baseline learnt from the rollup
    drop = found[found["anomaly_type"] == "pressure_drop"]
    assert len(drop) == 1 and drop["node_id"].iloc[0] == "P1"
    assert NOW - pd.Timedelta(hours=2) <= drop["start_ts"].iloc[0] <= NOW - pd.Timedelta(hours=1)
    assert 0.4 < drop["expected_value"].iloc[0] - drop["observed_value"].iloc[0] < 0.6
    # and the silent analyser is an open gap up to now, though none of its readings are raw here
    gap = found[(found["anomaly_type"] == "sensor_gap") & (found["node_id"] == "Q1")]
    assert len(gap) == 1 and gap["end_ts"].iloc[0] == NOW


def test_a_district_gone_silent_is_one_gap_not_one_per_sensor():
    from abbanoa.analytics.config import DetectorConfig
    from abbanoa.analytics.detection import decide

    # given two districts of four loggers each; all of D1 stopped two hours ago, one of D2 too
    now = pd.Timestamp("2026-03-05 12:00", tz="UTC")
    nodes = pd.DataFrame({"node_id": [f"{d}-P{i}" for d in ("D1", "D2") for i in range(4)], "tenant_id": "t"}).assign(
        district_id=lambda f: f["node_id"].str[:2]
    )
    frames = []
    for node in nodes["node_id"]:
        stop = now - pd.Timedelta(hours=2) if node.startswith("D1") or node == "D2-P0" else now
        ts = pd.date_range(now - pd.Timedelta(hours=12), stop, freq="5min", inclusive="left")
        frames.append(
            pd.DataFrame({"node_id": node, "metric": "pressure", "ts": ts, "value": 3.0 + 0.01 * (ts.minute % 7)})
        )
    data = {
        "readings": pd.concat(frames, ignore_index=True),
        "nodes": nodes,
        "districts": pd.DataFrame({"district_id": ["D1", "D2"], "tenant_id": "t"}),
        "meters": pd.DataFrame(columns=["district_id", "node_id", "direction"]),
        "thresholds": pd.DataFrame(columns=["node_id", "metric", "low", "high", "sensitivity"]),
    }
    # when detection runs now
    gaps = decide(data, DetectorConfig(), now.to_pydatetime(), None)
    gaps = gaps[gaps["anomaly_type"] == "sensor_gap"]
    # then D1 is one district-level gap since its loggers stopped; D2's one logger is its own gap
    d1 = gaps[gaps["district_id"] == "D1"]
    assert len(d1) == 1 and d1["node_id"].isna().all() and d1["metric"].isna().all()
    assert d1["start_ts"].iloc[0] == now - pd.Timedelta(hours=2, minutes=5) and d1["end_ts"].iloc[0] == now
    assert gaps[gaps["district_id"] == "D2"]["node_id"].tolist() == ["D2-P0"]


def test_when_a_silent_district_comes_back_its_gap_closes_as_one_anomaly(db, settings):
    from abbanoa.jobs.anomaly_detection import run as detect

    # given a district of four loggers that all went silent at 08:00 (the outstation down)
    now = pd.Timestamp("2026-03-05 12:00", tz="UTC")
    stop, back = now - pd.Timedelta(hours=4), now + pd.Timedelta(hours=2)
    ts = pd.date_range(now - pd.Timedelta(hours=12), now + pd.Timedelta(hours=3), freq="5min", inclusive="left")
    rows = [(f"P{i}", "pressure", t, 3.0 + 0.01 * (t.minute % 7)) for i in range(4) for t in ts if not stop <= t < back]
    with db.begin() as conn:
        conn.execute(sa.text("SELECT ensure_readings_partitions(:a, :b)"), {"a": ts[0], "b": ts[-1]})
        conn.execute(sa.text("INSERT INTO tenants (tenant_id, name) VALUES ('abbanoa', 'Abbanoa')"))
        conn.execute(sa.text("INSERT INTO districts (district_id, tenant_id, name) VALUES ('D1', 'abbanoa', 'D1')"))
        for i in range(4):
            conn.execute(
                sa.text(
                    "INSERT INTO nodes (node_id, tenant_id, node_type, district_id)"
                    " VALUES (:n, 'abbanoa', 'pressure_logger', 'D1')"
                ),
                {"n": f"P{i}"},
            )

    def load(until):
        with db.begin() as conn:
            conn.execute(sa.text("DELETE FROM readings"))
            conn.execute(sa.text("DELETE FROM latest_readings"))
            postgres.copy_rows(
                conn, "readings", ["node_id", "metric", "ts", "value"], [r for r in rows if r[2] <= until]
            )
            conn.execute(
                sa.text(
                    "INSERT INTO latest_readings SELECT DISTINCT ON (node_id, metric) node_id, metric, ts, value"
                    " FROM readings ORDER BY node_id, metric, ts DESC"
                )
            )

    # when detection runs during the outage, then after the readings came back
    load(now)
    detect(JobContext("anomaly_detection", settings, now=now.to_pydatetime()))
    load(back + pd.Timedelta(minutes=30))
    detect(JobContext("anomaly_detection", settings, now=(back + pd.Timedelta(minutes=30)).to_pydatetime()))
    # then there is one district-level gap, from the stop to the return, and one alert
    with db.begin() as conn:
        gaps = conn.execute(
            sa.text("SELECT node_id, district_id, start_ts, end_ts FROM anomalies WHERE anomaly_type = 'sensor_gap'")
        ).all()
        alerts = conn.execute(sa.text("SELECT count(*) FROM alerts WHERE alert_type = 'sensor_gap'")).scalar()
    assert [(g.node_id, g.district_id) for g in gaps] == [(None, "D1")]
    assert gaps[0].start_ts == stop - pd.Timedelta(minutes=5) and gaps[0].end_ts == back
    assert alerts == 1


def _logger(engine, node: str, ts, values, sensitivity: float | None = None) -> None:
    rows = pd.DataFrame({"node_id": node, "metric": "pressure", "ts": ts, "value": values})
    with engine.begin() as conn:
        conn.execute(sa.text("SELECT ensure_readings_partitions(:a, :b)"), {"a": ts[0], "b": ts[-1]})
        conn.execute(
            sa.text("INSERT INTO tenants (tenant_id, name) VALUES ('abbanoa', 'Abbanoa') ON CONFLICT DO NOTHING")
        )
        conn.execute(
            sa.text("INSERT INTO nodes (node_id, tenant_id, node_type) VALUES (:n, 'abbanoa', 'pressure_logger')"),
            {"n": node},
        )
        if sensitivity is not None:
            conn.execute(
                sa.text("INSERT INTO node_thresholds (node_id, metric, sensitivity) VALUES (:n, 'pressure', :s)"),
                {"n": node, "s": sensitivity},
            )
        postgres.copy_rows(conn, "readings", ["node_id", "metric", "ts", "value"], rows.values)
        conn.execute(
            sa.text(
                "INSERT INTO latest_readings SELECT DISTINCT ON (node_id, metric) node_id, metric, ts, value"
                " FROM readings WHERE node_id = :n ORDER BY node_id, metric, ts DESC"
            ),
            {"n": node},
        )
        rollups.refresh(conn, [(node, "pressure", ts[0], ts[-1])], tz="Europe/Rome")


def test_a_logger_reporting_every_eight_hours_is_not_a_gap_between_its_reports(db, settings):
    # given a logger that reports every 8 hours for three weeks, its last report 5 h ago
    # (so the job's 12 raw hours hold one report: too few to tell its interval)
    now = pd.Timestamp("2026-03-20 12:00", tz="UTC")
    ts = pd.date_range(now - pd.Timedelta(days=21) + pd.Timedelta(hours=3), now - pd.Timedelta(hours=5), freq="8h")
    _logger(db, "SPARSE", ts, 3.0 + 0.01 * (ts.hour % 5))
    # when the job runs, then its usual interval comes from the weeks of rollups: no gap
    anomaly_detection.run(JobContext("anomaly_detection", settings, now=now.to_pydatetime()))
    with db.begin() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM anomalies WHERE anomaly_type = 'sensor_gap'")).scalar() == 0
    # and silent for 40 h (five reports missed) it is one
    later = now + pd.Timedelta(hours=35)
    anomaly_detection.run(JobContext("anomaly_detection", settings, now=later.to_pydatetime()))
    with db.begin() as conn:
        gaps = conn.execute(sa.text("SELECT node_id, end_ts FROM anomalies WHERE anomaly_type = 'sensor_gap'")).all()
    assert [(g.node_id, g.end_ts) for g in gaps] == [("SPARSE", later)]


def test_a_node_made_less_sensitive_still_gets_its_stuck_value_found(db, settings):
    # given a logger at sensitivity 0.2 (a stuck value must last 15 h) frozen for the last 18 h
    now = pd.Timestamp("2026-03-20 12:00", tz="UTC")
    ts = pd.date_range(now - pd.Timedelta(days=3), now, freq="5min", inclusive="left")
    values = 3.0 + 0.01 * (ts.minute % 7)
    values = pd.Series(values).where(ts < now - pd.Timedelta(hours=18), 2.75).to_numpy()
    _logger(db, "FROZEN", ts, values, sensitivity=0.2)
    # when the job runs, then it read far enough back to see the whole 15 h
    anomaly_detection.run(JobContext("anomaly_detection", settings, now=now.to_pydatetime()))
    with db.begin() as conn:
        stuck = conn.execute(sa.text("SELECT node_id FROM anomalies WHERE anomaly_type = 'stuck_value'")).all()
    assert [s.node_id for s in stuck] == ["FROZEN"]
