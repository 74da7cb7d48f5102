"""The Selargius district SCADA report, as the utility exports it
(REPORT_NODI_SELARGIUS_AGGREGATI_30_MIN_<from>_<to>.csv; DESIGN.md, "Data contract"):

    DATA;ORA;(SELARGIUS) NODO VIA SENECA - PORTATA W ISTANTANEA DIRETTA;...
    ;;L/S;...
    13/11/2024;06:00:00;12,34;...

`;`-separated, decimal commas and `.` thousands separators, Italian "NODE - METRIC"
column names, a row of units, and local (Europe/Rome) date and time every 30 minutes.
Each cell becomes a reading in the readings-file shape, validated like any other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from abbanoa.ingest.validation import NONEXISTENT_LOCAL_TIME, UNPARSEABLE_TIME
from abbanoa.metrics import UNIT_CONVERSIONS, normalise_unit

# a cell or a file whose number format cannot be read without guessing (quarantine reason)
AMBIGUOUS_FORMAT = "ambiguous_format"
_DATE = re.compile(r"^\s*\d{1,2}/\d{1,2}/\d{4}\s*$")
# '.' used as a thousands separator: 1.234 / 1.234.614 / -12.345,6
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+(,\d*)?$")
_COMMA_GROUPS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+$")
_KNOWN_UNITS = {u for units in UNIT_CONVERSIONS.values() for u in units if u}


def has_units_row(second_line: list[str]) -> bool:
    """The report's second row is its units (DATA and ORA empty, units in the rest); a
    report exported without it starts its data there (DD/MM/YYYY in the DATA column)."""
    if not second_line or _DATE.match(second_line[0] or ""):
        return False
    cells = [c.strip() for c in second_line[2:] if c.strip()]
    return bool(cells) and all(normalise_unit(c) in _KNOWN_UNITS for c in cells)


@dataclass
class DecimalConvention:
    """How a report writes its numbers, judged on the whole file (not per cell):
    `comma` (the utility's export: 1.234,5), `dot` (1234.5), `mixed` (evidence of both),
    or `unknown` (only integers and 3-digit '.' groups: 1.234 could be either)."""

    comma: bool = False  # a ',' seen
    dot_decimal: bool = False  # a '.' that is not a thousands group (30.50, 1.5)

    def see(self, cells: pd.Series) -> None:
        text = cells.astype(str).str.strip()
        text = text[text != ""]
        self.comma = self.comma or bool(text.str.contains(",", regex=False).any())
        dotted = text[text.str.contains(".", regex=False)]
        self.dot_decimal = self.dot_decimal or bool((~dotted.str.match(_THOUSANDS)).any())

    @property
    def kind(self) -> str:
        if self.comma and self.dot_decimal:
            return "mixed"
        return "comma" if self.comma else "dot" if self.dot_decimal else "unknown"

    def parse(self, cells: pd.Series) -> tuple[pd.Series, pd.Series]:
        """(numbers as text in '.'-decimal form, mask of cells that cannot be read without guessing)."""
        kind = self.kind
        has_dot = cells.str.contains(".", regex=False)
        has_comma = cells.str.contains(",", regex=False)
        if kind == "comma":
            ambiguous = has_dot & ~cells.str.match(_THOUSANDS)
            return cells.str.replace(".", "", regex=False).str.replace(",", ".", regex=False), ambiguous
        if kind == "dot":
            return cells, has_comma
        if kind == "mixed":  # only a decimal comma that cannot be a thousands group is read
            ambiguous = has_dot | (has_comma & cells.str.match(_COMMA_GROUPS))
            return cells.str.replace(",", ".", regex=False), ambiguous
        # unknown: only integers and 3-digit '.' groups: 1.234 is not guessed
        return cells, has_dot | has_comma


DISTRICT_ID = "selargius"
DISTRICT_NAME = "Selargius"

# Italian metric words -> canonical metric; the first that appears in the label wins
# (a totalizer's label also says PORTATA).
_METRIC_WORDS = (
    ("TOTALIZZATORE", "total_flow"),
    ("TOTALE", "total_flow"),
    ("PORTATA", "flow_rate"),
    ("PRESSIONE", "pressure"),
    ("TEMPERATURA", "temperature"),
    ("LIVELLO", "level"),
)

# The district's real topology (DESIGN.md, "Data contract"): water enters at Via
# Sant'Anna, Via Seneca and from the Cuccuru Linu reservoir (Quartucciu) feed, and
# leaves through the Serbatoio Selargius tank outlet. Node-label words -> direction.
_BOUNDARY = (
    ("SANT ANNA", 1),
    ("SANT'ANNA", 1),
    ("SENECA", 1),
    ("CUCCURU LINU", 1),
    ("SERBATOIO SELARGIUS", -1),
)


@dataclass(frozen=True)
class Column:
    label: str  # as in the file
    node_id: str
    node_name: str
    node_type: str
    metric: str  # canonical name, or the Italian label when not recognised (-> unknown_metric)
    unit: str  # as in the file


def node_id_of(node_label: str) -> str:
    """'(SELARGIUS) NODO VIA SANT ANNA' -> 'selargius-nodo-via-sant-anna'."""
    return re.sub(r"[^a-z0-9]+", "-", node_label.lower()).strip("-")


def _node_name(node_label: str) -> str:
    place = re.match(r"\s*\(([^)]*)\)\s*(.*)", node_label)
    if place:
        return f"{place.group(2).strip().title()} ({place.group(1).strip().title()})"
    return node_label.strip().title()


def _metric_of(metric_label: str, unit: str) -> str:
    upper = metric_label.upper()
    for word, metric in _METRIC_WORDS:
        if word in upper:
            volume = normalise_unit(unit) in UNIT_CONVERSIONS["total_flow"]
            if metric == "flow_rate" and volume:
                return "total_flow"  # e.g. "PORTATA USCITA MQ" in M3 is the outlet's totalizer
            return metric
    return metric_label.strip().lower()


def parse_header(names: list[str], units: list[str]) -> list[Column]:
    """The metric columns (after DATA and ORA) of the two header rows."""
    columns = []
    for index, label in enumerate(names[2:], start=2):
        label = label.strip()
        unit = units[index].strip() if index < len(units) else ""
        node_label, _, metric_label = label.partition(" - ")
        columns.append(
            Column(
                label=label,
                node_id=node_id_of(node_label),
                node_name=_node_name(node_label),
                node_type="tank" if "SERBATOIO" in node_label.upper() else "flow_meter",
                metric=_metric_of(metric_label, unit),
                unit=unit,
            )
        )
    return columns


def registry_rows(columns: list[Column]) -> dict[str, list[dict]]:
    """The district, its nodes and its boundary meters, as registry rows."""
    nodes: dict[str, dict] = {}
    meters: dict[str, dict] = {}
    for column in columns:
        nodes.setdefault(
            column.node_id,
            {
                "node_id": column.node_id,
                "name": column.node_name,
                "node_type": column.node_type,
                "latitude": None,
                "longitude": None,
                "dma_id": DISTRICT_ID,
            },
        )
        if column.metric == "flow_rate":
            label = column.label.upper().partition(" - ")[0]
            for word, direction in _BOUNDARY:
                if word in label:
                    meters[column.node_id] = {
                        "dma_id": DISTRICT_ID,
                        "node_id": column.node_id,
                        "direction": direction,
                    }
                    break
    district = {
        "dma_id": DISTRICT_ID,
        "name": DISTRICT_NAME,
        "mains_length_km": None,
        "service_connections": None,
        "private_pipe_km": None,
        "avg_pressure_m": None,
        "night_use_l_per_conn_h": None,
    }
    return {"districts": [district], "nodes": list(nodes.values()), "district_meters": list(meters.values())}


@dataclass
class LocalClock:
    """Turns the report's local DATA + ORA into UTC across the DST changes.

    Autumn: 02:00-02:59 happens twice; the report lists it twice, in order, so the first
    time seen is summer time (CEST) and the second winter time (CET). Spring: 02:00-02:59
    does not exist; a row stamped there cannot be placed and is quarantined
    (nonexistent_local_time) rather than guessed."""

    timezone: str = "Europe/Rome"
    seen: dict[pd.Timestamp, int] = field(default_factory=dict)

    def to_utc(self, data: pd.Series, ora: pd.Series) -> tuple[pd.Series, np.ndarray, np.ndarray]:
        """(UTC timestamps, unparseable mask, nonexistent mask)."""
        ora = ora.astype(str).str.strip()
        ora = ora.where(ora.str.len() != 5, ora + ":00")  # HH:MM
        naive = pd.to_datetime(data.astype(str).str.strip() + " " + ora, format="%d/%m/%Y %H:%M:%S", errors="coerce")
        zone = ZoneInfo(self.timezone)
        summer = naive.dt.tz_localize(zone, ambiguous=np.ones(len(naive), bool), nonexistent="NaT")
        winter = naive.dt.tz_localize(zone, ambiguous=np.zeros(len(naive), bool), nonexistent="NaT")
        unparseable = naive.isna().to_numpy()
        nonexistent = (~unparseable) & summer.isna().to_numpy()
        ambiguous = (summer != winter).to_numpy() & ~unparseable & ~nonexistent
        first = np.ones(len(naive), bool)
        for i in np.flatnonzero(ambiguous):
            key = naive.iat[i]
            count = self.seen.get(key, 0)
            self.seen[key] = count + 1
            first[i] = count == 0
        local = summer.where(~ambiguous | first, winter)
        return local.dt.tz_convert("UTC"), unparseable, nonexistent


def explode(
    chunk: pd.DataFrame, columns: list[Column], clock: LocalClock, convention: DecimalConvention | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """A chunk of report rows (DATA, ORA, c2.., line_no, raw) -> (readings in the
    readings-file shape + part, rejected lines and cells, empty cells)."""
    convention = convention or DecimalConvention(comma=True)
    ts, unparseable, nonexistent = clock.to_utc(chunk["DATA"], chunk["ORA"])
    bad = unparseable | nonexistent
    rejected = chunk.loc[bad, ["line_no", "raw"]].copy()
    rejected["reason"] = np.where(nonexistent[bad], NONEXISTENT_LOCAL_TIME, UNPARSEABLE_TIME)
    rejected["detail"] = [
        (
            f"local time {d} {o} does not exist in {clock.timezone} (clocks skip that hour at the DST change)"
            if skipped
            else f"DATA {d!r} ORA {o!r} is not DD/MM/YYYY HH:MM:SS"
        )
        for d, o, skipped in zip(chunk["DATA"][bad], chunk["ORA"][bad], nonexistent[bad], strict=True)
    ]
    rejected["part"] = ""

    good = chunk.loc[~bad]
    stamp = (
        pd.Series(
            np.datetime_as_string(ts[~bad].dt.tz_localize(None).to_numpy().astype("datetime64[s]"), unit="s"),
            index=good.index,
            dtype=object,
        )
        + "Z"
    )
    pieces = []
    refused = [rejected]
    empty = 0
    for index, column in enumerate(columns, start=2):
        cells = good[f"c{index}"].astype(str).str.strip()
        present = cells != ""
        empty += int((~present).sum())
        if not present.any():
            continue
        values, ambiguous = convention.parse(cells[present])
        if ambiguous.any():
            bad_cells = good.loc[present].loc[ambiguous, ["line_no", "raw"]].copy()
            bad_cells["reason"] = AMBIGUOUS_FORMAT
            bad_cells["detail"] = [
                f"{column.label}: {v!r} cannot be read without guessing in a report whose numbers are "
                f"{convention.kind} (decimal comma 1.234,5 expected)"
                for v in cells[present][ambiguous]
            ]
            bad_cells["part"] = column.label
            refused.append(bad_cells)
            present = present & ~present.index.isin(ambiguous[ambiguous].index)
            values = values[~ambiguous]
            if not present.any():
                continue
        pieces.append(
            pd.DataFrame(
                {
                    "timestamp": stamp[present],
                    "node_id": column.node_id,
                    "metric": column.metric,
                    "value": values,
                    "unit": column.unit,
                    "line_no": good["line_no"][present],
                    "raw": good["raw"][present],
                    "part": column.label,
                }
            )
        )
    readings = (
        pd.concat(pieces, ignore_index=True)
        if pieces
        else pd.DataFrame(columns=["timestamp", "node_id", "metric", "value", "unit", "line_no", "raw", "part"])
    )
    return readings, pd.concat(refused, ignore_index=True), empty
