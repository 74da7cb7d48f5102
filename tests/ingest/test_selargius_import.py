"""The Selargius SCADA sample reports, imported end to end (DST nights included)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from abbanoa.ingest.importer import import_paths
from tests.ingest.conftest import postgres_quarantine, warehouse_quarantine, warehouse_readings

DATA = Path(__file__).resolve().parents[1] / "data"
AUTUMN = DATA / "REPORT_NODI_SELARGIUS_AGGREGATI_30_MIN_20241026230000_20241027040000.csv"
SPRING = DATA / "REPORT_NODI_SELARGIUS_AGGREGATI_30_MIN_20250330010000_20250330033000.csv"
NOW = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


def test_the_reports_load_in_utc_with_their_district_and_meters(db, warehouse, tenant):
    summary = import_paths([AUTUMN, SPRING], warehouse.settings, tenant, now=NOW)

    flow = warehouse_readings(warehouse, "selargius-nodo-via-sant-anna")
    autumn = [r for r in flow if r["metric"] == "flow_rate" and r["ts"].year == 2024]
    times = [r["ts"] for r in autumn]
    # 13 report lines 23:00 local .. 04:00 local with 02:00-02:30 twice: 13 distinct half hours
    assert times == list(pd.date_range("2024-10-26T21:00:00Z", periods=13, freq="30min").to_pydatetime())
    assert autumn[0]["value"] == 26.0
    total = [r for r in flow if r["metric"] == "total_flow"][0]
    assert total["value"] == 1234614.6 and total["unit"] == "m3"
    temperature = [r for r in flow if r["metric"] == "temperature"][0]
    assert temperature["value"] == 18.4

    spring = [r["ts"] for r in flow if r["metric"] == "flow_rate" and r["ts"].year == 2025]
    assert [t.strftime("%H:%M") for t in spring] == ["00:00", "00:30", "01:00", "01:30"]  # no 02:00 local
    assert postgres_quarantine(db, tenant) == [(SPRING.name, 5, "nonexistent_local_time")]
    assert warehouse_quarantine(warehouse, tenant) == [(SPRING.name, 5, "nonexistent_local_time")]

    autumn_file = summary.files[0]
    assert (autumn_file.rows_read, autumn_file.empty_cells) == (13, 1)
    assert autumn_file.loaded == 13 * 7 - 1

    with db.connect() as conn:
        meters = dict(
            conn.execute(
                sa.text("SELECT node_id, direction FROM district_meters WHERE district_id = 'selargius'")
            ).all()
        )
        owner = conn.execute(sa.text("SELECT tenant_id FROM districts WHERE district_id = 'selargius'")).scalar()
    assert meters == {
        "selargius-nodo-via-sant-anna": 1,
        "selargius-nodo-via-seneca": 1,
        "quartucciu-serbatoio-cuccuru-linu": 1,
        "selargius-serbatoio-selargius": -1,
    }
    assert owner == tenant
