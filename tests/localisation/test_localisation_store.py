"""Leak localisation end to end on PostgreSQL: an EPANET model imported for a district
(its sensitivity matrix stored, reused while the file holds), a burst anomaly localised by
the detection job's step, and the answer in the anomaly's API listing."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import numpy as np
import pandas as pd
import sqlalchemy as sa

from abbanoa.ingest import network_model
from abbanoa.jobs import leak_localisation
from abbanoa.repository import anomalies
from abbanoa.simulate import leak_suite
from abbanoa.stores import postgres
from tests.conftest import subprocess_env

START = dt.datetime(2026, 3, 1, 23, 0, tzinfo=dt.UTC)
LEAK = "123"


def _latlon(xy):
    return (round(39.23 + xy[1] * 0.00105, 6), round(9.13 + xy[0] * 0.0014, 6))


def _district(db, tmp_path):
    """Net3 as district DMA-T with eight tagged pressure loggers; the model file written."""
    import wntr

    wn = leak_suite.load("Net3")
    junctions = leak_suite.place_loggers(wn, 8, np.random.default_rng(3))
    loggers = {f"T-PL-{i:02d}": j for i, j in enumerate(junctions, start=1)}
    for node_id, junction in loggers.items():
        wn.get_node(junction).tag = node_id
    path = tmp_path / "district.inp"
    wntr.network.io.write_inpfile(wn, str(path), units="LPS")
    with db.begin() as conn:
        conn.execute(sa.text("INSERT INTO tenants (tenant_id, name) VALUES ('abbanoa', 'Abbanoa')"))
        conn.execute(sa.text("INSERT INTO districts (district_id, tenant_id, name) VALUES ('DMA-T', 'abbanoa', 'T')"))
        for node_id, junction in loggers.items():
            lat, lon = _latlon(wn.get_node(junction).coordinates)
            conn.execute(
                sa.text(
                    "INSERT INTO nodes (node_id, tenant_id, node_type, latitude, longitude, district_id)"
                    " VALUES (:n, 'abbanoa', 'pressure_logger', :lat, :lon, 'DMA-T')"
                ),
                {"n": node_id, "lat": lat, "lon": lon},
            )
    return path, loggers


def test_a_bad_model_file_is_one_line_and_nothing_is_stored(db, settings, tmp_path):
    _district(db, tmp_path)
    bad = tmp_path / "broken.inp"
    bad.write_text("[JUNCTIONS]\n J1 not-a-number\n[END]\n")
    done = subprocess.run(
        [sys.executable, "-m", "abbanoa", "import", str(bad), "--district", "DMA-T"],
        env=subprocess_env(settings),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert len(done.stderr.strip().splitlines()) == 1 and "broken.inp" in done.stderr
    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM network_models")).scalar() == 0


def test_a_burst_is_localised_with_and_without_the_model_and_shown_with_the_anomaly(db, settings, tmp_path):
    # given a district's model imported (the matrix computed once, kept on re-import)
    path, loggers = _district(db, tmp_path)
    first = network_model.import_model(path, "DMA-T", settings)
    again = network_model.import_model(path, "DMA-T", settings)
    assert first.computed and first.loggers == 8 and not again.computed
    # and a week of its loggers' pressure, with a 20 l/s burst at a known junction
    run = leak_suite.simulate_leak(
        leak_suite.load("Net3"),
        network="Net3",
        loggers=sorted(loggers.values()),
        junction=LEAK,
        kind="burst",
        size_lps=20.0,
        seed=4,
        start=START,
        leak_day=7.3,
    )
    node_of = {j: n for n, j in loggers.items()}
    rows = run.pressure.assign(node_id=run.pressure["node_id"].map(node_of), metric="pressure")
    now = (run.onset + pd.Timedelta(hours=6)).to_pydatetime()
    with db.begin() as conn:
        conn.execute(sa.text("SELECT ensure_readings_partitions(:a, :b)"), {"a": START, "b": now})
        postgres.copy_rows(
            conn, "readings", ["node_id", "metric", "ts", "value"], rows[["node_id", "metric", "ts", "value"]].values
        )
        conn.execute(
            sa.text(
                "INSERT INTO latest_readings SELECT DISTINCT ON (node_id, metric) node_id, metric, ts, value"
                " FROM readings ORDER BY node_id, metric, ts DESC"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO anomalies (tenant_id, district_id, metric, anomaly_type, severity, score,"
                " observed_value, expected_value, start_ts, end_ts, updated_at) VALUES ('abbanoa', 'DMA-T',"
                " 'flow_rate', 'burst', 'high', 8, 120, 100, :start, :now, :now)"
            ),
            {"start": run.onset.to_pydatetime(), "now": now},
        )
    # when the detection job's localisation step runs
    with db.begin() as conn:
        stored = leak_localisation.localise(conn, now, "Europe/Rome", updated_since=now)
    # then both methods are stored, and the anomaly's listing carries them with an area
    assert stored == 2
    with db.connect() as conn:
        (item,) = anomalies.list_anomalies(conn, "abbanoa")["items"]
        assert anomalies.list_anomalies(conn, "other")["items"] == []
    by_method = {x["method"]: x for x in item["localisation"]}
    assert set(by_method) == {"pressure_loggers", "hydraulic_model"}
    assert [r["id"] for r in by_method["pressure_loggers"]["ranked"]] and by_method["pressure_loggers"]["area"]
    model = by_method["hydraulic_model"]
    assert model["area"]["type"] == "Polygon" and model["ranked"][0]["latitude"] is not None
    assert model["details"]["leak_lps"] == 20.0 and model["pipes"]
    # and a second tick with nothing new computes nothing again
    with db.begin() as conn:
        assert leak_localisation.localise(conn, now, "Europe/Rome", updated_since=now) == 0
