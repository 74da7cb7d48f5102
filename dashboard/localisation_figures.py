"""Where is the leak, for the anomaly's detail: the ranked places as a table and a map
(ranked loggers or model junctions, the shaded area). No Streamlit here: plain transforms."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

METHOD_LABELS = {"pressure_loggers": "pressure loggers (data)", "hydraulic_model": "hydraulic model"}


def ranked_table(result: dict, top: int = 5) -> pd.DataFrame:
    """The best `top` places of one method: rank, id, score (and drop or pipes where known)."""
    rows = []
    for i, r in enumerate(result.get("ranked", [])[:top], start=1):
        row = {"rank": i, "place": r["id"], "score": r.get("score")}
        if "drop_bar" in r:
            row["drop (bar)"] = r["drop_bar"]
        rows.append(row)
    return pd.DataFrame(rows)


def area_map(results: list[dict], top: int = 5) -> go.Figure | None:
    """The areas (outlines) and best places of every method on a map; None without positions."""
    fig = go.Figure()
    placed = False
    for result in results:
        label = METHOD_LABELS.get(result["method"], result["method"])
        area = result.get("area")
        if area and area.get("type") == "Polygon":
            ring = area["coordinates"][0]
            fig.add_trace(
                go.Scattermap(
                    lon=[p[0] for p in ring], lat=[p[1] for p in ring], mode="lines", fill="toself",
                    opacity=0.3, name=f"{label}: area",
                )
            )  # fmt: skip
            placed = True
        ranked = [r for r in result.get("ranked", [])[:top] if r.get("latitude") is not None]
        if ranked:
            fig.add_trace(
                go.Scattermap(
                    lon=[r["longitude"] for r in ranked], lat=[r["latitude"] for r in ranked],
                    mode="markers+text", text=[f"{i}. {r['id']}" for i, r in enumerate(ranked, start=1)],
                    textposition="top right", name=label,
                )
            )  # fmt: skip
            placed = True
    if not placed:
        return None
    centre = next((r["centre"] for r in results if r.get("centre")), None)
    fig.update_layout(
        map={
            "style": "open-street-map",
            "zoom": 14,
            **({"center": {"lat": centre[0], "lon": centre[1]}} if centre else {}),
        },
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        height=380,
    )
    return fig
