"""Household demand patterns in LOCAL time (Europe/Rome), one multiplier per 5-minute step:
weekday and weekend profiles (public holidays take the Sunday one), a seasonal factor, a
day-to-day factor and minute-scale noise.

Because every multiplier is computed from the local wall-clock time of its UTC step, the
23- and 25-hour days of daylight-saving changes come out right with no special case.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

# Hourly multipliers of the mean, a Sardinian household profile: consumption only, so the
# night (02-05) is close to the legitimate night use; morning peak 07-09, lunch at 13, evening peak 19-21 (weekdays).
WEEKDAY = (
    0.40,
    0.22,
    0.13,
    0.10,
    0.12,
    0.30,
    0.90,
    1.55,
    1.65,
    1.40,
    1.20,
    1.15,
    1.30,
    1.40,
    1.20,
    1.00,
    0.95,
    1.05,
    1.25,
    1.50,
    1.55,
    1.35,
    1.00,
    0.65,
)
# Weekend: people rise later (peak 09-11), long Sunday lunch, similar evening.
WEEKEND = (
    0.50,
    0.32,
    0.18,
    0.12,
    0.11,
    0.15,
    0.35,
    0.80,
    1.20,
    1.55,
    1.60,
    1.45,
    1.45,
    1.50,
    1.25,
    1.00,
    0.95,
    1.00,
    1.15,
    1.40,
    1.50,
    1.35,
    1.05,
    0.75,
)


def step_times(start: datetime, n_steps: int, step_s: int) -> list[datetime]:
    """UTC instants of the steps."""
    return [start + timedelta(seconds=i * step_s) for i in range(n_steps)]


HOLIDAY_COUNTRY = "IT"  # public holidays follow the Sunday profile (the `holidays` package)


def holidays_between(first, last, country: str = HOLIDAY_COUNTRY) -> set:
    """Public holiday dates from `first` to `last` (local dates)."""
    import holidays

    return {d for d in holidays.country_holidays(country, years=range(first.year, last.year + 1)) if first <= d <= last}


def _profile_value(local: datetime, holiday: bool = False) -> float:
    table = WEEKEND if holiday or local.weekday() >= 5 else WEEKDAY
    h = local.hour + local.minute / 60.0
    i = int(h) % 24
    frac = h - int(h)
    return table[i] * (1 - frac) + table[(i + 1) % 24] * frac


def demand_multipliers(times: list[datetime], timezone: str, rng: np.random.Generator) -> np.ndarray:
    """Demand multiplier per step: local profile x seasonal x day-to-day factor x short noise."""
    tz = ZoneInfo(timezone)
    local = [t.astimezone(tz) for t in times]
    days = sorted({lt.date() for lt in local})
    day_factor = dict(zip(days, rng.lognormal(0.0, 0.06, len(days)), strict=True))
    off = holidays_between(days[0], days[-1]) if days else set()
    noise = np.empty(len(times))
    e = 0.0
    for i in range(len(times)):  # AR(1): minutes-scale fluctuation around the profile
        e = 0.85 * e + rng.normal(0.0, 0.025)
        noise[i] = e
    out = np.empty(len(times))
    for i, lt in enumerate(local):
        # summer use is higher in Sardinia (gardens, tourism): +/-12 % around the year, peak late July
        season = 1.0 + 0.12 * math.cos(2 * math.pi * (lt.timetuple().tm_yday - 205) / 365.25)
        out[i] = _profile_value(lt, lt.date() in off) * season * day_factor[lt.date()] * (1.0 + noise[i])
    return np.clip(out, 0.05, None)
