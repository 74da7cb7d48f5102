"""Water-loss indicators (pure functions; volumes in m3, flows in l/s unless named).

Sources (DESIGN.md, "Domain references"):
- IWA water balance: system input = authorised consumption + water losses; non-revenue
  water = system input - billed authorised consumption.
- IWA unavoidable annual real losses, litres/day: UARL = (18 Lm + 0.8 Nc + 25 Lp) x P,
  Lm mains km, Nc service connections, Lp private pipe km (property line to meter),
  P average pressure in metres (Lambert et al., IWA 1999 "A review of performance
  indicators for real losses from water supply systems").
- Infrastructure Leakage Index: ILI = current annual real losses / UARL.
- ARERA (Italian regulator, RQTI): M1a = water losses / mains length (m3/km/day);
  M1b = water losses / system input (%).
"""

from __future__ import annotations

import math


def _valid(*values) -> bool:
    return all(v is not None and not (isinstance(v, float) and math.isnan(v)) for v in values)


def uarl_litres_per_day(
    mains_km: float | None, connections: int | None, private_pipe_km: float | None, pressure_m: float | None
) -> float | None:
    """IWA UARL, l/day; None when the district's infrastructure data is incomplete."""
    if not _valid(mains_km, connections, pressure_m):
        return None
    lp = private_pipe_km if _valid(private_pipe_km) else 0.0
    return (18.0 * mains_km + 0.8 * connections + 25.0 * lp) * pressure_m


def ili(real_losses_l_day: float | None, uarl_l_day: float | None) -> float | None:
    """Infrastructure Leakage Index (dimensionless) = CARL / UARL."""
    if not _valid(real_losses_l_day, uarl_l_day) or uarl_l_day <= 0:
        return None
    return real_losses_l_day / uarl_l_day


def nrw_pct(system_input_m3: float | None, billed_m3: float | None) -> float | None:
    """Non-revenue water as % of system input."""
    if not _valid(system_input_m3, billed_m3) or system_input_m3 <= 0:
        return None
    return 100.0 * (system_input_m3 - billed_m3) / system_input_m3


def m1a(losses_m3_day: float | None, mains_km: float | None) -> float | None:
    """ARERA M1a, linear water losses, m3/km/day."""
    if not _valid(losses_m3_day, mains_km) or mains_km <= 0:
        return None
    return losses_m3_day / mains_km


def m1b(losses_m3: float | None, system_input_m3: float | None) -> float | None:
    """ARERA M1b, percentage water losses, % of system input."""
    if not _valid(losses_m3, system_input_m3) or system_input_m3 <= 0:
        return None
    return 100.0 * losses_m3 / system_input_m3


def per_connection_l_day(losses_l_day: float | None, connections: int | None) -> float | None:
    """Real losses per service connection, l/connection/day (IWA's preferred unit)."""
    if not _valid(losses_l_day, connections) or connections <= 0:
        return None
    return losses_l_day / connections


def night_leakage_l_s(mnf_l_s: float | None, connections: int | None, night_use_l_per_conn_h: float) -> float | None:
    """Net night flow = MNF - legitimate night use (connections x l/connection/h), l/s, not below 0."""
    if not _valid(mnf_l_s):
        return None
    legitimate = (connections or 0) * night_use_l_per_conn_h / 3600.0
    return max(0.0, mnf_l_s - legitimate)


def daily_leakage_m3(night_leakage: float | None, night_day_factor_h: float) -> float | None:
    """Daily leakage volume = net night flow x night-day factor (hours), m3/day.

    The factor (< 24 h) accounts for leakage being lower by day, when pressure is lower
    (pressure-leakage relation L1/L0 = (P1/P0)^N1)."""
    if not _valid(night_leakage):
        return None
    return night_leakage * 3600.0 * night_day_factor_h / 1000.0


# ARERA RQTI (deliberation 917/2017/R/idr, Art. 8 and Table 3): macro-indicator M1 classes
# A-E from M1a (m3/km/day) and M1b (%); a district takes the worse of the two classes.
M1A_CLASS_LIMITS = (12.0, 20.0, 35.0, 55.0)
M1B_CLASS_LIMITS = (25.0, 35.0, 45.0, 55.0)
CLASSES = "ABCDE"


def arera_m1_class(m1a_value: float | None, m1b_value: float | None) -> str | None:
    """ARERA M1 class (A best .. E worst); None when either indicator is missing."""
    if not _valid(m1a_value, m1b_value):
        return None
    a = sum(m1a_value >= lim for lim in M1A_CLASS_LIMITS)
    b = sum(m1b_value >= lim for lim in M1B_CLASS_LIMITS)
    return CLASSES[max(a, b)]
