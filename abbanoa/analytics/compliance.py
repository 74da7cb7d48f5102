"""Drinking-water quality compliance (pure): limits, compliance % per local day,
excursions with start, end and peak.

Limits: Directive (EU) 2020/2184, Annex I, where it sets a value (pH 6.5-9.5;
conductivity 2500 uS/cm at 20 degC). Where it does not, operational ranges: turbidity
"acceptable to consumers and no abnormal change" (Annex I Part C) taken as 1 NTU at the
tap; free chlorine has no EU value (Italy recommends 0.2 mg/l at the tap; 0.1-0.5 mg/l is
typical; above about 1 mg/l taste complaints). All configurable per node (node_thresholds).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Limit:
    low: float | None
    high: float | None
    kind: str  # directive | operational
    source: str


LIMITS: dict[str, Limit] = {
    "ph": Limit(6.5, 9.5, "directive", "Directive (EU) 2020/2184 Annex I Part C"),
    "conductivity": Limit(None, 2500.0, "directive", "Directive (EU) 2020/2184 Annex I Part C"),
    "turbidity": Limit(None, 1.0, "operational", "Directive (EU) 2020/2184 Annex I Part C (no abnormal change)"),
    "free_chlorine": Limit(0.2, 1.0, "operational", "Italian recommendation 0.2 mg/l at the tap"),
}


def limits_frame(overrides: pd.DataFrame | None = None) -> pd.DataFrame:
    """node_id (None = every node), metric, low, high, kind: defaults then per-node overrides."""
    rows = [
        {"node_id": None, "metric": m, "low": lim.low, "high": lim.high, "kind": lim.kind} for m, lim in LIMITS.items()
    ]
    frame = pd.DataFrame(rows)
    if overrides is not None and not overrides.empty:
        o = overrides.assign(kind="operational")[["node_id", "metric", "low", "high", "kind"]]
        frame = pd.concat([frame, o], ignore_index=True)
    return frame


def attach_limits(readings: pd.DataFrame, limits: pd.DataFrame) -> pd.DataFrame:
    """Readings (node_id, metric, ts, value) with the limit that applies to each (node override first)."""
    defaults = limits[limits["node_id"].isna()].drop(columns="node_id")
    specific = limits[limits["node_id"].notna()]
    frame = readings.merge(defaults, on="metric", how="inner")
    if not specific.empty:
        frame = frame.merge(specific, on=["node_id", "metric"], how="left", suffixes=("", "_node"))
        for col in ("low", "high"):
            frame[col] = frame[f"{col}_node"].combine_first(frame[col])
        frame["kind"] = np.where(frame["low_node"].notna() | frame["high_node"].notna(), "operational", frame["kind"])
        frame = frame.drop(columns=["low_node", "high_node", "kind_node"])
    low = frame["low"].astype(float).fillna(-np.inf)
    high = frame["high"].astype(float).fillna(np.inf)
    frame["compliant"] = (frame["value"] >= low) & (frame["value"] <= high)
    return frame


def daily_compliance(checked: pd.DataFrame, tz: str) -> pd.DataFrame:
    """Per node, metric and local day: samples, compliant samples, compliance %."""
    if checked.empty:
        return pd.DataFrame(columns=["node_id", "metric", "day", "samples", "compliant", "compliance_pct"])
    day = pd.to_datetime(checked["ts"], utc=True).dt.tz_convert(tz).dt.date
    out = (
        checked.assign(day=day)
        .groupby(["node_id", "metric", "day"])
        .agg(samples=("compliant", "size"), compliant=("compliant", "sum"))
        .reset_index()
    )
    out["compliance_pct"] = 100.0 * out["compliant"] / out["samples"]
    return out


def excursions(checked: pd.DataFrame, max_gap: pd.Timedelta = pd.Timedelta(minutes=30)) -> pd.DataFrame:
    """Runs of consecutive non-compliant readings per node and metric (a gap longer than
    max_gap or a compliant reading ends a run): start, end, peak (farthest from the limit),
    and open when the newest reading of the series is still out."""
    cols = ["node_id", "metric", "kind", "low", "high", "start_ts", "end_ts", "peak_value", "open"]
    if checked.empty:
        return pd.DataFrame(columns=cols)
    frame = checked.sort_values(["node_id", "metric", "ts"]).reset_index(drop=True)
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    key_change = (frame["node_id"] != frame["node_id"].shift()) | (frame["metric"] != frame["metric"].shift())
    gap = frame["ts"].diff() > max_gap
    state_change = frame["compliant"] != frame["compliant"].shift()
    frame["run"] = (key_change | gap | state_change).cumsum()
    frame["is_last"] = ~frame.duplicated(["node_id", "metric"], keep="last")
    low = frame["low"].astype(float).fillna(-np.inf)
    high = frame["high"].astype(float).fillna(np.inf)
    frame["distance"] = np.maximum(low - frame["value"], frame["value"] - high)
    out_runs = frame[~frame["compliant"]]
    if out_runs.empty:
        return pd.DataFrame(columns=cols)
    peak_idx = out_runs.groupby("run")["distance"].idxmax()
    runs = out_runs.groupby("run").agg(
        node_id=("node_id", "first"), metric=("metric", "first"), kind=("kind", "first"),
        low=("low", "first"), high=("high", "first"), start_ts=("ts", "min"), end_ts=("ts", "max"),
        open=("is_last", "any"),
    )  # fmt: skip
    runs["peak_value"] = frame.loc[peak_idx.to_numpy(), "value"].to_numpy()
    return runs.reset_index(drop=True)[cols]


def range_compliance(days: list[dict], found: list[dict]) -> dict:
    """Compliance of a range from its daily rows and excursions (one definition for the API,
    the Water quality view and the reports): % of samples within their limits, per parameter
    too, and the excursions that overlap the range (open ones counted apart)."""
    samples = sum(int(d["samples"]) for d in days)
    compliant = sum(int(d["compliant"]) for d in days)
    per: dict[str, dict] = {}
    for d in days:
        m = per.setdefault(d["metric"], {"samples": 0, "compliant": 0})
        m["samples"] += int(d["samples"])
        m["compliant"] += int(d["compliant"])
    for m in per.values():
        m["compliance_pct"] = 100.0 * m["compliant"] / m["samples"] if m["samples"] else None
    return {
        "samples": samples,
        "compliant": compliant,
        "non_compliant": samples - compliant,
        "compliance_pct": 100.0 * compliant / samples if samples else None,
        "by_metric": per,
        "excursions": len(found),
        "open_excursions": sum(1 for e in found if e.get("open")),
    }
