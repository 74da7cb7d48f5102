"""The quality compliance job writes daily compliance and excursions from PostgreSQL and alerts once."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa

from abbanoa.jobs.runner import run_job
from abbanoa.repository import readings_upsert


def test_job_stores_compliance_and_an_excursion_and_raises_one_alert(db, settings, pubsub_project):
    # given a pH probe every 15 minutes on 2026-06-10 (Rome), out of range (9.8 peak) for 45 minutes
    ts = pd.date_range("2026-06-09T22:00Z", periods=96, freq="15min", tz="UTC")
    values = [7.5] * 96
    values[40:43] = [9.7, 9.8, 9.6]
    with db.begin() as conn:
        conn.execute(sa.text("INSERT INTO tenants VALUES ('t1', 't1')"))
        conn.execute(sa.text("INSERT INTO nodes (node_id, tenant_id) VALUES ('QP1', 't1')"))
        rows = pd.DataFrame({"node_id": "QP1", "metric": "ph", "ts": ts, "value": values, "ingested_at": ts})
        readings_upsert.upsert(conn, rows, "Europe/Rome", 0)
    now = dt.datetime(2026, 6, 10, 22, 0, tzinfo=dt.UTC)
    # when the job runs twice (a redelivery)
    run_job("quality_compliance", settings, now=now)
    run_job("quality_compliance", settings, now=now)
    # then
    with db.connect() as conn:
        day = conn.execute(sa.text("SELECT day, samples, compliant FROM quality_compliance")).one()
        exc = conn.execute(
            sa.text("SELECT start_ts, end_ts, peak_value, open, limit_kind FROM quality_excursions")
        ).one()
        alerts = conn.execute(sa.text("SELECT alert_type, severity, published_at FROM alerts")).all()
    assert (day.day, day.samples, day.compliant) == (dt.date(2026, 6, 10), 96, 93)
    assert (exc.start_ts, exc.end_ts, exc.peak_value, exc.open, exc.limit_kind) == (
        ts[40].to_pydatetime(),
        ts[42].to_pydatetime(),
        9.8,
        False,
        "directive",
    )
    assert len(alerts) == 1 and alerts[0].alert_type == "quality_excursion" and alerts[0].severity == "critical"
    assert alerts[0].published_at is not None


def test_first_run_covers_the_whole_stored_history_and_stores_old_excursions_without_paging(db, settings):
    # given ten days of pH readings every 15 minutes, out of range (9.9) for 45 minutes six days ago
    now = dt.datetime(2026, 6, 10, 22, 0, tzinfo=dt.UTC)
    ts = pd.date_range(now - dt.timedelta(days=10), now, freq="15min", inclusive="left", tz="UTC")
    values = [7.5] * len(ts)
    values[384:387] = [9.9, 9.9, 9.9]
    with db.begin() as conn:
        conn.execute(sa.text("INSERT INTO tenants VALUES ('t1', 't1')"))
        conn.execute(sa.text("INSERT INTO nodes (node_id, tenant_id) VALUES ('QP1', 't1')"))
        rows = pd.DataFrame({"node_id": "QP1", "metric": "ph", "ts": ts, "value": values, "ingested_at": ts})
        readings_upsert.upsert(conn, rows, "Europe/Rome", 0)
    # when the job runs (its tail is two days)
    first = run_job("quality_compliance", settings, now=now)
    again = run_job("quality_compliance", settings, now=now)
    # then every local day with readings has its compliance, the old excursion is stored,
    # nothing old is paged, and the second run reads only the tail
    with db.connect() as conn:
        days = conn.execute(sa.text("SELECT sum(samples), sum(compliant), count(*) FROM quality_compliance")).one()
        exc = conn.execute(sa.text("SELECT start_ts, peak_value FROM quality_excursions")).all()
        alerts = conn.execute(sa.text("SELECT count(*) FROM alerts")).scalar()
    assert (days[0], days[1]) == (960, 957) and days[2] == 10  # ten local days (Rome midnight = 22:00 UTC)
    assert [(e.start_ts, e.peak_value) for e in exc] == [(ts[384].to_pydatetime(), 9.9)]
    assert alerts == 0
    assert first.details["backfill"] is True and again.details["backfill"] is False
