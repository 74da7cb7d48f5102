"""Validate readings rows and convert them to canonical units, a chunk at a time.

Pure: takes a frame of strings, returns the valid rows (typed, canonical units) and the
rejected ones with a stable reason code. Vectorised with pandas; no per-row objects.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd

from abbanoa.metrics import METRICS, UNIT_CONVERSIONS, normalise_unit

# Stable reason codes, in the order they are checked: a row gets the first that applies.
UNPARSEABLE_TIME = "unparseable_time"
NONEXISTENT_LOCAL_TIME = "nonexistent_local_time"  # SCADA local time skipped by a DST change
FUTURE_TIME = "future_time"
UNKNOWN_METRIC = "unknown_metric"
UNKNOWN_UNIT = "unknown_unit"
UNKNOWN_NODE = "unknown_node"
NON_NUMERIC = "non_numeric"
OUT_OF_RANGE = "out_of_range"
MALFORMED_ROW = "malformed_row"
# registry files (nodes, districts, district meters)
INVALID_FIELD = "invalid_field"
TENANT_CONFLICT = "tenant_conflict"

REASONS = (
    MALFORMED_ROW,
    UNPARSEABLE_TIME,
    NONEXISTENT_LOCAL_TIME,
    FUTURE_TIME,
    UNKNOWN_METRIC,
    UNKNOWN_UNIT,
    UNKNOWN_NODE,
    NON_NUMERIC,
    OUT_OF_RANGE,
    INVALID_FIELD,
    TENANT_CONFLICT,
)

# A clock a little ahead of ours is not an error; a reading further ahead is.
FUTURE_TOLERANCE = dt.timedelta(minutes=15)

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


def parse_timestamps(text: pd.Series) -> pd.Series:
    """ISO 8601 strings with `Z` or an offset -> UTC timestamps; NaT when unparseable or
    when the zone is missing (a naive time is ambiguous, so it is not guessed)."""
    text = text.astype(str).str.strip()
    ts = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
    zoned = text.str.contains(_HAS_ZONE, regex=True, na=False)
    return ts.where(zoned)


def validate_readings(frame: pd.DataFrame, known_nodes: Collection[str], now: dt.datetime) -> Checked:
    """Check a chunk of `timestamp,node_id,metric,value,unit` strings (+ line_no, raw)."""
    ts = parse_timestamps(frame["timestamp"])
    node = frame["node_id"].astype(str).str.strip()
    metric = frame["metric"].astype(str).str.strip().str.lower()
    unit_key = metric + "|" + frame["unit"].astype(str).map(normalise_unit)
    factor = unit_key.map(_FACTORS)
    offset = unit_key.map(_OFFSETS)
    number = pd.to_numeric(frame["value"].astype(str).str.strip(), errors="coerce")
    value = number * factor + offset
    low = metric.map(_MIN)
    high = metric.map(_MAX)

    known = node.isin(known_nodes if isinstance(known_nodes, set | frozenset) else set(known_nodes))
    limit = pd.Timestamp(now).tz_convert("UTC") + FUTURE_TOLERANCE
    conditions = [
        ts.isna().to_numpy(),
        (ts > limit).to_numpy(),
        (~metric.isin(METRICS)).to_numpy(),
        factor.isna().to_numpy(),
        (~known).to_numpy(),
        ~np.isfinite(number.to_numpy(dtype="float64", na_value=np.nan)),
        ((value < low) | (value > high)).to_numpy(),
    ]
    reasons = [
        UNPARSEABLE_TIME,
        FUTURE_TIME,
        UNKNOWN_METRIC,
        UNKNOWN_UNIT,
        UNKNOWN_NODE,
        NON_NUMERIC,
        OUT_OF_RANGE,
    ]
    reason = np.select(conditions, reasons, default="")
    bad = reason != ""

    valid = pd.DataFrame(
        {
            "ts": ts[~bad],
            "node_id": node[~bad],
            "metric": metric[~bad],
            "value": value[~bad].astype("float64"),
            "unit": metric[~bad].map(_CANONICAL_UNIT),
            "line_no": frame["line_no"][~bad],
        }
    )
    keep = ["line_no", "raw", "part"] if "part" in frame else ["line_no", "raw"]
    rejected = frame.loc[bad, keep].copy()
    rejected["reason"] = reason[bad]
    rejected["detail"] = [
        _detail(r, frame.loc[i], v, now)
        for i, r, v in zip(frame.index[bad], reason[bad], value[bad], strict=True)
    ]
    return Checked(valid=valid.reset_index(drop=True), rejected=rejected.reset_index(drop=True))


def _detail(reason: str, row: pd.Series, converted: float, now: dt.datetime) -> str:
    metric = str(row["metric"]).strip().lower()
    if reason == UNPARSEABLE_TIME:
        return f"timestamp {row['timestamp']!r} is not ISO 8601 with Z or a UTC offset"
    if reason == FUTURE_TIME:
        return f"timestamp {row['timestamp']} is more than {FUTURE_TOLERANCE} after the import time {now:%Y-%m-%dT%H:%M:%SZ}"
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
