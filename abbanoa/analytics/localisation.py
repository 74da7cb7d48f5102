"""Where is the leak: rank the places of a leak-type event from pressure, with or without a model.

Two methods, both pure (data in, data out):

- data-driven (`rank_loggers`): each pressure logger's departure from its own expected
  level at the same local time of day, after the district's common movement is taken out
  (each logger's own share of it, fitted before the onset), in units of that logger's
  usual scatter. The loggers that dropped most, against what the whole district did, are
  the nearest to the leak.
- model-based (`rank_junctions`): a sensitivity matrix from the district's hydraulic model
  (the pressure change at every logger for a small leak at every candidate junction,
  `abbanoa.analytics.sensitivity`) matched against the observed pressure residuals by
  correlation, after the model's response to a district-wide demand change and a common
  offset are projected out (least squares with nuisance terms). Pressure-residual matching
  of this kind is what narrowed leaks to a few hundred metres in BattLeDIM 2020
  (Vrachimis et al., "BattLeDIM: Battle of the Leakage Detection and Isolation Methods",
  2020 and J. Water Resour. Plann. Manage. 2022).

Pressures in the data-driven method are in the readings' unit (bar); the model works in m.
Distances are metres on the WGS84 sphere (haversine) or along pipes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

# Leak-type events (abbanoa.analytics.detectors names): a burst on a district's inflow,
# a rising minimum night flow, a sustained baseline excess of a district's inflow.
LEAK_TYPES = ("burst", "rising_night_flow", "baseline_deviation")
# event types compared with the hours just before the onset rather than the days before:
# none, measured on the suite (bench/localisation_eval.py --step-types burst: the model's
# top candidate within 300 m for 4 % of the leaks instead of 12 %, the loggers' top 3 the same)
STEP_TYPES: tuple[str, ...] = ()
SLOT_MINUTES = 60  # "the same local hour": the expected level is per local hour of day
WINDOW_H = 6.0  # hours after the onset averaged for the departure
TRAINING_DAYS = 7  # days before the onset that give each logger's expected level
MIN_TRAINING_DAYS = 2
# usual joint movements taken out of the loggers' departures besides the common one, when
# the district has more than three loggers per mode (bench/localisation_eval.py
# --logger-modes: on ky4's 32 loggers the nearest logger in the top 3 for 25 % of the leaks
# with 0 or 2 modes, 42 % with 4; 12 leaks each, so +-14 %)
LOGGER_MODES = 4
EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG)
AREA_CANDIDATES = 5  # junctions whose positions shape the model's area
MIN_RADIUS_M = 100.0


@dataclass
class Localisation:
    """A ranked answer: places (loggers or junctions) best first, a confidence, an area."""

    method: str  # "pressure_loggers" | "hydraulic_model"
    ranked: list[dict]  # {"id", "score", "latitude", "longitude", ...} best first
    confidence: float  # 0..1
    area: dict | None  # GeoJSON Polygon (lon, lat) or None without positions
    centre: tuple[float, float] | None = None  # (latitude, longitude)
    radius_m: float | None = None
    pipes: list[str] = field(default_factory=list)  # model: pipes next to the top junction
    details: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        """The stored / API form (plain JSON types)."""
        return {
            "method": self.method,
            "ranked": self.ranked,
            "confidence": round(float(self.confidence), 3),
            "area": self.area,
            "centre": list(self.centre) if self.centre else None,
            "radius_m": None if self.radius_m is None else round(float(self.radius_m), 1),
            "pipes": self.pipes,
            "details": self.details,
        }


# --------------------------------------------------------------------------- residuals


def _wide(pressure: pd.DataFrame, slot_minutes: int) -> pd.DataFrame:
    """(node_id, ts, value) rows -> one column per logger, slot means (UTC index)."""
    ts = pressure["ts"]
    if not (isinstance(ts.dtype, pd.DatetimeTZDtype) and str(ts.dtype.tz) == "UTC"):
        ts = pd.to_datetime(ts, utc=True, cache=False)
    frame = pressure.assign(ts=ts, value=pressure["value"].astype(float))
    frame = frame.assign(slot=frame["ts"].dt.floor(f"{slot_minutes}min"))
    return frame.pivot_table(index="slot", columns="node_id", values="value", aggfunc="mean").sort_index()


def pressure_residuals(
    pressure: pd.DataFrame,
    onset: pd.Timestamp,
    timezone: str,
    *,
    window_h: float = WINDOW_H,
    training_days: int = TRAINING_DAYS,
    slot_minutes: int = SLOT_MINUTES,
    reference: str = "days",
) -> pd.DataFrame:
    """Per logger, at the onset: `departure` (mean over the window of the reading minus its
    expected level for the local hour, readings' unit), `relative` (the same after the
    district's common movement, scaled by the logger's own share of it) and `z` (relative
    departure in units of the logger's usual scatter; positive = pressure lower than usual).

    pressure: node_id, ts, value rows of the district's loggers, from `training_days` before
    the onset to `window_h` after it. reference "days": the departure is against the days
    before (a growing leak, a night-flow rise: the leak may have been there for hours);
    "step": against the `window_h` just before the onset as well (a burst: what changed at
    the onset, so the day's own demand level cancels). Loggers without enough history are
    left out."""
    onset = pd.Timestamp(onset)
    onset = onset.tz_localize("UTC") if onset.tzinfo is None else onset.tz_convert("UTC")
    if pressure.empty:
        return pd.DataFrame(columns=["departure", "relative", "z"])
    wide = _wide(pressure, slot_minutes)
    wide = wide[
        (wide.index >= onset - pd.Timedelta(days=training_days)) & (wide.index < onset + pd.Timedelta(hours=window_h))
    ]
    before = wide.index < onset
    local = wide.index.tz_convert(timezone)
    slot = local.hour * 60 + (local.minute // slot_minutes) * slot_minutes
    # the expected level of each local hour needs that hour on at least two days before
    span = (onset - wide.index[before].min()) if before.any() else pd.Timedelta(0)
    if span < pd.Timedelta(days=MIN_TRAINING_DAYS) or (~before).sum() == 0:
        return pd.DataFrame(columns=["departure", "relative", "z"])
    # expected level per logger and local hour: the median of the days before the onset
    expected = wide[before].groupby(slot[before]).median()
    resid = wide - expected.reindex(slot).to_numpy()
    # enough history: a logger needs most of its slots before the onset and some after
    enough = (resid[before].notna().mean() >= 0.5) & (resid[~before].notna().sum() >= 1)
    resid = resid.loc[:, enough]
    if resid.shape[1] == 0:
        return pd.DataFrame(columns=["departure", "relative", "z"])
    common = resid.median(axis=1)
    pre, post = resid[before], resid[~before]
    # each logger's share of the common movement (least squares through the origin, before
    # the onset): a far, high logger moves more with district demand than one by the inlet
    c_pre = common[before].to_numpy()
    beta = {}
    for name in resid.columns:
        x = pre[name].to_numpy()
        ok = ~np.isnan(x) & ~np.isnan(c_pre)
        denom = float(np.dot(c_pre[ok], c_pre[ok]))
        beta[name] = float(np.dot(c_pre[ok], x[ok]) / denom) if denom > 0 else 1.0
    beta = pd.Series(beta)
    relative_pre = pre - np.outer(common[before].to_numpy(), beta.to_numpy())
    relative_post = post - np.outer(common[~before].to_numpy(), beta.to_numpy())
    if LOGGER_MODES > 0 and resid.shape[1] > 3 * LOGGER_MODES:
        # the district's other usual joint movements (parts whose demand, tank or pump
        # moves them together): their leading principal components before the onset,
        # taken out of every hour, as the common movement is
        filled = relative_pre.fillna(relative_pre.mean()).fillna(0.0)
        _, _, vt = np.linalg.svd(filled.to_numpy() - filled.to_numpy().mean(axis=0), full_matrices=False)
        v = vt[:LOGGER_MODES].T
        relative_pre = relative_pre - (relative_pre.fillna(0.0).to_numpy() @ v) @ v.T
        relative_post = relative_post - (relative_post.fillna(0.0).to_numpy() @ v) @ v.T
    scatter = relative_pre.std().clip(lower=1e-4)
    if reference == "step":
        just_before = pre.index >= onset - pd.Timedelta(hours=window_h)
        departure = post.mean() - pre[just_before].mean()
        relative = relative_post.mean() - relative_pre[just_before].mean()
    else:
        departure = post.mean()
        relative = relative_post.mean() - relative_pre.mean()
    return pd.DataFrame({"departure": departure, "relative": relative, "z": -relative / scatter, "beta": beta})


def residual_modes(
    pressure: pd.DataFrame,
    onset: pd.Timestamp,
    timezone: str,
    *,
    modes: int = 3,
    training_days: int = TRAINING_DAYS,
    slot_minutes: int = SLOT_MINUTES,
) -> pd.DataFrame:
    """The loggers' usual joint movements before the onset (logger x mode): the leading
    principal components of their departures from the expected level, common offset
    removed. Parts of a district whose demand rises and falls together move their loggers
    together; a leak's signature is what these modes do not explain (a nuisance term for
    `rank_junctions`). Empty without enough history."""
    onset = pd.Timestamp(onset)
    onset = onset.tz_localize("UTC") if onset.tzinfo is None else onset.tz_convert("UTC")
    if pressure.empty:
        return pd.DataFrame()
    wide = _wide(pressure, slot_minutes)
    wide = wide[(wide.index >= onset - pd.Timedelta(days=training_days)) & (wide.index < onset)]
    if len(wide) < 24:
        return pd.DataFrame()
    local = wide.index.tz_convert(timezone)
    slot = local.hour * 60 + (local.minute // slot_minutes) * slot_minutes
    resid = wide - wide.groupby(slot).median().reindex(slot).to_numpy()
    resid = resid.loc[:, resid.notna().mean() >= 0.5]
    resid = resid.sub(resid.median(axis=1), axis=0).dropna()
    if len(resid) < 24 or resid.shape[1] < 3:
        return pd.DataFrame()
    x = resid.to_numpy() - resid.to_numpy().mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    k = min(modes, vt.shape[0])
    return pd.DataFrame(vt[:k].T, index=resid.columns, columns=[f"mode-{i + 1}" for i in range(k)])


# --------------------------------------------------------------------------- data-driven


def rank_loggers(
    pressure: pd.DataFrame,
    onset: pd.Timestamp,
    positions: dict[str, tuple[float, float]],
    timezone: str,
    *,
    window_h: float = WINDOW_H,
    training_days: int = TRAINING_DAYS,
    reference: str = "days",
    residuals: pd.DataFrame | None = None,
) -> Localisation | None:
    """The district's pressure loggers ranked by their drop against the district's common
    movement at the onset; None when fewer than two loggers have the history it needs.

    positions: node_id -> (latitude, longitude). The confidence is the share of the
    evidence (softmax of the z scores) held by the top three; the area is a circle around
    the top three loggers, weighted by that evidence. `residuals`: pressure_residuals'
    answer when the caller has it already."""
    res = residuals
    if res is None:
        res = pressure_residuals(
            pressure, onset, timezone, window_h=window_h, training_days=training_days, reference=reference
        )
    if len(res) < 2:
        return None
    res = res.sort_values("z", ascending=False)
    z = res["z"].to_numpy()
    weights = np.exp(np.clip(z - z.max(), -50, 0))
    weights = weights / weights.sum()
    ranked = []
    for (node, row), weight in zip(res.iterrows(), weights, strict=True):
        lat, lon = positions.get(node, (None, None))
        ranked.append(
            {
                "id": node,
                "score": round(float(row["z"]), 3),
                "drop_bar": round(float(-row["departure"]), 4),
                "weight": round(float(weight), 4),
                "latitude": lat,
                "longitude": lon,
            }
        )
    top = [r for r in ranked[:3] if r["latitude"] is not None]
    area, centre, radius = None, None, None
    if top:
        spacing = _median_nearest_spacing(
            [(r["latitude"], r["longitude"]) for r in ranked if r["latitude"] is not None]
        )
        centre, radius = _weighted_circle(
            [(r["latitude"], r["longitude"]) for r in top], [r["weight"] for r in top], margin_m=spacing / 2
        )
        area = circle_polygon(centre, radius)
    return Localisation(
        method="pressure_loggers",
        ranked=ranked,
        confidence=float(weights[:3].sum()),
        area=area,
        centre=centre,
        radius_m=radius,
        details={
            "window_h": window_h,
            "loggers": len(ranked),
            "onset": pd.Timestamp(onset).isoformat(),
            "reference": reference,
        },
    )


# --------------------------------------------------------------------------- model-based


def rank_junctions(
    sensitivity: pd.DataFrame,
    residual_m: pd.Series,
    *,
    nuisance: pd.DataFrame | None = None,
    positions: dict[str, tuple[float, float]] | None = None,
    pipes_at: dict[str, list[str]] | None = None,
    top: int = 10,
    leak_lps: float | None = None,
    curvature: pd.DataFrame | None = None,
) -> Localisation | None:
    """Candidate junctions ranked by how well their leak signature explains the residuals.

    sensitivity: candidate junction x logger, pressure change (m) at each logger for the
    model's small leak at the candidate (negative = a drop). residual_m: observed pressure
    change at the onset per logger (m, negative = a drop). nuisance: logger x term, the
    loggers' pressure change for what moves pressures without a leak (district demand, a
    tank's level; abbanoa.analytics.sensitivity.nuisance), projected out like the common
    offset, as many terms as the loggers allow (three loggers per fitted term). The score
    is the correlation of the leak signature with the residual once the nuisance terms are
    projected out of both. With `leak_lps` (the leak's size, l/s, from the district's
    inflow: what the flow detectors measured) the signature's scale is fixed, and the score
    is the share of the residual it explains (1 - SSE / |r|^2): the size then tells a
    junction near the source from one far along the same branch, whose signatures
    correlate alike; `curvature` (m per (l/s)^2) adds the second-order term of the
    signature. None with fewer than three shared loggers."""
    loggers = [c for c in sensitivity.columns if c in residual_m.index and not pd.isna(residual_m[c])]
    if len(loggers) < 3:
        return None
    s = sensitivity[loggers].to_numpy(dtype=float)
    r = residual_m[loggers].to_numpy(dtype=float)
    terms = [np.ones(len(loggers))]
    if nuisance is not None:
        for column in nuisance.columns:
            if len(loggers) < 3 * (len(terms) + 1):
                break
            terms.append(nuisance[column].reindex(loggers).fillna(0.0).to_numpy(dtype=float))
    q, _ = np.linalg.qr(np.column_stack(terms))
    project = lambda m: m - (m @ q) @ q.T  # noqa: E731
    r_p = project(r[None, :])[0]
    s_p = project(s)
    norm_r = float(np.linalg.norm(r_p))
    norm_s = np.linalg.norm(s_p, axis=1)
    if norm_r == 0:
        return None
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = (s_p @ r_p) / (norm_s * norm_r)
    corr = np.nan_to_num(corr, nan=-1.0)
    if leak_lps is not None and leak_lps > 0:
        # sensitivity columns are m per l/s of leak
        predicted = leak_lps * s
        if curvature is not None:  # m per (l/s)^2
            predicted = predicted + leak_lps**2 * curvature.loc[sensitivity.index, loggers].to_numpy(dtype=float)
        corr = 1.0 - ((r_p[None, :] - project(predicted)) ** 2).sum(axis=1) / norm_r**2
    # leak size that best fits (least squares scale of the signature, >= 0), in model units
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.clip((s_p @ r_p) / (norm_s**2), 0, None)
    order = np.argsort(-corr, kind="stable")
    names = list(sensitivity.index)
    positions = positions or {}
    ranked = []
    for i in order[:top]:
        lat, lon = positions.get(names[i], (None, None))
        ranked.append(
            {
                "id": names[i],
                "score": round(float(corr[i]), 4),
                "leak_scale": round(float(np.nan_to_num(scale[i])), 3),
                "latitude": lat,
                "longitude": lon,
            }
        )
    # confidence: how far the best fit stands above the field of candidates (correlations
    # mapped to evidence with a softmax whose width is the spread of the best scores)
    best = corr[order[: min(len(order), 50)]]
    spread = max(float(best[0] - np.median(best)), 1e-3)
    weights = np.exp((corr - corr.max()) / (spread / 3))
    confidence = float(weights[order[0]] / weights.sum()) if weights.sum() > 0 else 0.0
    area, centre, radius = None, None, None
    placed = [r for r in ranked[:AREA_CANDIDATES] if r["latitude"] is not None]
    if placed:
        w = [float(weights[names.index(r["id"])]) for r in placed]
        centre, radius = _weighted_circle([(r["latitude"], r["longitude"]) for r in placed], w, margin_m=0.0)
        area = circle_polygon(centre, radius)
    return Localisation(
        method="hydraulic_model",
        ranked=ranked,
        confidence=confidence,
        area=area,
        centre=centre,
        radius_m=radius,
        pipes=list((pipes_at or {}).get(names[order[0]], [])),
        details={
            "loggers": len(loggers),
            "candidates": len(names),
            "score": "explained share" if leak_lps else "correlation",
            "leak_lps": leak_lps,
        },
    )


# --------------------------------------------------------------------------- geometry


def haversine_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (latitude, longitude) points, metres."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def _median_nearest_spacing(points: list[tuple[float, float]]) -> float:
    """The median distance from each point to its nearest other point (haversine, m)."""
    if len(points) < 2:
        return 2 * MIN_RADIUS_M
    lat, lon = np.radians(np.array(points, dtype=float)).T
    h = (
        np.sin((lat[:, None] - lat[None, :]) / 2) ** 2
        + np.cos(lat[:, None]) * np.cos(lat[None, :]) * np.sin((lon[:, None] - lon[None, :]) / 2) ** 2
    )
    d = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(h, 0, 1)))
    np.fill_diagonal(d, np.inf)
    return float(np.median(d.min(axis=1)))


def _weighted_circle(
    points: list[tuple[float, float]], weights: list[float], margin_m: float
) -> tuple[tuple[float, float], float]:
    """Centre = weighted mean of the points; radius reaches every point, plus the margin."""
    w = np.asarray(weights, dtype=float)
    w = w / w.sum() if w.sum() > 0 else np.full(len(points), 1 / len(points))
    lat = float(np.dot(w, [p[0] for p in points]))
    lon = float(np.dot(w, [p[1] for p in points]))
    radius = max(haversine_m((lat, lon), p) for p in points) + margin_m
    return (round(lat, 6), round(lon, 6)), max(radius, MIN_RADIUS_M)


def circle_polygon(centre: tuple[float, float], radius_m: float, vertices: int = 32) -> dict:
    """A GeoJSON Polygon ([lon, lat] rings) approximating a circle on the sphere."""
    lat0, lon0 = map(math.radians, centre)
    d = radius_m / EARTH_RADIUS_M
    ring = []
    for k in range(vertices + 1):
        bearing = 2 * math.pi * (k % vertices) / vertices
        lat = math.asin(math.sin(lat0) * math.cos(d) + math.cos(lat0) * math.sin(d) * math.cos(bearing))
        lon = lon0 + math.atan2(
            math.sin(bearing) * math.sin(d) * math.cos(lat0), math.cos(d) - math.sin(lat0) * math.sin(lat)
        )
        ring.append([round(math.degrees(lon), 6), round(math.degrees(lat), 6)])
    return {"type": "Polygon", "coordinates": [ring]}


def georeference(
    model_xy: dict[str, tuple[float, float]], known: dict[str, tuple[float, float]]
) -> dict[str, tuple[float, float]] | None:
    """(latitude, longitude) for every model coordinate, from an affine fit on the points
    whose position is known (the loggers: model junction -> registry lat/lon); None with
    fewer than three non-collinear known points. Model coordinates are planar (a projected
    map or a drawing), so over a district an affine map is exact for the latter and within
    metres for the former."""
    common = [k for k in known if k in model_xy]
    if len(common) < 3:
        return None
    a = np.array([[model_xy[k][0], model_xy[k][1], 1.0] for k in common])
    if np.linalg.matrix_rank(a) < 3:
        return None
    b = np.array([known[k] for k in common], dtype=float)
    coef, *_ = np.linalg.lstsq(a, b, rcond=None)
    names = list(model_xy)
    xy = np.array([[model_xy[n][0], model_xy[n][1], 1.0] for n in names])
    out = xy @ coef
    return {n: (round(float(lat), 6), round(float(lon), 6)) for n, (lat, lon) in zip(names, out, strict=True)}


# --------------------------------------------------------------------------- one event

BAR_PER_M = 0.0980665  # 1 m of water head = rho g h = 0.0980665 bar
MODES = 3  # the loggers' usual joint movements projected out before matching (chosen on the suite)
MODEL_TERMS_FIRST = True  # the model's nuisance terms take the loggers' degrees of freedom first


def model_frames(model: dict) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame]:
    """The stored sensitivity (JSON) -> (candidate x logger junction matrix, its second-order
    term, nuisance terms)."""
    sens = model["sensitivity"]
    matrix = pd.DataFrame(sens["matrix"], index=model["candidates"], columns=sens["loggers"])
    curvature = None
    if sens.get("curvature") is not None:
        curvature = pd.DataFrame(sens["curvature"], index=model["candidates"], columns=sens["loggers"])
    nuisance = pd.DataFrame(sens["nuisance"]["values"], index=sens["loggers"], columns=sens["nuisance"]["columns"])
    return matrix, curvature, nuisance


def leak_flow(observed: float | None, expected: float | None) -> float | None:
    """The leak's size (l/s) an inflow anomaly measured: observed minus expected, when positive."""
    if observed is None or expected is None or pd.isna(observed) or pd.isna(expected):
        return None
    excess = float(observed) - float(expected)
    return excess if excess > 0 else None


def localise_event(
    pressure: pd.DataFrame,
    onset: pd.Timestamp,
    anomaly_type: str,
    positions: dict[str, tuple[float, float]],
    timezone: str,
    model: dict | None = None,
    leak_lps: float | None = None,
) -> list[Localisation]:
    """Both answers for one leak-type event: the loggers' ranking, and with a stored model
    (loggers: node_id -> junction, candidates, sensitivity, positions, pipes_at) the
    junctions' ranking. pressure: node_id, ts, value (bar) of the district's loggers;
    leak_lps: the leak's flow the inflow detectors measured (l/s), None when unknown."""
    from threadpoolctl import threadpool_limits

    # matrices of a few dozen loggers: BLAS threads only spin against each other (measured:
    # 0.94 s of CPU per event with OpenBLAS' threads, 0.12 s with one, bench/localisation_cost.py)
    with threadpool_limits(limits=1):
        return _localise_event(pressure, onset, anomaly_type, positions, timezone, model, leak_lps)


def _localise_event(pressure, onset, anomaly_type, positions, timezone, model, leak_lps) -> list[Localisation]:
    reference = "step" if anomaly_type in STEP_TYPES else "days"
    out = []
    residuals = pressure_residuals(pressure, onset, timezone, reference=reference)
    by_logger = rank_loggers(pressure, onset, positions, timezone, reference=reference, residuals=residuals)
    if by_logger is not None:
        out.append(by_logger)
    if model is None:
        return out
    junction_of = model["loggers"]
    as_junction = pressure[pressure["node_id"].isin(junction_of)]
    as_junction = as_junction.assign(node_id=as_junction["node_id"].map(junction_of))
    # the same departures, named by the loggers' junctions
    res = residuals[residuals.index.isin(list(junction_of))].rename(index=junction_of)
    if len(res) < 3:
        return out
    matrix, curvature, nuisance = model_frames(model)
    modes = residual_modes(as_junction, onset, timezone, modes=MODES)
    parts = [nuisance, modes] if MODEL_TERMS_FIRST else [modes, nuisance]
    terms = pd.concat([p for p in parts if not p.empty], axis=1)
    by_model = rank_junctions(
        matrix,
        res["departure"] / BAR_PER_M,
        nuisance=terms,
        positions={k: tuple(v) for k, v in model.get("positions", {}).items()},
        pipes_at=model.get("pipes_at"),
        leak_lps=leak_lps,
        curvature=curvature,
    )
    if by_model is not None:
        by_model.details["model_fingerprint"] = model.get("fingerprint")
        out.append(by_model)
    return out
