"""Pickers shared by several views."""

from __future__ import annotations

import streamlit as st

from abbanoa.metrics import METRICS
from dashboard import ui


def district_picker(key: str = "district") -> dict | None:
    districts = ui.fetch("districts") or []
    if not districts:
        ui.empty("No districts registered for this tenant.")
        return None
    names = {f"{d['district_id']} — {d.get('name') or ''}": d for d in districts}
    return names[st.selectbox("District", list(names), key=key)]


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
