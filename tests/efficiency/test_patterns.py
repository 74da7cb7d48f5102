"""Consumption patterns: typical daily and weekly profiles and how the current week departs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from abbanoa.analytics import patterns

TZ = "Europe/Rome"


def _weeks(n: int) -> pd.Series:
    idx = pd.date_range("2026-01-05T00:00Z", periods=24 * 7 * n, freq="h", tz="UTC")
    return pd.Series(10 + 5 * np.sin(2 * np.pi * idx.hour.to_numpy() / 24), index=idx)


def test_current_week_20_percent_above_the_typical_week_gives_ratio_1_2():
    # given four weeks with the same daily shape, the last one 20% higher
    s = _weeks(4)
    s.iloc[-168:] *= 1.2
    # when
    out = patterns.current_week_departure(s, TZ, s.index[-1] + pd.Timedelta(hours=1))
    # then
    assert out["ratio"] == pytest.approx(1.2, rel=1e-9)
    assert out["mean_abs_departure_pct"] == pytest.approx(20.0, rel=1e-6)
    assert out["hours"] == 168 and len(out["top"]) == 5


def test_daily_profile_is_per_local_hour():
    # given a peak at 12:00 UTC, which is 13:00 in Rome in winter
    idx = pd.date_range("2026-01-05T00:00Z", periods=24 * 7, freq="h", tz="UTC")
    s = pd.Series(np.where(idx.hour == 12, 50.0, 10.0), index=idx)
    prof = patterns.daily_profile(s, TZ).set_index("hour")
    assert prof["mean"].idxmax() == 13 and len(prof) == 24


def test_weekly_profile_has_168_slots_and_no_history_gives_no_departure():
    s = _weeks(2)
    assert len(patterns.weekly_profile(s, TZ)) == 168
    out = patterns.current_week_departure(s.iloc[:100], TZ, s.index[99] + pd.Timedelta(hours=1))
    assert out["ratio"] is None and out["top"] == []
