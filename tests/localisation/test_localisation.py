"""Leak localisation, the pure part: loggers ranked by their drop against the district's
common movement; a model's leak signatures matched against observed pressure changes."""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pandas as pd

from abbanoa.analytics import localisation as loc
from abbanoa.analytics.sensitivity import nuisance, sensitivity_matrix
from abbanoa.simulate import leak_suite

TZ = "Europe/Rome"
ONSET = pd.Timestamp("2026-03-09 02:00", tz="UTC")
POSITIONS = {f"PL-{i}": (39.24 + 0.002 * i, 9.14 + 0.003 * (i % 3)) for i in range(6)}


def _district_pressure(drops: dict[str, float], seed: int = 7) -> pd.DataFrame:
    """A week of hourly pressure at six loggers: a shared daily cycle (each logger its own
    share of it), day-to-day demand swings common to all, noise; after ONSET, `drops` (bar)."""
    rng = np.random.default_rng(seed)
    ts = pd.date_range(ONSET - pd.Timedelta(days=7), ONSET + pd.Timedelta(hours=6), freq="1h", inclusive="left")
    hour = ts.tz_convert(TZ).hour.to_numpy()
    day = (ts - ts[0]).days
    cycle = -0.3 * np.sin(np.pi * np.clip(hour - 6, 0, 16) / 16)
    swing = rng.normal(0, 0.04, day.max() + 1)[day]
    rows = []
    for i, node in enumerate(POSITIONS):
        share = 0.6 + 0.2 * i  # far loggers move more with demand
        value = 4.0 + 0.1 * i + share * (cycle + swing) + rng.normal(0, 0.004, len(ts))
        value = value - np.where(ts >= ONSET, drops.get(node, 0.0), 0.0)
        rows.append(pd.DataFrame({"node_id": node, "ts": ts, "value": value}))
    return pd.concat(rows, ignore_index=True)


def test_the_logger_that_dropped_most_against_the_district_is_ranked_first():
    # given a district whose loggers all drop a little after a burst, PL-2 by far the most,
    # while PL-5 (the far one) always moves most with district demand
    pressure = _district_pressure({"PL-2": 0.08, "PL-0": 0.01, "PL-5": 0.015, "PL-3": 0.02})
    # when the loggers are ranked at the onset
    result = loc.rank_loggers(pressure, ONSET, POSITIONS, TZ, reference="step")
    # then PL-2 comes first, with most of the evidence, inside the area shown
    assert [r["id"] for r in result.ranked][0] == "PL-2"
    assert result.confidence > 0.9
    assert result.area["type"] == "Polygon"
    assert loc.haversine_m(result.centre, POSITIONS["PL-2"]) <= result.radius_m
    assert result.as_json()["method"] == "pressure_loggers"


def test_without_a_drop_no_logger_stands_out():
    # given the same district without a leak
    result = loc.rank_loggers(_district_pressure({}), ONSET, POSITIONS, TZ, reference="step")
    # then the evidence is spread (no false certainty)
    assert result.confidence < 0.9
    assert result.ranked[0]["score"] < 4


def test_too_little_history_gives_no_ranking():
    pressure = _district_pressure({"PL-2": 0.08})
    recent = pressure[pressure["ts"] >= ONSET - pd.Timedelta(hours=20)]
    assert loc.rank_loggers(recent, ONSET, POSITIONS, TZ) is None


def _steady_pressures(wn, leak_junction: str | None, leak_lps: float) -> pd.Series:
    """EPANET steady state (WNTR's EpanetSimulator, a demand-type leak: another path than
    the sensitivity matrix's emitters), pressures in m."""
    import wntr

    wn.options.time.duration = 0
    if leak_junction is not None:
        wn.add_pattern("constant", [1.0])  # not the model's default pattern
        wn.get_node(leak_junction).add_demand(leak_lps / 1000.0, "constant", "leak")
    with tempfile.TemporaryDirectory() as tmp:
        results = wntr.sim.EpanetSimulator(wn).run_sim(file_prefix=os.path.join(tmp, "run"))
    return results.node["pressure"].iloc[0]


def test_the_model_ranks_a_known_leak_at_its_junction_first():
    # given Net3 with ten pressure loggers and its sensitivity matrix
    model = leak_suite.load("Net3")
    loggers = leak_suite.place_loggers(model, 10, np.random.default_rng(3))
    sens = sensitivity_matrix(leak_suite.load("Net3"), loggers)
    base = _steady_pressures(leak_suite.load("Net3"), None, 0)
    for junction in ("123", "257", "211"):
        # when a 15 l/s leak at a known junction changes the loggers' pressures
        leaking = _steady_pressures(leak_suite.load("Net3"), junction, 15.0)
        residual = (leaking - base)[loggers]
        result = loc.rank_junctions(
            sens.matrix, residual, nuisance=nuisance(sens), leak_lps=15.0, curvature=sens.curvature
        )
        # then that junction is the model's first candidate
        assert result.ranked[0]["id"] == junction, (junction, result.ranked[:3])
        assert result.method == "hydraulic_model"


def test_georeference_recovers_an_affine_map_from_three_loggers():
    xy = {"a": (0.0, 0.0), "b": (10.0, 0.0), "c": (0.0, 10.0), "d": (5.0, 5.0)}
    known = {k: (39.0 + 0.001 * y, 9.0 + 0.002 * x) for k, (x, y) in xy.items() if k != "d"}
    out = loc.georeference(xy, known)
    assert out["d"] == (39.005, 9.01)
    assert loc.georeference(xy, {"a": known["a"], "b": known["b"]}) is None


def test_the_dashboard_draws_the_area_and_the_ranked_places():
    from dashboard.localisation_figures import area_map, ranked_table

    result = loc.rank_loggers(_district_pressure({"PL-2": 0.08}), ONSET, POSITIONS, TZ).as_json()
    table = ranked_table(result, top=3)
    assert table["place"].tolist()[0] == "PL-2" and len(table) == 3
    fig = area_map([result])
    assert [t.name for t in fig.data] == ["pressure loggers (data): area", "pressure loggers (data)"]
    assert area_map([{"method": "hydraulic_model", "ranked": [{"id": "J1", "latitude": None}], "area": None}]) is None
