"""The malformed-file corpus: every file is either refused with one clear line or
imported with each of its lines loaded or quarantined (none silently lost), and the
PostgreSQL and warehouse quarantines agree."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from abbanoa.errors import AbbanoaError
from abbanoa.ingest.importer import import_paths
from abbanoa.stores.bigquery import Warehouse

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)
HEADER = "timestamp,node_id,metric,value,unit\n"
GOOD = "2026-11-20T10:00:00Z,P1,pressure,3.1,bar\n"
SCADA_NAME = "REPORT_NODI_SELARGIUS_AGGREGATI_30_MIN_20241026230000_20241026233000.csv"
SCADA_HEADER = (
    "DATA;ORA;(SELARGIUS) NODO VIA SENECA - PORTATA W ISTANTANEA DIRETTA;"
    "(SELARGIUS) NODO VIA SENECA - PRESSIONE USCITA\n"
)

CORPUS = {
    "empty.csv": b"",
    "header_only.csv": HEADER.encode(),
    "utf16.csv": (HEADER + GOOD).encode("utf-16"),
    "binary.csv": bytes(range(256)) * 40,
    "nul_bytes.csv": (HEADER + GOOD + "2026-11-20T10:05:00Z,P1,pres\x00sure,3.2,bar\n").encode(),
    "unbalanced_quote.csv": (HEADER + GOOD + '2026-11-20T10:05:00Z,"P1,pressure,3.2,bar\n' + GOOD).encode(),
}


def quarantines(db, settings, source):
    with db.connect() as conn:
        pg = conn.execute(sa.text("SELECT count(*) FROM quarantine WHERE source = :s"), {"s": source}).scalar()
    wh = Warehouse(settings).query_rows(
        "SELECT count(*) AS n FROM `{dataset}.quarantine` WHERE source = @s",
        [__import__("abbanoa.stores.bigquery", fromlist=["param"]).param("s", "STRING", source)],
    )[0]["n"]
    return pg, wh


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_a_malformed_readings_file_is_refused_in_one_line_or_fully_accounted_for(
    jobs_settings, registry, tmp_path, name
):
    path = tmp_path / name
    path.write_bytes(CORPUS[name])
    try:
        summary = import_paths([path], jobs_settings, "t1", now=NOW)
    except AbbanoaError as exc:
        assert "\n" not in str(exc) and str(exc).startswith(str(path))
        assert quarantines(registry, jobs_settings, name) == (0, 0)
        return
    f = summary.files[0]
    assert f.rows_read == f.loaded + f.duplicates + sum(f.quarantined.values())
    pg, wh = quarantines(registry, jobs_settings, name)
    assert pg == wh == sum(f.quarantined.values())


def scada(tmp_path, body: str):
    path = tmp_path / SCADA_NAME
    path.write_text(SCADA_HEADER + body)
    return path


def test_a_scada_report_without_its_units_row_is_quarantined_line_by_line(jobs_settings, registry, tmp_path):
    path = scada(tmp_path, "26/10/2024;23:00:00;21,50;3,10\n26/10/2024;23:30:00;21,60;3,11\n")

    summary = import_paths([path], jobs_settings, "t1", now=NOW)

    assert (summary.rows_read, summary.loaded, summary.quarantined) == (2, 0, {"ambiguous_format": 2})
    assert quarantines(registry, jobs_settings, SCADA_NAME) == (2, 2)


def test_a_scada_report_mixing_decimal_conventions_quarantines_the_cells_it_cannot_read(
    jobs_settings, registry, tmp_path
):
    # 30.50 says '.' is a decimal point; 21,60 says ',' is; 1.234 could be either
    path = scada(tmp_path, ";;L/S;BAR\n26/10/2024;23:00:00;30.50;3,10\n26/10/2024;23:30:00;21,60;1.234\n")

    summary = import_paths([path], jobs_settings, "t1", now=NOW)
    values = {
        (r["metric"], r["value"])
        for r in Warehouse(jobs_settings).query_rows("SELECT metric, value FROM `{dataset}.readings`")
    }

    assert summary.quarantined == {"ambiguous_format": 2}
    assert values == {("flow_rate", 21.6), ("pressure", 3.1)}  # never 3050 l/s nor 1234 bar
    assert quarantines(registry, jobs_settings, SCADA_NAME) == (2, 2)


def test_a_scada_report_with_decimal_points_throughout_is_read_as_such(jobs_settings, registry, tmp_path):
    path = scada(tmp_path, ";;L/S;BAR\n26/10/2024;23:00:00;30.50;3.10\n")

    import_paths([path], jobs_settings, "t1", now=NOW)
    values = sorted(r["value"] for r in Warehouse(jobs_settings).query_rows("SELECT value FROM `{dataset}.readings`"))

    assert values == [3.1, 30.5]
