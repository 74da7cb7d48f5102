"""How figures look on screen (pure; no Streamlit): one time zone (the settings' local one,
Europe/Rome), one date format, people's units and labels, sensible rounding, no "None".

Exports keep ISO 8601 with the UTC offset (`export_time`); the screen shows local time as
DATE_FORMAT / TIME_FORMAT without a zone letter.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from abbanoa.metrics import METRICS

DATE_FORMAT = "%d/%m/%Y"
TIME_FORMAT = "%d/%m/%Y %H:%M"
MISSING = "—"

# canonical unit (abbanoa.metrics) -> as people write it
UNIT_SHOWN = {"degC": "°C", "m3": "m³", "uS/cm": "µS/cm", "pH": "", "l/s": "l/s", "bar": "bar", "m": "m"}
METRIC_LABELS = {
    "flow_rate": "Flow",
    "total_flow": "Totaliser",
    "pressure": "Pressure",
    "level": "Level",
    "temperature": "Temperature",
    "ph": "pH",
    "turbidity": "Turbidity",
    "free_chlorine": "Free chlorine",
    "conductivity": "Conductivity",
}
# column -> label shown (with its unit), for every table the views show
COLUMN_LABELS = {
    "anomaly_id": "#",
    "severity": "Severity",
    "status": "Status",
    "anomaly_type": "Type",
    "node_id": "Node",
    "name": "Name",
    "node_type": "Node type",
    "district_id": "District",
    "metric": "Parameter",
    "start_ts": "Start",
    "end_ts": "End",
    "score": "Score",
    "state": "State",
    "latest": "Latest values",
    "at": "At",
    "limit_kind": "Limit",
    "low": "Lower limit",
    "high": "Upper limit",
    "peak_value": "Peak",
    "open": "Ongoing",
    "day": "Day",
    "samples": "Samples",
    "compliant": "Compliant",
    "compliance_pct": "Compliance [%]",
    "expected": "Expected readings",
    "received": "Received readings",
    "completeness": "Completeness [%]",
    "validity": "Validity [%]",
    "staleness_s": "Staleness [min]",
    "consistency": "Consistency [%]",
    "duplicates": "Duplicates",
    "quality_score": "Score [%]",
    "reason": "Reason",
    "received_at": "Received",
    "source": "Source",
    "line_no": "Line",
    "detail": "Detail",
    "raw": "Row as received",
    "job_name": "Job",
    "trigger": "Trigger",
    "started_at": "Started",
    "finished_at": "Finished",
    "duration_s": "Duration [s]",
    "rows_processed": "Rows",
    "error": "Error",
    "model": "Model",
    "generated_at": "Generated",
    "points": "Points",
    "mae": "Mean absolute error",
    "mape": "Mean absolute % error",
    "coverage": "Interval coverage (share)",
    "scored_at": "Scored",
    "assigned_to": "Assigned to",
    "estimated_flow_l_s": "Estimated flow [l/s]",
    "estimated_volume_m3": "Volume lost [m³]",
    "members": "Symptoms",
    "net_inflow_m3": "System input [m³]",
    "consumption_m3": "Billed consumption [m³]",
    "losses_m3": "Real losses [m³]",
    "mnf_l_s": "Minimum night flow [l/s]",
    "ili": "ILI",
    "m1a_m3_km_day": "M1a [m³/km/day]",
    "m1b_pct": "M1b [%]",
    "nrw_pct": "Non-revenue water [%]",
}


def unit(metric: str) -> str:
    """The metric's unit as people write it (°C, m³, µS/cm)."""
    raw = METRICS[metric].unit if metric in METRICS else ""
    return UNIT_SHOWN.get(raw, raw)


def metric_label(metric: str, with_unit: bool = True) -> str:
    label = METRIC_LABELS.get(metric, metric.replace("_", " ").capitalize())
    u = unit(metric)
    return f"{label} [{u}]" if with_unit and u else label


