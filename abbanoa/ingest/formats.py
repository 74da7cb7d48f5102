"""The file kinds the importer accepts, recognised by their header row."""

from __future__ import annotations

from pathlib import Path

from abbanoa.errors import AbbanoaError

READINGS = "readings"
NODES = "nodes"
DISTRICT_METERS = "district_meters"
DISTRICTS = "districts"
SELARGIUS = "selargius"

# kind -> the exact header of the data contract (DESIGN.md, "Data contract"; docs/CONTRACTS.md)
HEADERS: dict[str, tuple[str, ...]] = {
    READINGS: ("timestamp", "node_id", "metric", "value", "unit"),
    NODES: ("node_id", "name", "node_type", "latitude", "longitude", "dma_id"),
    DISTRICT_METERS: ("dma_id", "node_id", "direction"),
    DISTRICTS: (
        "dma_id",
        "name",
        "mains_length_km",
        "service_connections",
        "private_pipe_km",
        "avg_pressure_m",
        "night_use_l_per_conn_h",
    ),
}

# Registry files first (a readings file may name nodes that another file of the same
# import defines), then the readings.
IMPORT_ORDER = (DISTRICTS, NODES, DISTRICT_METERS, SELARGIUS, READINGS)

_BOM = "\ufeff"


def split_header(line: str) -> tuple[str, ...]:
    """Header cells, trimmed and lower-cased, of a comma-separated first line."""
    return tuple(cell.strip().strip('"').strip().lower() for cell in line.lstrip(_BOM).strip().split(","))


def kind_of_header(first_line: str) -> str | None:
    """The file kind a header line announces, or None."""
    line = first_line.lstrip(_BOM).strip()
    cells = [c.strip().strip('"').strip().upper() for c in line.split(";")]
    if len(cells) > 2 and cells[0] == "DATA" and cells[1] == "ORA":
        return SELARGIUS
    header = split_header(line)
    for kind, expected in HEADERS.items():
        if header == expected:
            return kind
    return None


def _first_line(path: Path) -> str:
    with path.open("rb") as handle:
        raw = handle.readline(64 * 1024)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")  # SCADA exports are sometimes Windows-1252


def kind_of_file(path: Path) -> str | None:
    """The kind of an existing file, or None when its header is not one we know."""
    return kind_of_header(_first_line(path))


def detect_kind(path: Path) -> str:
    """Read the first line of `path` and name its kind; AbbanoaError (one line) otherwise."""
    if not path.exists():
        raise AbbanoaError(f"{path}: no such file")
    if not path.is_file():
        raise AbbanoaError(f"{path}: not a file")
    with path.open("rb") as handle:
        head = handle.read(4096)
    if not head.strip():
        raise AbbanoaError(f"{path}: the file is empty (a header line is expected)")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise AbbanoaError(f"{path}: the file is UTF-16 text; save it as UTF-8 and import it again")
    if b"\x00" in head.split(b"\n", 1)[0]:
        raise AbbanoaError(f"{path}: not a text file (NUL bytes in its first line); nothing imported")
    first = _first_line(path)
    kind = kind_of_header(first)
    if kind is None:
        shown = first.strip()[:80] or "(empty file)"
        expected = "; ".join(f"{k}: {','.join(h)}" for k, h in HEADERS.items())
        raise AbbanoaError(
            f"{path}: unrecognised header {shown!r}; expected {expected}; or a Selargius SCADA report (DATA;ORA;...)"
        )
    return kind
