"""Pickers shared by several views."""

from __future__ import annotations

import streamlit as st

from abbanoa.metrics import METRICS
from dashboard import transforms, ui


def district_picker(key: str = "district") -> dict | None:
    districts = ui.fetch("districts") or []
    if not districts:
        ui.empty("No districts registered for this tenant.")
        return None
    names = {f"{d['district_id']} — {d.get('name') or ''}": d for d in districts}
    return names[st.selectbox("District", list(names), key=key)]


def district_efficiency(key: str, default_range: str):
    """Pick a district and a range, fetch its daily efficiency rows: the frame
    (transforms.efficiency_frame), or None after saying why there is nothing to show."""
    district = district_picker(f"{key}_district")
    if district is None:
        return None
    start, end = ui.time_range(default=default_range, key=f"{key}_range")
    eff = ui.fetch("efficiency", district["district_id"], "day", start, end)
    items = (eff or {}).get("items") or []
    if not items:
        ui.empty("No data for this district in this range (the network_efficiency job has not run).")
        return None
    return transforms.efficiency_frame(items, ui.tz())


def node_picker(
    node_types: tuple[str, ...] | None = None, key: str = "node", district: str | None = None
) -> dict | None:
    nodes = [
        n
        for n in ui.fetch("nodes") or []
        if (node_types is None or n.get("node_type") in node_types)
        and (district is None or n.get("district_id") == district)
    ]
    if not nodes:
        ui.empty("No matching nodes for this tenant.")
        return None
    names = {f"{n['node_id']} — {n.get('name') or ''} ({n.get('node_type')})": n for n in nodes}
    return names[st.selectbox("Node", list(names), key=key)]


def metric_picker(default: str = "flow_rate", key: str = "metric", kinds: tuple[str, ...] | None = None) -> str:
    names = [m for m, spec in METRICS.items() if kinds is None or spec.kind in kinds]
    return st.selectbox("Metric", names, index=names.index(default) if default in names else 0, key=key)