def _missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def number(value: Any, unit_text: str = "", digits: int | None = None) -> str:
    """A figure with its unit, rounded for reading (thousands separated); '—' when missing."""
    if _missing(value):
        return MISSING
    v = float(value)
    if digits is None:
        a = abs(v)
        digits = 0 if a >= 1000 else 1 if a >= 10 else 2 if a >= 0.1 or a == 0 else 3
    text = f"{v:,.{digits}f}"
    if text.startswith("-") and float(text.replace(",", "")) == 0:
        text = text[1:]
    return f"{text} {unit_text}".strip()


def reading(value: Any, metric: str) -> str:
    """A reading with the metric's unit: 26.704555 degC -> '26.7 °C'."""
    digits = {"ph": 2, "turbidity": 2, "free_chlorine": 2, "pressure": 2, "flow_rate": 1, "temperature": 1}
    return number(value, unit(metric), digits.get(metric))


def local_time(value: Any, tz: str, fmt: str = TIME_FORMAT) -> str:
    """An ISO time (UTC 'Z' or an offset) or datetime as local time; '—' when missing."""
    if _missing(value) or value == "":
        return MISSING
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return ts.tz_convert(ZoneInfo(tz)).strftime(fmt)


def local_day(value: Any, tz: str) -> str:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.strftime(DATE_FORMAT)
    if isinstance(value, str) and len(value) == 10:
        return dt.date.fromisoformat(value).strftime(DATE_FORMAT)
    return local_time(value, tz, DATE_FORMAT)


def export_time(value: Any, tz: str) -> str | None:
    """ISO 8601 local time with its offset (exports): 2026-12-04T18:30:00+01:00."""
    if _missing(value):
        return None
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        ts = ts.tz_localize("UTC")
    return ts.tz_convert(ZoneInfo(tz)).isoformat()


TIME_COLUMNS = {"start_ts", "end_ts", "started_at", "finished_at", "generated_at", "scored_at", "received_at", "at"}
DAY_COLUMNS = {"day"}


def table(rows: list[dict] | pd.DataFrame, columns: list[str], tz: str) -> pd.DataFrame:
    """Rows for st.dataframe: the chosen columns, labelled for people, times local, no None."""
    df = pd.DataFrame(rows) if not isinstance(rows, pd.DataFrame) else rows.copy()
    df = df.reindex(columns=columns)
    for col in columns:
        if col in TIME_COLUMNS:
            df[col] = [local_time(v, tz) for v in df[col]]
        elif col in DAY_COLUMNS:
            df[col] = [local_day(v, tz) for v in df[col]]
        elif col == "metric":
            df[col] = [metric_label(v, with_unit=False) if isinstance(v, str) else MISSING for v in df[col]]
        elif col == "open":
            df[col] = ["yes" if v is True else "no" if v is False else MISSING for v in df[col]]
        elif pd.api.types.is_numeric_dtype(df[col]) and not pd.api.types.is_bool_dtype(df[col]):
            digits = 0 if col in ("anomaly_id", "samples", "compliant", "expected", "received", "duplicates",
                                  "rows_processed", "points") else None  # fmt: skip
            df[col] = [number(v, "", digits) for v in df[col]]
        else:
            df[col] = [MISSING if _missing(v) else (v.replace("_", " ") if col in ("anomaly_type", "node_type")
                       else str(v)) for v in df[col]]  # fmt: skip
    return df.rename(columns={c: COLUMN_LABELS.get(c, c.replace("_", " ").capitalize()) for c in columns})


def days_caption(figures: dict, tz: str) -> str:
    """'12 complete days, 01/11/2026 – 12/11/2026 (today, partial, not counted)'."""
    if not figures.get("days"):
        return "No complete local day in this range yet."
    first, last = local_day(figures["first_day"], tz), local_day(figures["last_day"], tz)
    text = f"{figures['days']} complete day{'s' if figures['days'] != 1 else ''}, {first} – {last}"
    if figures.get("partial_days"):
        text += f"; {figures['partial_days']} partial day(s) (e.g. today) shown in the charts, not counted"
    return text


def finite(value: Any) -> bool:
    return not _missing(value) and math.isfinite(float(value))
