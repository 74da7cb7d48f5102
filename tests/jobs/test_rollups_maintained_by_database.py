"""When the rollups are views the database keeps (TimescaleDB continuous aggregates, sql/0021),
the jobs leave them alone and read them as they would the tables. No TimescaleDB exists for
this machine, so plain views over readings stand in for the aggregates here."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import sqlalchemy as sa

from abbanoa import migrations
from abbanoa.jobs.runner import run_job
from abbanoa.repository import readings_upsert, rollups
from abbanoa.stores import postgres
from tests.conftest import RUN_ID, drop_database

VIEWS = {
    "readings_5m": "date_bin('5 minutes', ts, TIMESTAMPTZ '2000-01-01 00:00:00+00')",
    "readings_1h": "date_trunc('hour', ts, 'UTC')",
    "readings_1d": "date_trunc('day', ts, 'Europe/Rome')",
}


def test_jobs_leave_view_rollups_to_the_database_and_read_them(base_settings):
    url = sa.make_url(base_settings.sqlalchemy_url).set(database=f"abbanoa_test_{RUN_ID}_views")
    settings = base_settings.with_(database_url=url.render_as_string(hide_password=False))
    migrations.ensure_database(settings)
    migrations.apply_all(settings)
    try:
        eng = postgres.engine(settings)
        with eng.begin() as conn:
            for name, bucket in VIEWS.items():
                conn.exec_driver_sql(f"DROP TABLE {name}")
                conn.exec_driver_sql(
                    f"CREATE VIEW {name} AS SELECT node_id, metric, {bucket} AS bucket, count(*)::integer AS n, "
                    "sum(value) AS sum_value, min(value) AS min_value, max(value) AS max_value, "
                    f"avg(value) AS avg_value FROM readings GROUP BY node_id, metric, {bucket}"
                )
            assert rollups.maintained_by_database(conn)
            conn.execute(sa.text("INSERT INTO tenants VALUES ('v', 'v')"))
            conn.execute(sa.text("INSERT INTO nodes (node_id, tenant_id, node_type) VALUES ('P1', 'v', 'logger')"))
        # given three weeks of readings synced the usual way (upsert, rollups, latest values)
        now = dt.datetime(2026, 3, 25, 12, tzinfo=dt.UTC)
        ts = pd.date_range(now - dt.timedelta(days=21), now, freq="15min", inclusive="left")
        rows = pd.DataFrame({"node_id": "P1", "metric": "pressure", "ts": ts, "value": 3.0, "ingested_at": now})
        with eng.begin() as conn:
            written = readings_upsert.upsert(conn, rows[readings_upsert.COLUMNS], "Europe/Rome", 0)
            hours = conn.execute(sa.text("SELECT count(*), min(n) FROM readings_1h")).one()
        # then the rows landed, the jobs wrote no rollup, and the database's rollups show them
        assert written and hours == (21 * 24, 4)
        # and the jobs that read or prune rollups run on them
        cleanup = run_job("weekly_cleanup", settings, now=now)
        assert cleanup.status == "succeeded" and cleanup.details["rollup_rows_deleted"] == {}
        detection = run_job("anomaly_detection", settings, now=now)
        assert detection.status == "succeeded" and detection.details["hourly_history"] > 14 * 24
    finally:
        postgres.dispose_engines()
        drop_database(settings)
