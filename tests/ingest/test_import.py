"""Importing files end to end, against the BigQuery emulator and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from abbanoa.ingest.importer import import_paths
from tests.ingest.conftest import postgres_quarantine, warehouse_quarantine, warehouse_readings

NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)


def readings_file(tmp_path, network, name="readings.csv"):
    f, p = network["flow"], network["pressure"]
    lines = [
        "timestamp,node_id,metric,value,unit",
        f"2025-05-01T00:00:00Z,{p},pressure,3.2,bar",  # 2 ok
        f"2025-05-01T00:15:00Z,{p},pressure,320,kPa",  # 3 ok, 3.2 bar
        f"2025-05-01T00:00:00Z,{f},flow_rate,36,m3/h",  # 4 ok, 10 l/s
        f"2025-05-01T00:00:00Z,{f},flow_rate,99,l/s",  # 5 duplicate of line 4 (first wins)
        f"not-a-time,{p},pressure,3.1,bar",  # 6 unparseable_time
        f"2025-07-01T00:00:00Z,{p},pressure,3.1,bar",  # 7 future_time
        f"2025-05-01T00:30:00Z,{p},salinity,3.1,psu",  # 8 unknown_metric
        f"2025-05-01T00:30:00Z,{p},pressure,3.1,atm",  # 9 unknown_unit
        f"2025-05-01T00:30:00Z,{network['dma']}-NOBODY,pressure,3.1,bar",  # 10 unknown_node
        f"2025-05-01T00:30:00Z,{p},pressure,NaN,bar",  # 11 non_numeric
        f"2025-05-01T00:30:00Z,{p},pressure,99,bar",  # 12 out_of_range
        f"2025-05-01T00:30:00Z,{p},pressure",  # 13 malformed_row
    ]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


EXPECTED_READINGS_QUARANTINE = [
    (6, "unparseable_time"),
    (7, "future_time"),
    (8, "unknown_metric"),
    (9, "unknown_unit"),
    (10, "unknown_node"),
    (11, "non_numeric"),
    (12, "out_of_range"),
    (13, "malformed_row"),
]


def test_every_bad_row_lands_in_both_quarantines_with_its_reason(tmp_path, db, warehouse, tenant, network):
    path = readings_file(tmp_path, network)

    summary = import_paths([*network["files"], path], warehouse.settings, tenant, now=NOW)

    expected = sorted(
        [("readings.csv", n, r) for n, r in EXPECTED_READINGS_QUARANTINE]
        + [("nodes.csv", 4, "invalid_field"), ("district_meters.csv", 3, "unknown_node")]
    )
    assert postgres_quarantine(db, tenant) == expected
    assert warehouse_quarantine(warehouse, tenant) == expected
    assert summary.quarantined == {
        **{r: 1 for _, r in EXPECTED_READINGS_QUARANTINE},
        "invalid_field": 1,
        "unknown_node": 2,
    }
    readings = next(f for f in summary.files if f.kind == "readings")
    assert (readings.rows_read, readings.loaded, readings.duplicates) == (12, 3, 1)


def test_units_are_converted_and_the_first_of_duplicates_wins(tmp_path, db, warehouse, tenant, network):
    path = readings_file(tmp_path, network)

    import_paths([*network["files"], path], warehouse.settings, tenant, now=NOW)

    rows = warehouse_readings(warehouse, tenant)
    got = [(r["node_id"], r["metric"], r["ts"].isoformat(), round(r["value"], 6), r["unit"]) for r in rows]
    assert got == [
        (network["flow"], "flow_rate", "2025-05-01T00:00:00+00:00", 10.0, "l/s"),
        (network["pressure"], "pressure", "2025-05-01T00:00:00+00:00", 3.2, "bar"),
        (network["pressure"], "pressure", "2025-05-01T00:15:00+00:00", 3.2, "bar"),
    ]
    assert {r["source"] for r in rows} == {"readings.csv"}
    assert {r["ingested_at"] for r in rows} == {NOW}


def test_reimporting_the_same_files_changes_nothing(tmp_path, db, warehouse, tenant, network):
    files = [*network["files"], readings_file(tmp_path, network)]
    import_paths(files, warehouse.settings, tenant, now=NOW)
    before = _counts(db, warehouse, tenant)

    again = import_paths(files, warehouse.settings, tenant, now=NOW + dt.timedelta(minutes=5))

    assert _counts(db, warehouse, tenant) == before
    assert again.loaded == 0
    assert again.quarantine_added == 0
    readings = next(f for f in again.files if f.kind == "readings")
    assert (readings.loaded, readings.duplicates) == (0, 4)


def test_rows_already_in_the_warehouse_are_absorbed_from_another_file(tmp_path, db, warehouse, tenant, network):
    p = network["pressure"]
    first = tmp_path / "day1.csv"
    first.write_text(
        "timestamp,node_id,metric,value,unit\n"
        f"2025-05-01T00:00:00Z,{p},pressure,3.0,bar\n"
        f"2025-05-01T00:15:00Z,{p},pressure,3.1,bar\n"
    )
    second = tmp_path / "day1-resent.csv"
    second.write_text(
        "timestamp,node_id,metric,value,unit\n"
        f"2025-05-01T02:15:00+02:00,{p},pressure,3.1,bar\n"  # the same instant as 00:15Z
        f"2025-05-01T00:30:00Z,{p},pressure,3.2,bar\n"
    )
    import_paths(network["files"] + [first], warehouse.settings, tenant, now=NOW)

    summary = import_paths([second], warehouse.settings, tenant, now=NOW)

    assert (summary.loaded, summary.duplicates) == (1, 1)
    assert [r["value"] for r in warehouse_readings(warehouse, p)] == [3.0, 3.1, 3.2]


def test_the_registry_reaches_postgresql_and_the_warehouse(tmp_path, db, warehouse, tenant, network):
    import_paths(network["files"], warehouse.settings, tenant, now=NOW)

    with db.connect() as conn:
        assert conn.execute(sa.text("SELECT 1 FROM tenants WHERE tenant_id = :t"), {"t": tenant}).scalar() == 1
        district = conn.execute(
            sa.text("SELECT name, mains_length_km, service_connections FROM districts WHERE tenant_id = :t"),
            {"t": tenant},
        ).one()
        nodes = conn.execute(
            sa.text("SELECT node_id, district_id, latitude FROM nodes WHERE tenant_id = :t ORDER BY 1"),
            {"t": tenant},
        ).all()
        meters = conn.execute(sa.text("SELECT district_id, node_id, direction FROM district_meters")).all()
    assert tuple(district) == ("Quartiere Is Corrias", 12.5, 1800)
    assert [tuple(n) for n in nodes] == [
        (network["flow"], network["dma"], 39.2571),
        (network["pressure"], network["dma"], 39.258),
    ]
    assert [tuple(m) for m in meters] == [(network["dma"], network["flow"], 1)]
    bq_nodes = warehouse.query_rows(
        "SELECT node_id, tenant_id FROM `{dataset}.nodes` WHERE STARTS_WITH(node_id, @p) ORDER BY 1",
        [__import__("abbanoa.stores.bigquery", fromlist=["param"]).param("p", "STRING", tenant)],
    )
    assert [(r["node_id"], r["tenant_id"]) for r in bq_nodes] == [
        (network["flow"], tenant),
        (network["pressure"], tenant),
    ]


def test_a_node_of_another_tenant_is_not_taken_over(tmp_path, db, warehouse, tenant, network):
    import_paths(network["files"], warehouse.settings, tenant, now=NOW)

    summary = import_paths([network["files"][1]], warehouse.settings, tenant + "x", now=NOW)

    assert summary.quarantined["tenant_conflict"] == 2
    conflicts = [("nodes.csv", 2, "tenant_conflict"), ("nodes.csv", 3, "tenant_conflict")]
    assert [q for q in postgres_quarantine(db, tenant + "x") if q[2] == "tenant_conflict"] == conflicts
    assert [q for q in warehouse_quarantine(warehouse, tenant + "x") if q[2] == "tenant_conflict"] == conflicts
    with db.connect() as conn:
        owners = set(conn.execute(sa.text("SELECT DISTINCT tenant_id FROM nodes")).scalars())
    assert owners == {tenant}


def _counts(db, warehouse, tenant) -> dict:
    from abbanoa.stores.bigquery import param

    with db.connect() as conn:
        pg = {
            table: conn.execute(sa.text(f"SELECT count(*) FROM {table} WHERE tenant_id = :t"), {"t": tenant}).scalar()
            for table in ("quarantine", "nodes", "districts")
        }
    bq = {
        table: warehouse.query_rows(
            f"SELECT count(*) AS n FROM `{{dataset}}.{table}` WHERE tenant_id = @t",
            [param("t", "STRING", tenant)],
        )[0]["n"]
        for table in ("quarantine", "nodes", "districts")
    }
    bq["readings"] = len(warehouse_readings(warehouse, tenant))
    return {"pg": pg, "bq": bq}


@pytest.fixture(autouse=True)
def _fast_chunks(monkeypatch):
    """Small chunks so that the chunk boundaries are crossed by these small files."""
    from abbanoa.ingest import importer

    monkeypatch.setattr(importer, "CHUNK_ROWS", 5)


def test_a_changed_node_is_updated_and_its_latest_warehouse_row_wins(tmp_path, db, warehouse, tenant, network):
    from abbanoa.stores.bigquery import param

    import_paths(network["files"], warehouse.settings, tenant, now=NOW)
    nodes = network["files"][1]
    nodes.write_text(nodes.read_text().replace("Logger Piazza", "Logger Piazza Italia"))

    later = NOW + dt.timedelta(hours=1)
    summary = import_paths([nodes], warehouse.settings, tenant, now=later)

    assert (summary.loaded, summary.duplicates) == (1, 1)
    with db.connect() as conn:
        name = conn.execute(sa.text("SELECT name FROM nodes WHERE node_id = :n"), {"n": network["pressure"]})
        assert name.scalar() == "Logger Piazza Italia"
    rows = warehouse.query_rows(
        "SELECT name, updated_at FROM `{dataset}.nodes` WHERE node_id = @n ORDER BY updated_at",
        [param("n", "STRING", network["pressure"])],
    )
    assert [(r["name"], r["updated_at"]) for r in rows] == [
        ("Logger Piazza", NOW),
        ("Logger Piazza Italia", later),
    ]


def test_a_later_line_for_the_same_node_replaces_an_earlier_one(tmp_path, db, warehouse, tenant, network):
    nodes = network["files"][1]
    with nodes.open("a") as handle:
        handle.write(f"{network['pressure']},Logger Piazza (moved),pressure_logger,39.2590,9.1702,{network['dma']}\n")

    summary = import_paths([network["files"][0], nodes], warehouse.settings, tenant, now=NOW)

    node_file = summary.files[1]
    assert (node_file.rows_read, node_file.loaded, node_file.duplicates) == (4, 2, 1)
    assert sum(node_file.quarantined.values()) == 1
    with db.connect() as conn:
        name = conn.execute(sa.text("SELECT name FROM nodes WHERE node_id = :n"), {"n": network["pressure"]})
        assert name.scalar() == "Logger Piazza (moved)"
