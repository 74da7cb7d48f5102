"""Row validation and unit conversion (pure, no services)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from abbanoa.ingest import validation as v

NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)


def frame(*rows):
    data = pd.DataFrame(rows, columns=["timestamp", "node_id", "metric", "value", "unit"], dtype=object)
    data["line_no"] = range(2, len(rows) + 2)
    data["raw"] = [",".join(r) for r in rows]
    return data


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (("yesterday", "N1", "pressure", "3", "bar"), v.UNPARSEABLE_TIME),
        (("2025-02-30T00:00:00Z", "N1", "pressure", "3", "bar"), v.UNPARSEABLE_TIME),
        (("2025-05-01T00:00:00", "N1", "pressure", "3", "bar"), v.UNPARSEABLE_TIME),  # no zone
        (("2025-06-01T12:30:00Z", "N1", "pressure", "3", "bar"), v.FUTURE_TIME),
        (("2025-05-01T00:00:00Z", "N1", "salinity", "3", "psu"), v.UNKNOWN_METRIC),
        (("2025-05-01T00:00:00Z", "N1", "pressure", "3", "furlongs"), v.UNKNOWN_UNIT),
        (("2025-05-01T00:00:00Z", "GHOST", "pressure", "3", "bar"), v.UNKNOWN_NODE),
        (("2025-05-01T00:00:00Z", "N1", "pressure", "three", "bar"), v.NON_NUMERIC),
        (("2025-05-01T00:00:00Z", "N1", "pressure", "NaN", "bar"), v.NON_NUMERIC),
        (("2025-05-01T00:00:00Z", "N1", "pressure", "inf", "bar"), v.NON_NUMERIC),
        (("2025-05-01T00:00:00Z", "N1", "pressure", "", "bar"), v.NON_NUMERIC),
        (("2025-05-01T00:00:00Z", "N1", "ph", "15", "pH"), v.OUT_OF_RANGE),
        (("2025-05-01T00:00:00Z", "N1", "pressure", "300", "m"), v.OUT_OF_RANGE),  # 29.4 bar after conversion
    ],
)
def test_a_bad_row_is_rejected_with_its_reason(row, reason):
    checked = v.validate_readings(frame(row), {"N1"}, NOW)

    assert checked.valid.empty
    assert checked.rejected["reason"].tolist() == [reason]
    assert checked.rejected["line_no"].tolist() == [2]
    assert checked.rejected["detail"].iloc[0]


def test_a_clock_slightly_ahead_is_tolerated():
    checked = v.validate_readings(frame(("2025-06-01T12:10:00Z", "N1", "pressure", "3", "bar")), {"N1"}, NOW)

    assert len(checked.valid) == 1 and checked.rejected.empty


@pytest.mark.parametrize(
    ("metric", "value", "unit", "expected", "canonical"),
    [
        ("flow_rate", "36", "m3/h", 10.0, "l/s"),
        ("flow_rate", "12", "L/S", 12.0, "l/s"),
        ("flow_rate", "60", "l/min", 1.0, "l/s"),
        ("pressure", "10", "m", 10 * 1000 * 9.80665 / 1e5, "bar"),  # p = rho g h
        ("pressure", "350", "kPa", 3.5, "bar"),
        ("pressure", "2.5", "", 2.5, "bar"),  # a missing unit is the canonical one
        ("total_flow", "1500", "l", 1.5, "m3"),
        ("temperature", "68", "degF", 20.0, "degC"),
        ("conductivity", "1.2", "mS/cm", 1200.0, "uS/cm"),
    ],
)
def test_values_are_converted_to_the_canonical_unit(metric, value, unit, expected, canonical):
    checked = v.validate_readings(frame(("2025-05-01T00:00:00+02:00", "N1", metric, value, unit)), {"N1"}, NOW)

    assert checked.rejected.empty
    row = checked.valid.iloc[0]
    assert row["value"] == pytest.approx(expected)
    assert row["unit"] == canonical
    assert row["ts"] == pd.Timestamp("2025-04-30T22:00:00Z")


def test_each_row_of_a_mixed_chunk_gets_its_own_outcome():
    checked = v.validate_readings(
        frame(
            ("2025-05-01T00:00:00Z", "N1", "pressure", "3", "bar"),
            ("2025-05-01T00:00:00Z", "N2", "pressure", "3", "bar"),
            ("2025-05-01T00:15:00Z", "N1", "flow_rate", "7.5", "l/s"),
        ),
        {"N1"},
        NOW,
    )

    assert checked.valid["line_no"].tolist() == [2, 4]
    assert checked.rejected[["line_no", "reason"]].values.tolist() == [[3, v.UNKNOWN_NODE]]
