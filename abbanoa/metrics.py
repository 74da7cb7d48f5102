"""The canonical metrics: one name, one unit and one plausible range, everywhere.

This is the single source of truth for metric names and units (DESIGN.md, "Data
contract"). The migration copies it into the PostgreSQL `metrics` table; the
importer, detectors, API and dashboard all read it from here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    name: str
    unit: str
    min_value: float  # physical range: outside it a reading is impossible, not just unusual
    max_value: float
    description: str
    kind: str  # hydraulic | quality | totalizer


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("flow_rate", "l/s", -5000.0, 5000.0, "flow rate (+ = into the district)", "hydraulic"),
        Metric("total_flow", "m3", 0.0, 1e12, "flow meter totalizer (cumulative)", "totalizer"),
        Metric("pressure", "bar", -1.0, 25.0, "pressure", "hydraulic"),
        Metric("level", "m", -1.0, 100.0, "tank or reservoir level", "hydraulic"),
        Metric("temperature", "degC", -10.0, 60.0, "water temperature", "quality"),
        Metric("ph", "pH", 0.0, 14.0, "pH", "quality"),
        Metric("turbidity", "NTU", 0.0, 1000.0, "turbidity", "quality"),
        Metric("free_chlorine", "mg/l", 0.0, 10.0, "free chlorine residual", "quality"),
        Metric("conductivity", "uS/cm", 0.0, 10000.0, "electrical conductivity", "quality"),
    )
}

# Known units of each metric, as found in field files, -> (factor, offset) such that
# canonical = value * factor + offset. Keys are lower-cased, spaces removed.
_G = 9.80665  # standard gravity, m/s2
_RHO = 1000.0  # kg/m3, water
UNIT_CONVERSIONS: dict[str, dict[str, tuple[float, float]]] = {
    "flow_rate": {
        "l/s": (1.0, 0.0),
        "lps": (1.0, 0.0),
        "m3/h": (1000.0 / 3600.0, 0.0),
        "m3/s": (1000.0, 0.0),
        "l/min": (1.0 / 60.0, 0.0),
        "m3/d": (1000.0 / 86400.0, 0.0),
    },
    "total_flow": {"m3": (1.0, 0.0), "l": (0.001, 0.0), "ml": (1000.0, 0.0)},  # ml = megalitre
    "pressure": {
        "bar": (1.0, 0.0),
        "kpa": (0.01, 0.0),
        "mpa": (10.0, 0.0),
        "psi": (0.0689476, 0.0),
        # metres of water head: p = rho g h
        "m": (_RHO * _G / 1e5, 0.0),
        "mh2o": (_RHO * _G / 1e5, 0.0),
        "mwc": (_RHO * _G / 1e5, 0.0),
    },
    "level": {"m": (1.0, 0.0), "cm": (0.01, 0.0), "mm": (0.001, 0.0)},
    "temperature": {
        "degc": (1.0, 0.0),
        "c": (1.0, 0.0),
        "°c": (1.0, 0.0),
        "degf": (5.0 / 9.0, -32.0 * 5.0 / 9.0),
    },
    "ph": {"ph": (1.0, 0.0), "": (1.0, 0.0)},
    "turbidity": {"ntu": (1.0, 0.0), "fnu": (1.0, 0.0)},
    "free_chlorine": {"mg/l": (1.0, 0.0), "ppm": (1.0, 0.0)},
    "conductivity": {"us/cm": (1.0, 0.0), "µs/cm": (1.0, 0.0), "ms/cm": (1000.0, 0.0)},
}


def normalise_unit(unit: str | None) -> str:
    """Lower-case a unit and drop spaces, so 'M3/H' and 'm3 / h' compare equal."""
    return (unit or "").strip().lower().replace(" ", "")


def unit_factor(metric: str, unit: str | None) -> tuple[float, float] | None:
    """(factor, offset) turning `unit` into the metric's canonical unit, or None if unknown."""
    table = UNIT_CONVERSIONS.get(metric)
    if table is None:
        return None
    key = normalise_unit(unit)
    if key == "" and "" not in table:
        # a missing unit is taken as the canonical one
        return (1.0, 0.0)
    return table.get(key)


def to_canonical(metric: str, value: float, unit: str | None) -> float:
    """Convert a value to the metric's canonical unit; KeyError when the unit is unknown."""
    conversion = unit_factor(metric, unit)
    if conversion is None:
        raise KeyError(f"unknown unit {unit!r} for {metric}")
    factor, offset = conversion
    return value * factor + offset
