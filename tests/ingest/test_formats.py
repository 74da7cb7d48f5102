"""File kinds are recognised by their header; anything else is a clear one-line error."""

from __future__ import annotations

from pathlib import Path

import pytest

from abbanoa.errors import AbbanoaError
from abbanoa.ingest import formats
from abbanoa.ingest.reader import iter_chunks

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        ("timestamp,node_id,metric,value,unit", formats.READINGS),
        ("\ufeffnode_id,name,node_type,latitude,longitude,dma_id", formats.NODES),
        ("dma_id,node_id,direction", formats.DISTRICT_METERS),
        (
            "dma_id,name,mains_length_km,service_connections,private_pipe_km,avg_pressure_m,night_use_l_per_conn_h",
            formats.DISTRICTS,
        ),
        ("DATA;ORA;(SELARGIUS) NODO VIA SENECA - PRESSIONE USCITA", formats.SELARGIUS),
    ],
)
def test_the_header_names_the_kind(tmp_path, header, kind):
    path = tmp_path / "file.csv"
    path.write_text(header + "\n")

    assert formats.detect_kind(path) == kind


def test_an_unknown_header_is_one_clear_line(tmp_path):
    path = tmp_path / "mystery.csv"
    path.write_text("when,where,what\n1,2,3\n")

    with pytest.raises(AbbanoaError) as error:
        formats.detect_kind(path)

    assert "unrecognised header" in str(error.value) and "\n" not in str(error.value)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(AbbanoaError, match="no such file"):
        formats.detect_kind(tmp_path / "absent.csv")


def test_the_reader_sets_aside_lines_of_the_wrong_shape_with_their_line_numbers(tmp_path):
    path = tmp_path / "r.csv"
    path.write_bytes(
        b"timestamp,node_id,metric,value,unit\n"
        b"2025-01-01T00:00:00Z,N1,pressure,3,bar\n"
        b"2025-01-01T00:00:00Z,N1,pressure\n"
        b"\n"
        b"2025-01-01T00:00:00Z,N1,pressure,3,b\xe4r\n"
        b'2025-01-01T00:00:00Z,"N1,pressure,3,bar\n'
        b"2025-01-01T00:15:00Z,N1,pressure,3.1,bar\n"
    )

    chunks = list(iter_chunks(path, formats.HEADERS[formats.READINGS], chunk_rows=4))

    frame_lines = [n for c in chunks for n in c.frame["line_no"]]
    malformed = [m[0] for c in chunks for m in c.malformed]
    assert frame_lines == [2, 7]
    assert sorted(malformed) == [3, 5, 6]


def test_the_sample_reports_are_selargius_reports():
    for path in DATA.glob("REPORT_NODI_SELARGIUS_*.csv"):
        assert formats.detect_kind(path) == formats.SELARGIUS


def test_short_and_long_lines_are_found_among_well_formed_ones(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text(
        "timestamp,node_id,metric,value,unit\n"
        "2025-01-01T00:00:00Z,N1,pressure,3,bar\r\n"
        "2025-01-01T00:05:00Z,N1,pressure\n"
        "\n"
        '2025-01-01T00:10:00Z,"N,1",pressure,3,bar\n'
        "2025-01-01T00:15:00Z,N1,pressure,3,bar,extra\n"
        "2025-01-01T00:20:00Z,N1,pressure,3.1,bar\n"
    )

    (chunk,) = iter_chunks(path, formats.HEADERS[formats.READINGS])

    assert chunk.frame["line_no"].tolist() == [2, 5, 7]
    assert chunk.frame["node_id"].tolist() == ["N1", "N,1", "N1"]
    assert [(n, detail) for n, _, detail in chunk.malformed] == [
        (3, "expected 5 fields, found 3 fields"),
        (6, "expected 5 fields, found 6 fields"),
    ]
    assert chunk.raw_of([6]) == ["2025-01-01T00:15:00Z,N1,pressure,3,bar,extra"]
