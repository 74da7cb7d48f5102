"""Leak localisation on a suite of EPANET networks and seeds (issue 20, item 3).

    .venv/bin/python bench/localisation_eval.py [--networks Net3 ky4 ky10] [--seeds 1 2 3 4 5]

Per network: pressure loggers spread over it (farthest-point sampling, one per ~30
junctions, at least 8), the model's sensitivity matrix computed once (the unperturbed
model, as the platform would hold it), then per seed a burst and a growing leak at a
random junction, sized 5-20 % of the network's mean demand, simulated on the "true"
network (roughness +-10 %, four demand zones, logger noise; abbanoa.simulate.leak_suite).
Per leak: is the true nearest logger (map distance) in the data-driven top 3, and how far
(along pipes and straight) is the model's top candidate from the true junction.
References measured in the same run: the chance of a random top 3 (3 / loggers) and the
distance from the true leak to a random junction (the whole network to walk).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from abbanoa.analytics import localisation as loc  # noqa: E402
from abbanoa.analytics.sensitivity import sensitivity_matrix, stored_form  # noqa: E402
from abbanoa.simulate import leak_suite as ls  # noqa: E402

START = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)  # local midnight, 2 March 2026 (no DST change near)
TIMEZONE = "Europe/Rome"


def latlon(xy, scale):
    """Model coordinates -> a (lat, lon) near Cagliari, at the model's metres per unit."""
    lat = 39.2 + xy[1] * scale / 111_195.0
    lon = 9.1 + xy[0] * scale / (111_195.0 * math.cos(math.radians(39.2)))
    return (lat, lon)


excluded: list[tuple] = []


def evaluate_network(name: str, seeds: list[int]) -> list[dict]:
    model = ls.load(name)
    scale = ls.metres_per_unit(model)
    rng = np.random.default_rng(zlib.crc32(name.encode()))  # the same loggers every run
    count = max(8, round(len(model.junction_name_list) / 30))
    loggers = ls.place_loggers(model, count, rng)
    positions = {j: latlon(model.get_node(j).coordinates, scale) for j in model.junction_name_list}
    began = time.perf_counter()
    sens = sensitivity_matrix(ls.load(name), loggers)
    sens_s = time.perf_counter() - began
    # the model as the platform stores it; loggers are named by their junction here
    stored = {
        "loggers": {j: j for j in loggers},
        "candidates": list(sens.matrix.index),
        "sensitivity": json.loads(json.dumps(stored_form(sens))),
        "positions": {},
    }
    demand = ls.mean_demand_lps(model)
    junctions = list(model.junction_name_list)
    out = []
    for seed in seeds:
        r = np.random.default_rng(seed * 1000 + len(name))
        for kind in ("burst", "growing_leak"):
            junction = junctions[int(r.integers(len(junctions)))]
            size = round(demand * float(r.uniform(0.05, 0.20)), 2)
            leak_day = (5.0 if kind == "burst" else 4.0) + float(r.uniform(0, 1))
            run = ls.simulate_leak(
                model,
                network=name,
                loggers=loggers,
                junction=junction,
                kind=kind,
                size_lps=size,
                seed=seed,
                start=START,
                leak_day=leak_day,
            )
            lowest_m = float(run.pressure["value"].min()) / ls.BAR_PER_M
            if lowest_m < 0:
                # the network cannot serve this demand (a tank ran dry, pressure below zero at
                # a logger): not a localisation scenario; counted, not scored
                print(json.dumps({"network": name, "seed": seed, "kind": kind, "excluded_min_pressure_m": lowest_m}))
                excluded.append((name, seed, kind))
                continue
            t0 = time.perf_counter()
            # the leak's flow at the onset, as the district's inflow detectors measure it
            flow = size if kind == "burst" else size * (0.03 + 1 / 3)
            anomaly_type = "burst" if kind == "burst" else "rising_night_flow"
            results = loc.localise_event(
                run.pressure, run.onset, anomaly_type, {j: positions[j] for j in loggers}, TIMEZONE, stored, flow
            )
            by_logger = next((x for x in results if x.method == "pressure_loggers"), None)
            by_model = next((x for x in results if x.method == "hydraulic_model"), None)
            tick_s = time.perf_counter() - t0
            true_xy = model.get_node(junction).coordinates
            nearest = min(
                loggers,
                key=lambda j: math.dist(model.get_node(j).coordinates, true_xy),
            )
            top3 = [x["id"] for x in by_logger.ranked[:3]] if by_logger else []
            along = ls.pipe_distances(model, junction)
            nearest_pipe = min(loggers, key=lambda j: along.get(j, float("inf")))
            top = by_model.ranked[0]["id"] if by_model else None
            random_j = junctions[int(r.integers(len(junctions)))]
            out.append(
                {
                    "network": name,
                    "junctions": len(junctions),
                    "loggers": len(loggers),
                    "seed": seed,
                    "kind": kind,
                    "junction": junction,
                    "size_lps": size,
                    "nearest_logger": nearest,
                    "top3": top3,
                    "nearest_in_top3": nearest in top3,
                    "nearest_along_pipes": nearest_pipe,
                    "nearest_along_pipes_in_top3": nearest_pipe in top3,
                    "confidence_loggers": round(by_logger.confidence, 3) if by_logger else None,
                    "model_top": top,
                    "model_pipe_m": round(along.get(top, float("nan")), 1) if top else None,
                    "model_straight_m": round(math.dist(model.get_node(top).coordinates, true_xy) * scale, 1)
                    if top
                    else None,
                    "model_confidence": round(by_model.confidence, 3) if by_model else None,
                    "random_pipe_m": round(along.get(random_j, float("nan")), 1),
                    "tick_s": round(tick_s, 4),
                    "sensitivity_s": round(sens_s, 2),
                }
            )
            print(json.dumps(out[-1]), flush=True)
    return out


