"""Leak sensitivity of a hydraulic model: the pressure change at each logger for a small
leak at each candidate junction (EPANET through WNTR's toolkit binding).

One EPANET project is opened once and re-solved per candidate (a steady state at the
model's base demand, the previous solution as the starting point), which is what makes
a 1,000-junction matrix a matter of seconds; the matrix is computed when a model is
imported and stored with the model's fingerprint, not at every detection tick.
A leak is an emitter (orifice, Q = C p^N) sized to `leak_lps` at the base pressure,
the way EPANET models leakage (Rossman, EPANET 2.2 manual, "Emitters").
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass

import numpy as np
import pandas as pd

DEFAULT_LEAK_LPS = 2.0
LARGE_LEAK_FACTOR = 5.0  # the second leak size of the matrix, x DEFAULT_LEAK_LPS
DEMAND_STEP = 0.10  # a nuisance term: +10 % demand at every junction
TANK_STEP_M = 0.5  # nuisance terms: each tank's level 0.5 m higher (a draining tank moves its whole zone)
MIN_PRESSURE_M = 1.0


@dataclass
class Sensitivity:
    matrix: pd.DataFrame  # candidate junction x logger junction: m per l/s of leak (negative = drop)
    curvature: pd.DataFrame  # the same, m per (l/s)^2: dp(q) = matrix q + curvature q^2
    demand_response: pd.Series  # logger junction: m for +DEMAND_STEP of district demand
    tank_response: pd.DataFrame  # logger junction x tank: m for +TANK_STEP_M of the tank's level
    pump_response: pd.DataFrame  # logger junction x pump: m when the pump switches (on <-> off)
    base_pressure_m: pd.Series  # logger junction: m at base demand
    leak_lps: float


def fingerprint(model_text: str) -> str:
    """The model's identity: a change to the file is a new matrix."""
    return hashlib.sha256(model_text.encode("utf-8")).hexdigest()


def load_model(model_text: str):
    """A WNTR model from .inp text (raises ValueError with EPANET's reason when it cannot)."""
    import wntr

    with tempfile.TemporaryDirectory(prefix="abbanoa-model-") as tmp:
        path = os.path.join(tmp, "model.inp")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(model_text)
        try:
            return wntr.network.WaterNetworkModel(path)
        except Exception as exc:  # WNTR raises ENxxx, KeyError, ValueError... for bad files
            raise ValueError(f"not a readable EPANET model: {exc}") from None


