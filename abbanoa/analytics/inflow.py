"""District net inflow from its meters (DESIGN.md: direction 1 enters, -1 leaves)."""

from __future__ import annotations

import pandas as pd


def district_inflow(flow: pd.DataFrame, meters: pd.DataFrame, bucket: str = "1h") -> pd.DataFrame:
    """Net inflow per district and time bucket (l/s): sum of direction x mean flow of its
    meters, only for buckets where every meter of the district reported.

    flow: node_id, ts, value (flow_rate, l/s); meters: district_id, node_id, direction.
    """
    if flow.empty or meters.empty:
        return pd.DataFrame(columns=["district_id", "ts", "value"])
    f = flow.assign(ts=pd.to_datetime(flow["ts"], utc=True).dt.floor(bucket))
    h = f.groupby(["node_id", "ts"])["value"].mean().reset_index()
    h = h.merge(meters[["district_id", "node_id", "direction"]], on="node_id")
    h["signed"] = h["value"] * h["direction"]
    needed = meters.groupby("district_id")["node_id"].nunique().rename("needed")
    out = h.groupby(["district_id", "ts"]).agg(value=("signed", "sum"), meters=("node_id", "nunique"))
    out = out.join(needed, on="district_id")
    out = out[out["meters"] == out["needed"]].reset_index()
    return out[["district_id", "ts", "value"]]
