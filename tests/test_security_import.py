"""Issue 18.4 at import: node and district ids outside the documented character set are
quarantined as `invalid_id` (docs/import.md), so they never reach a CSV, a workbook, a URL
or a header."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from abbanoa.ingest.importer import import_paths
from abbanoa.ingest.validation import ID_PATTERN, check_id
from tests.ingest.conftest import postgres_quarantine, tenant  # noqa: F401 (fixture)

NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)


def test_hostile_node_and_district_ids_are_quarantined_as_invalid_id(tmp_path, db, warehouse, tenant):  # noqa: F811
    nodes = tmp_path / "nodes.csv"
    nodes.write_text(
        "node_id,name,node_type,latitude,longitude,dma_id\n"
        f"{tenant}-F1,Inlet,flow_meter,39.25,9.16,\n"  # 2 accepted
        '"=HYPERLINK(""http://evil.example/x"",""pwn"")",Evil,flow_meter,39.25,9.16,\n'  # 3
        f'"{tenant}-N9\nX-Injected: 1",Split,flow_meter,39.25,9.16,\n'  # 4-5: a quoted newline
        f'{tenant}-P1,Logger,pressure_logger,39.25,9.16,"D1; x=1"\n'  # 6: its district id
    )
    summary = import_paths([nodes], warehouse.settings, tenant, now=NOW)
    reasons = {line: reason for _, line, reason in postgres_quarantine(db, tenant)}
    assert reasons.get(3) == "invalid_id" and reasons.get(6) == "invalid_id"
    assert "invalid_id" in {reasons.get(4), reasons.get(5)}
    assert summary.quarantined["invalid_id"] >= 3
    with db.connect() as conn:
        stored = set(conn.execute(sa.text("SELECT node_id FROM nodes WHERE tenant_id = :t"), {"t": tenant}).scalars())
    assert stored == {f"{tenant}-F1"}


def test_the_id_character_set_accepts_the_ids_the_platform_makes():
    for good in ("N1", "X-N1", "selargius-nodo-via-sant-anna", "SEL-FM-01", "background-D1", "J_12.3", "a:b"):
        assert check_id("node_id", good) == good
    for bad in ("", "-N1", "=1+1", "N 1", 'N"1', "N;1", "N1\n", "é1", "x" * 65):
        assert not ID_PATTERN.fullmatch(bad), bad
