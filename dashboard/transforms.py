"""Pure transforms for the dashboard views (no I/O, no Streamlit)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from abbanoa.metrics import METRICS
from abbanoa.summary import STALE_AFTER  # the same threshold as the KPI "stale nodes"

MAX_POINTS = 3000  # per chart


def resolution_for(start: dt.datetime, end: dt.datetime) -> str:
    """Rollups for long ranges so a chart never needs more than ~MAX_POINTS points."""
    span = end - start
    if span <= dt.timedelta(hours=12):
        return "raw" if span.total_seconds() / 60 <= MAX_POINTS else "5m"
    if span <= dt.timedelta(days=10):
        return "5m" if span / dt.timedelta(minutes=5) <= MAX_POINTS else "1h"
    if span / dt.timedelta(hours=1) <= MAX_POINTS:
        return "1h"
    return "1d"


def unit_of(metric: str) -> str:
    return METRICS[metric].unit if metric in METRICS else ""


def axis_label(metric: str) -> str:
    return f"{metric} [{unit_of(metric)}]"


def series_frame(series: dict, tz: str) -> pd.DataFrame:
    """Points of a series -> DataFrame with `time` in local time (tz) and `value`."""
    points = series.get("points") or []
    if not points:
        return pd.DataFrame(columns=["time", "value"])
    df = pd.DataFrame(points)
    df["time"] = pd.to_datetime(df["ts"], utc=True).dt.tz_convert(ZoneInfo(tz))
    return df.drop(columns=["ts"])


def thin(df: pd.DataFrame, limit: int = MAX_POINTS) -> pd.DataFrame:
    """Every k-th row so a chart stays below `limit` points."""
    if len(df) <= limit:
        return df
    return df.iloc[:: -(-len(df) // limit)]


def node_state(node: dict, latest: dict | None, now: dt.datetime, open_nodes: set[str]) -> str:
    """alarm (open anomaly), stale (no reading for STALE_AFTER), ok, or no data."""
    if node["node_id"] in open_nodes:
        return "alarm"
    readings = (latest or {}).get("readings") or {}
    if not readings:
        return "no data"
    newest = max(pd.Timestamp(r["ts"]) for r in readings.values())
    return "stale" if now - newest.to_pydatetime() > STALE_AFTER else "ok"


_SAMPLE = re.compile(r"^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+([-+0-9.eEinfNa]+)$")


def parse_prometheus(text: str) -> list[tuple[str, dict[str, str], float]]:
    out = []
    for line in (text or "").splitlines():
        m = _SAMPLE.match(line.strip())
        if m and not line.startswith("#"):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
            out.append((m.group(1), labels, float(m.group(3))))
    return out


def api_figures(text: str) -> dict[str, Any]:
    """Mean API latency (ms) and per-route means, and the cache hit rate, from /metrics."""
    samples = parse_prometheus(text)
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    hits = misses = 0.0
    for name, labels, value in samples:
        route = labels.get("route", "")
        if name == "abbanoa_api_request_seconds_sum":
            sums[route] = sums.get(route, 0) + value
        elif name == "abbanoa_api_request_seconds_count":
            counts[route] = counts.get(route, 0) + value
        elif name == "abbanoa_api_cache_total":
            if labels.get("result") == "hit":
                hits += value
            else:
                misses += value
    total = sum(counts.values())
    return {
        "requests": total,
        "mean_latency_ms": 1000 * sum(sums.values()) / total if total else None,
        "routes": {r: 1000 * sums[r] / counts[r] for r in counts if counts[r]},
        "cache_hit_rate": hits / (hits + misses) if hits + misses else None,
    }


def latest_per_job(runs: list[dict]) -> pd.DataFrame:
    if not runs:
        return pd.DataFrame()
    df = pd.DataFrame(runs)
    df["started_at"] = pd.to_datetime(df["started_at"], utc=True)
    df["finished_at"] = pd.to_datetime(df["finished_at"], utc=True)
    df["duration_s"] = (df["finished_at"] - df["started_at"]).dt.total_seconds()
    return df.sort_values("started_at").groupby("job_name").tail(1).set_index("job_name")


def efficiency_frame(items: list[dict], tz: str) -> pd.DataFrame:
    """network_efficiency rows (as the API returns them) -> numeric columns, a local `day`, sorted."""
    df = pd.DataFrame(items)
    numeric = [c for c in df.columns if c.endswith(("_m3", "_pct", "_l_s", "_day", "ili"))]
    df[numeric] = df[numeric].apply(pd.to_numeric, errors="coerce").astype(float)
    df["partial"] = df["partial"].fillna(False).astype(bool) if "partial" in df else False
    df["day"] = pd.to_datetime(df["period_start"], utc=True).dt.tz_convert(tz)
    return df.sort_values("day")


def district_outlines(nodes: list[dict], pad_deg: float = 0.002) -> dict[str, list[tuple[float, float]]]:
    """Per district, a closed outline (lon, lat) around its nodes: the convex hull of the node
    positions grown by `pad_deg` (about 200 m), derived when no boundary is imported. A
    district with one or two located nodes gets a small box around them."""
    import numpy as np
    from scipy.spatial import ConvexHull, QhullError

    by: dict[str, list[tuple[float, float]]] = {}
    for n in nodes:
        if n.get("district_id") and n.get("latitude") is not None and n.get("longitude") is not None:
            by.setdefault(n["district_id"], []).append((float(n["longitude"]), float(n["latitude"])))
    out = {}
    for district, points in by.items():
        pts = np.array(points)
        centre = pts.mean(axis=0)
        # grow each point away from the centre, plus a box corner set, so the hull has area
        grown = np.vstack([pts + [dx, dy] for dx in (-pad_deg, pad_deg) for dy in (-pad_deg, pad_deg)])
        try:
            hull = ConvexHull(grown)
            ring = grown[hull.vertices]
        except QhullError:  # all points on a line
            ring = np.array([centre + [dx, dy] for dx, dy in ((-1, -1), (1, -1), (1, 1), (-1, 1))]) * 1.0
        ring = np.vstack([ring, ring[:1]])
        out[district] = [(float(x), float(y)) for x, y in ring]
    return out