def sensitivity_matrix(
    wn,
    loggers: list[str],
    candidates: list[str] | None = None,
    *,
    leak_lps: float = DEFAULT_LEAK_LPS,
) -> Sensitivity:
    """Pressure change (m per l/s) at each logger junction for a leak at each candidate
    junction (default: every junction), steady state at base demand."""
    import wntr
    from wntr.epanet.toolkit import ENepanet
    from wntr.epanet.util import EN

    candidates = list(candidates if candidates is not None else wn.junction_name_list)
    missing = [n for n in loggers if n not in wn.node_name_list]
    if missing:
        raise ValueError(f"loggers not in the model: {', '.join(missing[:5])}")
    wn.options.time.duration = 0
    wn.options.hydraulic.accuracy = min(wn.options.hydraulic.accuracy, 1e-5)
    wn.options.hydraulic.trials = max(wn.options.hydraulic.trials, 200)
    exponent = float(wn.options.hydraulic.emitter_exponent or 0.5)
    # EPANET may write scratch files (enXXXXXX) into the working directory: run inside tmp
    with tempfile.TemporaryDirectory(prefix="abbanoa-sens-") as tmp, contextlib.chdir(tmp):
        inp = os.path.join(tmp, "model.inp")
        # litres per second and metres whatever the model's own units
        wntr.network.io.write_inpfile(wn, inp, units="LPS")
        en = ENepanet()
        en.ENopen(inp, os.path.join(tmp, "model.rpt"), os.path.join(tmp, "model.bin"))
        try:
            en.ENopenH()
            logger_idx = [en.ENgetnodeindex(n) for n in loggers]
            cand_idx = [en.ENgetnodeindex(n) for n in candidates]

            def solve(indices):
                en.ENinitH(0)
                en.ENrunH()
                return np.array([en.ENgetnodevalue(i, EN.PRESSURE) for i in indices])

            base_all = solve(logger_idx + cand_idx)
            base, base_cand = base_all[: len(loggers)], base_all[len(loggers) :]
            # two leak sizes per candidate: dp(q) = a q + b q^2 (head loss grows faster than
            # the flow, Hazen-Williams q^1.852), so a large burst is not read as a nearer leak
            sizes = (leak_lps, LARGE_LEAK_FACTOR * leak_lps)
            change = np.empty((2, len(candidates), len(loggers)))
            delivered = np.empty((2, len(candidates)))
            for k, (i, p0) in enumerate(zip(cand_idx, base_cand, strict=True)):
                original = en.ENgetnodevalue(i, EN.EMITTER)
                for m, size in enumerate(sizes):
                    coefficient = size / max(p0, MIN_PRESSURE_M) ** exponent
                    en.ENsetnodevalue(i, EN.EMITTER, original + coefficient)
                    after = solve(logger_idx + [i])
                    # the flow the orifice delivered at the pressure it left
                    delivered[m, k] = max(coefficient * max(after[-1], 0.0) ** exponent, 1e-6)
                    change[m, k] = after[:-1] - base
                en.ENsetnodevalue(i, EN.EMITTER, original)
            q1, q2 = delivered[0][:, None], delivered[1][:, None]
            # solve a q1 + b q1^2 = dp1, a q2 + b q2^2 = dp2 per entry
            det = q1 * q2**2 - q2 * q1**2
            det = np.where(np.abs(det) < 1e-12, 1e-12, det)
            rows = (change[0] * q2**2 - change[1] * q1**2) / det
            curvature = (q1 * change[1] - q2 * change[0]) / det
            junctions = [en.ENgetnodeindex(n) for n in wn.junction_name_list]
            demands = [en.ENgetnodevalue(i, EN.BASEDEMAND) for i in junctions]
            for i, q in zip(junctions, demands, strict=True):
                en.ENsetnodevalue(i, EN.BASEDEMAND, q * (1 + DEMAND_STEP))
            response = solve(logger_idx) - base
            for i, q in zip(junctions, demands, strict=True):
                en.ENsetnodevalue(i, EN.BASEDEMAND, q)
            pumps = {}
            for name in wn.pump_name_list:
                i = en.ENgetlinkindex(name)
                status = en.ENgetlinkvalue(i, EN.INITSTATUS)
                en.ENsetlinkvalue(i, EN.INITSTATUS, 0.0 if status else 1.0)
                pumps[name] = solve(logger_idx) - base
                en.ENsetlinkvalue(i, EN.INITSTATUS, status)
            tanks = {}
            for name in wn.tank_name_list:
                i = en.ENgetnodeindex(name)
                level = en.ENgetnodevalue(i, EN.TANKLEVEL)
                lowest = en.ENgetnodevalue(i, EN.MINLEVEL)
                step = -TANK_STEP_M if level - TANK_STEP_M >= lowest else TANK_STEP_M
                en.ENsetnodevalue(i, EN.TANKLEVEL, level + step)
                tanks[name] = (solve(logger_idx) - base) * (TANK_STEP_M / step)
                en.ENsetnodevalue(i, EN.TANKLEVEL, level)
            en.ENcloseH()
        finally:
            en.ENclose()
    return Sensitivity(
        matrix=pd.DataFrame(rows, index=candidates, columns=loggers),
        curvature=pd.DataFrame(curvature, index=candidates, columns=loggers),
        demand_response=pd.Series(response, index=loggers),
        tank_response=pd.DataFrame(tanks, index=loggers, columns=list(tanks)),
        pump_response=pd.DataFrame(pumps, index=loggers, columns=list(pumps)),
        base_pressure_m=pd.Series(base, index=loggers),
        leak_lps=leak_lps,
    )


def nuisance(sens: Sensitivity) -> pd.DataFrame:
    """The responses that are not a leak's signature (district demand, each pump switching,
    each tank's level), logger x term, for `rank_junctions`."""
    return pd.concat([sens.demand_response.rename("demand"), sens.pump_response, sens.tank_response], axis=1)


def stored_form(sens: Sensitivity) -> dict:
    """The matrix as stored with the model (JSON): what `localisation.model_frames` reads."""
    terms = nuisance(sens)
    return {
        "loggers": list(sens.matrix.columns),
        "matrix": sens.matrix.round(7).to_numpy().tolist(),
        "curvature": sens.curvature.round(9).to_numpy().tolist(),
        "nuisance": {"columns": list(terms.columns), "values": terms.round(7).to_numpy().tolist()},
        "leak_lps": sens.leak_lps,
    }


def pipes_at(wn) -> dict[str, list[str]]:
    """Junction -> the pipes that meet there (a crew's first places to listen)."""
    out: dict[str, list[str]] = {}
    for name, pipe in wn.pipes():
        out.setdefault(pipe.start_node_name, []).append(name)
        out.setdefault(pipe.end_node_name, []).append(name)
    return {k: sorted(v) for k, v in out.items()}