def summary(rows: list[dict]) -> None:
    def pct(x):
        return f"{100 * np.mean(x):.0f} %"

    print("\nnetwork  junctions loggers leaks  top-3 (chance)  model<=300m  model pipe-m p25/p50/p75  random p50")
    groups = sorted({r["network"] for r in rows}) + ["ALL"]
    for g in groups:
        sel = [r for r in rows if g in ("ALL", r["network"])]
        d = np.array([r["model_pipe_m"] for r in sel], dtype=float)
        chance = np.mean([min(1.0, 3 / r["loggers"]) for r in sel])
        print(
            f"{g:8} {sel[0]['junctions'] if g != 'ALL' else '':>9} {sel[0]['loggers'] if g != 'ALL' else '':>7} "
            f"{len(sel):>5}  {pct([r['nearest_in_top3'] for r in sel]):>5} ({100 * chance:.0f} %)   "
            f"{pct(d <= 300):>9}   {np.nanpercentile(d, 25):6.0f} / {np.nanpercentile(d, 50):6.0f} / "
            f"{np.nanpercentile(d, 75):6.0f}   {np.nanmedian([r['random_pipe_m'] for r in sel]):8.0f}"
        )
    for kind in ("burst", "growing_leak"):
        sel = [r for r in rows if r["kind"] == kind]
        d = np.array([r["model_pipe_m"] for r in sel], dtype=float)
        print(
            f"{kind:13} leaks {len(sel)}: top-3 {pct([r['nearest_in_top3'] for r in sel])}"
            f" (nearest along pipes {pct([r['nearest_along_pipes_in_top3'] for r in sel])}),"
            f" model<=300m {pct(d <= 300)}"
        )
    hit = [r["confidence_loggers"] for r in rows if r["nearest_in_top3"]]
    miss = [r["confidence_loggers"] for r in rows if not r["nearest_in_top3"]]
    print(
        f"data-driven confidence: mean {np.mean(hit):.2f} when the top 3 holds the nearest logger,"
        f" {np.mean(miss):.2f} when not"
    )
    d = np.array([r["model_pipe_m"] for r in rows], dtype=float)
    edges = [0, 1, 150, 300, 600, 1000, 2000, np.inf]
    hist = np.histogram(d, bins=edges)[0]
    print("model top candidate, distance along pipes to the true leak (m):")
    for lo, hi, n in zip(edges[:-1], edges[1:], hist, strict=True):
        print(f"  [{lo:>5}, {hi:>5}) {n:3d}")
    print(f"localisation per event (both methods): max {max(r['tick_s'] for r in rows):.3f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--networks", nargs="+", default=["Net3", "ky4", "ky10"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3, 4, 5])
    parser.add_argument("--json", default=None, help="write every leak's row to this file")
    parser.add_argument(
        "--step-types",
        nargs="*",
        default=list(loc.STEP_TYPES),
        help="event types compared with the hours just before (default: burst)",
    )
    parser.add_argument(
        "--modes-first", action="store_true", help="the loggers' usual modes before the model's nuisance terms"
    )
    parser.add_argument("--modes", type=int, default=loc.MODES, help="usual modes projected out (default %(default)s)")
    parser.add_argument("--logger-modes", type=int, default=loc.LOGGER_MODES, help="data-driven: usual modes out")
    args = parser.parse_args()
    loc.LOGGER_MODES = args.logger_modes
    loc.STEP_TYPES = tuple(args.step_types)
    loc.MODEL_TERMS_FIRST = not args.modes_first
    loc.MODES = args.modes
    print(
        f"step types {loc.STEP_TYPES}, model terms first {loc.MODEL_TERMS_FIRST}, modes {loc.MODES},"
        f" logger modes {loc.LOGGER_MODES}"
    )
    rows = []
    began = time.perf_counter()
    for name in args.networks:
        rows += evaluate_network(name, args.seeds)
    summary(rows)
    print(f"excluded (a logger below 0 m in the run): {len(excluded)} {sorted(set(e[0] for e in excluded))}")
    print(f"suite: {len(rows)} leaks in {time.perf_counter() - began:.0f} s")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
