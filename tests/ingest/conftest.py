"""Fixtures for import tests: a fresh tenant and node-id prefix per test (the warehouse
dataset is shared by the session), and helpers to write and read back."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from abbanoa.stores.bigquery import param


@pytest.fixture
def tenant(db, warehouse) -> str:
    """A tenant id of this test alone, with the database and warehouse ready."""
    return f"t{uuid.uuid4().hex[:8]}"


@pytest.fixture
def network(tmp_path, tenant):
    """Registry files for one district with a flow meter and a pressure logger."""
    ids = {"dma": f"{tenant}-D1", "flow": f"{tenant}-F1", "pressure": f"{tenant}-P1"}
    (tmp_path / "districts.csv").write_text(
        "dma_id,name,mains_length_km,service_connections,private_pipe_km,avg_pressure_m,night_use_l_per_conn_h\n"
        f"{ids['dma']},Quartiere Is Corrias,12.5,1800,3.6,38,1.7\n"
    )
    (tmp_path / "nodes.csv").write_text(
        "node_id,name,node_type,latitude,longitude,dma_id\n"
        f"{ids['flow']},Inlet Via Roma,flow_meter,39.2571,9.1657,{ids['dma']}\n"
        f"{ids['pressure']},Logger Piazza,pressure_logger,39.2580,9.1701,{ids['dma']}\n"
        f"{tenant}-BAD,Somewhere,pressure_logger,139.0,9.17,{ids['dma']}\n"
    )
    (tmp_path / "district_meters.csv").write_text(
        f"dma_id,node_id,direction\n{ids['dma']},{ids['flow']},1\n{ids['dma']},{tenant}-GHOST,1\n"
    )
    ids["files"] = [tmp_path / "districts.csv", tmp_path / "nodes.csv", tmp_path / "district_meters.csv"]
    return ids


def postgres_quarantine(db, tenant) -> list[tuple]:
    with db.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.text("SELECT source, line_no, reason FROM quarantine WHERE tenant_id = :t ORDER BY 1, 2"),
                {"t": tenant},
            )
        ]


def warehouse_quarantine(warehouse, tenant) -> list[tuple]:
    rows = warehouse.query_rows(
        "SELECT source, line_no, reason FROM `{dataset}.quarantine` WHERE tenant_id = @t ORDER BY 1, 2",
        [param("t", "STRING", tenant)],
    )
    return [(r["source"], r["line_no"], r["reason"]) for r in rows]


def warehouse_readings(warehouse, prefix) -> list[dict]:
    return warehouse.query_rows(
        "SELECT node_id, metric, ts, value, unit, source, ingested_at FROM `{dataset}.readings` "
        "WHERE STARTS_WITH(node_id, @p) ORDER BY node_id, metric, ts",
        [param("p", "STRING", prefix)],
    )
