"""Validate readings rows and convert them to canonical units, a chunk at a time.

Pure: takes a frame of strings, returns the valid rows (typed, canonical units) and the
rejected ones with a stable reason code. Vectorised with pandas; no per-row objects.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from abbanoa.metrics import METRICS, UNIT_CONVERSIONS, normalise_unit

# Stable reason codes, in the order they are checked: a row gets the first that applies.
UNPARSEABLE_TIME = "unparseable_time"
NONEXISTENT_LOCAL_TIME = "nonexistent_local_time"  # SCADA local time skipped by a DST change
TOO_OLD = "too_old"  # before EARLIEST_READING_TIME: a reset meter clock (1900, 1970), not history
FUTURE_TIME = "future_time"
UNKNOWN_METRIC = "unknown_metric"
UNKNOWN_UNIT = "unknown_unit"
UNKNOWN_NODE = "unknown_node"
NON_NUMERIC = "non_numeric"
OUT_OF_RANGE = "out_of_range"
MALFORMED_ROW = "malformed_row"
# registry files (nodes, districts, district meters)
INVALID_FIELD = "invalid_field"
INVALID_ID = "invalid_id"
TENANT_CONFLICT = "tenant_conflict"

REASONS = (
    MALFORMED_ROW,
    UNPARSEABLE_TIME,
    NONEXISTENT_LOCAL_TIME,
    TOO_OLD,
    FUTURE_TIME,
    UNKNOWN_METRIC,
    UNKNOWN_UNIT,
    UNKNOWN_NODE,
    NON_NUMERIC,
    OUT_OF_RANGE,
    INVALID_FIELD,
    INVALID_ID,
    TENANT_CONFLICT,
)

# Node and district ids (docs/import.md): 1-64 ASCII letters, digits, '.', '_', ':' or '-',
# starting with a letter or digit. They travel into URLs, file names, CSV and Excel cells
# and HTTP headers: no quote, separator, line break or formula-leading character fits.
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


class InvalidId(ValueError):
    """An id outside ID_PATTERN (quarantined as INVALID_ID)."""


def check_id(field: str, value: str) -> str:
    """`value` when it is a valid node/district id; InvalidId naming the field otherwise."""
    if not ID_PATTERN.fullmatch(value):
        raise InvalidId(
            f"{field} {value[:80]!r} is not an id: 1-64 letters, digits, '.', '_', ':' or '-', starting alphanumeric"
        )
    return value


# A clock a little ahead of ours is not an error; a reading further ahead is.
FUTURE_TOLERANCE = dt.timedelta(minutes=15)
# EARLIEST_READING_TIME's default (abbanoa.settings), for callers that pass none
EARLIEST_DEFAULT = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

_HAS_ZONE = r"(?:[Zz]|[+-]\d{2}(?::?\d{2})?)$"


@dataclass
class Checked:
    """A chunk after validation: `valid` has ts (UTC), node_id, metric, value (canonical),
    unit (canonical), line_no; `rejected` has line_no, raw, reason, detail."""

    valid: pd.DataFrame
    rejected: pd.DataFrame


def _conversion_table() -> tuple[dict[str, float], dict[str, float]]:
    factors: dict[str, float] = {}
    offsets: dict[str, float] = {}
    for metric, units in UNIT_CONVERSIONS.items():
        for unit, (factor, offset) in units.items():
            factors[f"{metric}|{unit}"] = factor
            offsets[f"{metric}|{unit}"] = offset
        if "" not in units:  # a missing unit is the canonical one (abbanoa.metrics.unit_factor)
            factors[f"{metric}|"] = 1.0
            offsets[f"{metric}|"] = 0.0
    return factors, offsets


_FACTORS, _OFFSETS = _conversion_table()
_CANONICAL_UNIT = {name: m.unit for name, m in METRICS.items()}
_MIN = {name: m.min_value for name, m in METRICS.items()}
_MAX = {name: m.max_value for name, m in METRICS.items()}


def _each_distinct(column: pd.Series, transform) -> pd.Series:
    """Apply a vectorised `transform` to the distinct values only, then spread back: a
    chunk has few distinct node ids, metrics, units and even timestamps."""
    codes, uniques = pd.factorize(column, use_na_sentinel=False)
    done = transform(pd.Series(uniques, dtype=object))
    return pd.Series(np.asarray(done)[codes], index=column.index)


def parse_timestamps(text: pd.Series) -> pd.Series:
    """ISO 8601 strings with `Z` or an offset -> UTC timestamps; NaT when unparseable or
    when the zone is missing (a naive time is ambiguous, so it is not guessed)."""

    def parse(unique: pd.Series) -> pd.Series:
        unique = unique.astype(str).str.strip()
        ts = pd.to_datetime(unique, utc=True, format="ISO8601", errors="coerce")
        return ts.where(unique.str.contains(_HAS_ZONE, regex=True, na=False))

    codes, uniques = pd.factorize(text, use_na_sentinel=False)
    parsed = parse(pd.Series(uniques, dtype=object))
    return pd.Series(pd.DatetimeIndex(parsed).take(codes), index=text.index)


def parse_numbers(text: pd.Series) -> pd.Series:
    """Strings -> float64; NaN where not a number ('NaN' and 'inf' parse, and are caught later)."""
    try:
        return text.astype("float64")  # Arrow's cast: fast, but all-or-nothing
    except (ValueError, TypeError, pa.ArrowInvalid):
        pass
    number = pd.to_numeric(text.astype(object), errors="coerce").astype("float64")
    if number.isna().any():  # a value with spaces around it is still a number
        retry = number.isna()
        number[retry] = pd.to_numeric(text[retry].astype(str).str.strip(), errors="coerce")
    return number


def validate_readings(
    frame: pd.DataFrame, known_nodes: Collection[str], now: dt.datetime, earliest: dt.datetime | None = None
) -> Checked:
    """Check a chunk of `timestamp,node_id,metric,value,unit` strings (+ line_no, and raw
    and part when present: they are carried over to the rejected rows). Readings before
    `earliest` (EARLIEST_READING_TIME) are too_old."""
    known_set = known_nodes if isinstance(known_nodes, set | frozenset) else set(known_nodes)
    ts = parse_timestamps(frame["timestamp"])
    node = _each_distinct(frame["node_id"], lambda u: u.astype(str).str.strip())
    metric = _each_distinct(frame["metric"], lambda u: u.astype(str).str.strip().str.lower())
    unit = _each_distinct(frame["unit"], lambda u: u.astype(str).map(normalise_unit))
    unit_key = metric + "|" + unit
    factor = _each_distinct(unit_key, lambda u: u.map(_FACTORS).astype("float64"))
    offset = _each_distinct(unit_key, lambda u: u.map(_OFFSETS).astype("float64"))
    known = _each_distinct(node, lambda u: u.isin(known_set))
    is_metric = _each_distinct(metric, lambda u: u.isin(METRICS))
    low = _each_distinct(metric, lambda u: u.map(_MIN).astype("float64"))
    high = _each_distinct(metric, lambda u: u.map(_MAX).astype("float64"))
    number = parse_numbers(frame["value"])
    value = number * factor.astype("float64") + offset.astype("float64")

    limit = pd.Timestamp(now).tz_convert("UTC") + FUTURE_TOLERANCE
    first = pd.Timestamp(earliest or EARLIEST_DEFAULT).tz_convert("UTC")
    conditions = [
        ts.isna().to_numpy(),
        (ts < first).to_numpy(),
        (ts > limit).to_numpy(),
        ~is_metric.to_numpy(dtype=bool),
        factor.isna().to_numpy(),
        ~known.to_numpy(dtype=bool),
        ~np.isfinite(number.to_numpy()),
        ((value < low) | (value > high)).to_numpy(),
    ]
    reasons = [
        UNPARSEABLE_TIME,
        TOO_OLD,
        FUTURE_TIME,
        UNKNOWN_METRIC,
        UNKNOWN_UNIT,
        UNKNOWN_NODE,
        NON_NUMERIC,
        OUT_OF_RANGE,
    ]
    reason = np.select(conditions, reasons, default="")
    bad = reason != ""
    good = ~bad

    valid = pd.DataFrame(
        {
            "ts": ts[good],
            "node_id": node[good],
            "metric": metric[good],
            "value": value[good],
            "unit": _each_distinct(metric[good], lambda u: u.map(_CANONICAL_UNIT)),
            "line_no": frame["line_no"][good],
        }
    )
    keep = [c for c in ("line_no", "raw", "part") if c in frame]
    rejected = frame.loc[bad, keep].copy()
    rejected["reason"] = reason[bad]
    rejected["detail"] = [
        _detail(r, frame.loc[i], v, now, first)
        for i, r, v in zip(frame.index[bad], reason[bad], value[bad], strict=True)
    ]
    return Checked(valid=valid.reset_index(drop=True), rejected=rejected.reset_index(drop=True))


def _detail(reason: str, row: pd.Series, converted: float, now: dt.datetime, earliest=None) -> str:
    metric = str(row["metric"]).strip().lower()
    if reason == TOO_OLD:
        return f"timestamp {row['timestamp']} is before the earliest plausible time {earliest:%Y-%m-%dT%H:%M:%SZ}"
    if reason == UNPARSEABLE_TIME:
        return f"timestamp {row['timestamp']!r} is not ISO 8601 with Z or a UTC offset"
    if reason == FUTURE_TIME:
        return (
            f"timestamp {row['timestamp']} is more than {FUTURE_TOLERANCE} "
            f"after the import time {now:%Y-%m-%dT%H:%M:%SZ}"
        )
    if reason == UNKNOWN_METRIC:
        return f"metric {row['metric']!r} is not one of {', '.join(METRICS)}"
    if reason == UNKNOWN_UNIT:
        known = ", ".join(u for u in UNIT_CONVERSIONS[metric] if u)
        return f"unit {row['unit']!r} is not a known unit of {metric} ({known})"
    if reason == UNKNOWN_NODE:
        return f"node {row['node_id']!r} is not in the node registry of this tenant nor in the imported files"
    if reason == NON_NUMERIC:
        return f"value {row['value']!r} is not a finite number"
    if reason == OUT_OF_RANGE:
        m = METRICS[metric]
        return f"{converted:g} {m.unit} is outside the physical range of {metric} [{m.min_value:g}, {m.max_value:g}]"
    return reason
