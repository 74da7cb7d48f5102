"""`run-job NAME --as-of TS` and `--from TS` (a replay of the scheduler's ticks): the
clock of a run, the ticks of a cron across daylight saving, and a replay that stores what
the live ticks stored."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
import sqlalchemy as sa

from abbanoa.__main__ import main
from abbanoa.errors import AbbanoaError
from abbanoa.jobs.cli import parse_instant, ticks
from abbanoa.jobs.runner import run_job
from abbanoa.repository import readings_upsert
from tests.anomaly.series import daily_cycle

T0 = pd.Timestamp("2026-04-02 10:00", tz="UTC")
HOURS = 4  # replayed after T0


def _registry(conn) -> None:
    conn.execute(sa.text("INSERT INTO tenants (tenant_id, name) VALUES ('abbanoa', 'Abbanoa')"))
    conn.execute(sa.text("INSERT INTO districts (district_id, tenant_id, name) VALUES ('D1', 'abbanoa', 'D1')"))
    for node, kind in (("FM1", "flow_meter"), ("PL1", "pressure_logger"), ("PL2", "pressure_logger")):
        conn.execute(
            sa.text("INSERT INTO nodes (node_id, tenant_id, district_id, node_type) VALUES (:n, 'abbanoa', 'D1', :k)"),
            {"n": node, "k": kind},
        )
    conn.execute(sa.text("INSERT INTO district_meters (district_id, node_id, direction) VALUES ('D1', 'FM1', 1)"))


def _readings() -> pd.DataFrame:
    """Four days of a district: a burst at T0 + 1 h, a logger's drop and another's silence."""
    cycle = daily_cycle("2026-03-29", str((T0 + pd.Timedelta(hours=HOURS)).tz_localize(None)), node_id="FM1")
    flow = cycle[cycle["metric"] == "flow_rate"].copy()
    flow.loc[flow["ts"] >= T0 + pd.Timedelta(hours=1), "value"] += 15.0
    p1 = cycle[cycle["metric"] == "pressure"].assign(node_id="PL1")
    p1.loc[p1["ts"] >= T0 + pd.Timedelta(hours=1), "value"] -= 0.4
    p2 = cycle[cycle["metric"] == "pressure"].assign(node_id="PL2", value=lambda f: f["value"] + 0.3)
    p2 = p2[p2["ts"] < T0 + pd.Timedelta(minutes=30)]
    frame = pd.concat([flow, p1, p2], ignore_index=True)
    return frame.assign(ingested_at=frame["ts"])


def _stored(conn) -> set[tuple]:
    rows = conn.execute(
        sa.text(
            "SELECT node_id, district_id, metric, anomaly_type, start_ts, end_ts, severity FROM anomalies"
            " UNION ALL SELECT a.payload->>'node_id', a.payload->>'district_id', a.payload->>'metric',"
            " a.alert_type, NULL, NULL, a.severity FROM alerts a"
        )
    ).all()
    return {tuple(r) for r in rows}


def test_as_of_must_be_an_instant_with_an_offset():
    assert parse_instant("2026-04-02T10:00:00Z", "--as-of") == dt.datetime(2026, 4, 2, 10, tzinfo=dt.UTC)
    with pytest.raises(AbbanoaError, match="has no offset"):
        parse_instant("2026-04-02T10:00", "--as-of")
    with pytest.raises(AbbanoaError, match="not an ISO 8601"):
        parse_instant("yesterday", "--as-of")


def test_a_backfill_window_longer_than_a_run_reads_is_refused_not_cut_short(settings, capsys):
    assert main(["run-job", "anomaly_detection", "--param", "window_hours=2000"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: window_hours=2000 reaches past the 720 h one run reads") and err.count("\n") == 1
    assert "--from TS" in err


def test_ticks_follow_the_local_cron_across_daylight_saving():
    # 06:00 Europe/Rome is 05:00Z before the spring change and 04:00Z after it
    start = dt.datetime(2026, 3, 27, 12, tzinfo=dt.UTC)
    daily = ticks("0 6 * * *", "Europe/Rome", start, start + dt.timedelta(days=4))
    assert [t.strftime("%m-%d %H:%M") for t in daily] == ["03-28 05:00", "03-29 04:00", "03-30 04:00", "03-31 04:00"]
    quarter = ticks("*/15 * * * *", "Europe/Rome", start, start + dt.timedelta(hours=1))
    assert len(quarter) == 4 and quarter[-1] == start + dt.timedelta(hours=1)
    with pytest.raises(AbbanoaError, match="no cron"):
        ticks(None, "Europe/Rome", start, start + dt.timedelta(hours=1))


def test_run_job_as_of_runs_with_that_clock(db, settings, pubsub_project, capsys):
    # given a logger that reported until yesterday 10:00 local
    frame = _readings()
    frame = frame[(frame["node_id"] == "PL2")]
    with db.begin() as conn:
        _registry(conn)
        readings_upsert.upsert(conn, frame, "Europe/Rome", 0)
    # when the data-quality job runs as of the next morning at 06:00 local
    assert main(["run-job", "data_quality", "--as-of", "2026-04-03T06:00:00+02:00"]) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["status"] == "succeeded"
    # then its rows are computed at that instant and the silence is stale as of then
    with db.connect() as conn:
        computed = conn.execute(sa.text("SELECT DISTINCT computed_at FROM data_quality")).scalars().all()
        alert = conn.execute(sa.text("SELECT alert_type, payload FROM alerts")).one()
    assert computed == [dt.datetime(2026, 4, 3, 4, tzinfo=dt.UTC)]
    assert alert.alert_type == "stale_sensor" and alert.payload["day"] == "2026-04-03"
    assert alert.payload["staleness_s"] == pytest.approx(
        (pd.Timestamp("2026-04-03 04:00Z") - frame["ts"].max()).total_seconds()
    )


def test_a_replay_of_the_ticks_stores_what_the_live_ticks_stored(db, settings, pubsub_project, capsys):
    # given a district's readings arriving tick by tick, the job running at each tick (live)
    frame = _readings()
    moments = ticks("*/15 * * * *", "Europe/Rome", T0.to_pydatetime(), (T0 + pd.Timedelta(hours=HOURS)).to_pydatetime())
    with db.begin() as conn:
        _registry(conn)
        readings_upsert.upsert(conn, frame[frame["ts"] <= T0], "Europe/Rome", 0)
    previous = T0
    for moment in moments:
        with db.begin() as conn:
            arriving = frame[(frame["ts"] > previous) & (frame["ts"] <= moment)]
            readings_upsert.upsert(conn, arriving, "Europe/Rome", 0)
        assert run_job("anomaly_detection", settings, trigger="scheduler", now=moment).status == "succeeded"
        previous = pd.Timestamp(moment)
    with db.connect() as conn:
        live = _stored(conn)
    # when the same readings, all present, are replayed through the command line
    with db.begin() as conn:
        conn.exec_driver_sql(
            "TRUNCATE anomalies, alerts, alert_deliveries, job_runs, readings, latest_readings,"
            " readings_5m, readings_1h, readings_1d RESTART IDENTITY CASCADE"
        )
        readings_upsert.upsert(conn, frame, "Europe/Rome", 0)
    end = (T0 + pd.Timedelta(hours=HOURS)).isoformat()
    assert main(["run-job", "anomaly_detection", "--from", T0.isoformat(), "--as-of", end]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    # then every tick ran, and the replay stored the same anomalies and alerts as live
    assert summary["ticks"] == len(moments) == 4 * HOURS and summary["runs"] == {"succeeded": 4 * HOURS}
    with db.connect() as conn:
        replayed = _stored(conn)
    kinds = {row[3] for row in live}
    assert {"burst", "pressure_drop", "sensor_gap"} <= kinds, kinds
    assert replayed == live
