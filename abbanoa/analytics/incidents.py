"""The event workflow's rules (pure): when an anomaly has cleared long enough to close by
itself, what a leak or burst has cost so far, and which anomalies are one incident.

An anomaly's `end_ts` is the last time the detector saw its condition (the detection job
extends it while the condition lasts), so "cleared for a set time" is `now - end_ts`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from abbanoa.analytics import detectors

# How long a condition must have cleared before the system resolves the anomaly, by type;
# sensor faults and gaps close sooner than hydraulic events, which an operator may still be
# repairing. Any other type: DEFAULT_QUIET.
QUIET = {
    detectors.SPIKE: dt.timedelta(hours=1),
    detectors.STUCK: dt.timedelta(hours=2),
    detectors.GAP: dt.timedelta(hours=1),
    detectors.OUT_OF_RANGE: dt.timedelta(hours=2),
    detectors.THRESHOLD: dt.timedelta(hours=2),
    detectors.BURST: dt.timedelta(hours=6),
    detectors.PRESSURE_DROP: dt.timedelta(hours=3),
    detectors.RISING_MNF: dt.timedelta(hours=36),  # a night-flow signal is seen once a night
}
DEFAULT_QUIET = dt.timedelta(hours=3)
# types whose observed - expected value is a flow lost from the network (l/s)
LEAK_TYPES = (detectors.BURST, detectors.RISING_MNF)


@dataclass(frozen=True)
class Closure:
    anomaly_id: int
    reason: str


def quiet_for(anomaly_type: str) -> dt.timedelta:
    return QUIET.get(anomaly_type, DEFAULT_QUIET)


def to_close(anomalies: list[dict], now: dt.datetime) -> list[Closure]:
    """Open or acknowledged anomalies whose condition has not been seen for their quiet time."""
    out = []
    for a in anomalies:
        if a["status"] == "resolved":
            continue
        last_seen = min(a["end_ts"], now)  # an end in the future (data ahead of the clock) is now
        quiet = quiet_for(a["anomaly_type"])
        if now - last_seen >= quiet:
            hours = quiet.total_seconds() / 3600
            out.append(
                Closure(
                    a["anomaly_id"], f"condition cleared for {hours:g} h (last seen {last_seen:%Y-%m-%d %H:%M} UTC)"
                )
            )
    return out


def leak_estimate(
    anomaly_type: str,
    observed: float | None,
    expected: float | None,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
) -> tuple[float | None, float | None]:
    """(estimated flow l/s, volume lost so far m3) of a leak or burst: the flow above the
    expected level, held from its start to its last sighting (not past now). None for other
    types or without both values."""
    if anomaly_type not in LEAK_TYPES or observed is None or expected is None:
        return None, None
    flow = max(0.0, float(observed) - float(expected))
    seconds = max(0.0, (min(end, now) - start).total_seconds())
    return flow, flow * seconds / 1000.0


def group(anomalies: list[dict], gap: dt.timedelta = dt.timedelta(minutes=30)) -> list[dict]:
    """One incident per root cause: anomalies of one node (or, without a node, one district)
    and one family (a probe's outage: its gaps; a sensor's faults) that overlap in time are one
    incident listing its metrics and members. Input and output newest first."""
    families = {detectors.GAP: "outage", detectors.STUCK: "outage", detectors.TOTALIZER: "outage"}
    incidents: list[dict] = []
    for a in sorted(anomalies, key=lambda x: x["start_ts"]):
        key = (a.get("node_id") or a.get("district_id"), families.get(a["anomaly_type"], a["anomaly_type"]))
        for inc in incidents:
            if inc["key"] == key and a["start_ts"] <= inc["end_ts"] + gap and a["end_ts"] >= inc["start_ts"] - gap:
                inc["members"].append(a)
                inc["end_ts"] = max(inc["end_ts"], a["end_ts"])
                break
        else:
            incidents.append({"key": key, "start_ts": a["start_ts"], "end_ts": a["end_ts"], "members": [a]})
    out = []
    for inc in incidents:
        lead = max(inc["members"], key=lambda m: (SEVERITY_RANK.get(m["severity"], 0), m["anomaly_id"]))
        out.append(
            {
                **lead,
                "start_ts": inc["start_ts"],
                "end_ts": inc["end_ts"],
                "members": sorted(m["anomaly_id"] for m in inc["members"]),
                "metrics": sorted({m["metric"] for m in inc["members"] if m.get("metric")}),
            }
        )
    return sorted(out, key=lambda x: x["start_ts"], reverse=True)


SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}
