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


# Hydraulic symptoms of one cause (a burst, a shut valve): the district's inflow rising and
# its loggers' pressure falling. Those of one district starting within HYDRAULIC_WINDOW of the
# first one are one incident whatever the node: a burst is felt across the district within
# minutes (the pressure wave travels at about 1 km/s; the loggers report every 5 minutes),
# while a separate cause in the same district rarely starts within the same hour.
HYDRAULIC_TYPES = (detectors.BURST, detectors.PRESSURE_DROP)
HYDRAULIC_METRICS = ("flow_rate", "pressure")  # a baseline deviation of these is hydraulic too
HYDRAULIC_WINDOW = dt.timedelta(hours=1)


def hydraulic(anomaly: dict) -> bool:
    """A hydraulic symptom: a burst, a pressure drop, or a flow or pressure baseline deviation."""
    kind = anomaly["anomaly_type"]
    return kind in HYDRAULIC_TYPES or (kind == detectors.BASELINE and anomaly.get("metric") in HYDRAULIC_METRICS)


def group(anomalies: list[dict], gap: dt.timedelta = dt.timedelta(minutes=30)) -> list[dict]:
    """One incident per root cause. Anomalies of one node (or, without a node, one district)
    and one family (a probe's outage: its gaps; a sensor's faults) that overlap in time are one
    incident listing its metrics and members; so are the hydraulic symptoms of one district
    that start within HYDRAULIC_WINDOW of the incident's first (a burst: the inflow step and
    the pressure drops at several loggers), led by the burst. Input and output newest first;
    each incident also lists its members' nodes and types."""
    families = {detectors.GAP: "outage", detectors.STUCK: "outage", detectors.TOTALIZER: "outage"}
    incidents: list[dict] = []
    for a in sorted(anomalies, key=lambda x: (x["start_ts"], x["anomaly_id"])):
        key = (a.get("node_id") or a.get("district_id"), families.get(a["anomaly_type"], a["anomaly_type"]))
        district = a.get("district_id") if hydraulic(a) else None
        for inc in incidents:
            same_cause = (
                inc["key"] == key and a["start_ts"] <= inc["end_ts"] + gap and a["end_ts"] >= inc["start_ts"] - gap
            )
            same_wave = (
                district is not None
                and inc["district"] == district
                and (a["start_ts"] - inc["start_ts"] <= HYDRAULIC_WINDOW)
            )
            if same_cause or same_wave:
                inc["members"].append(a)
                inc["end_ts"] = max(inc["end_ts"], a["end_ts"])
                break
        else:
            incidents.append(
                {"key": key, "district": district, "start_ts": a["start_ts"], "end_ts": a["end_ts"], "members": [a]}
            )
    out = []
    for inc in incidents:
        lead = max(
            inc["members"],
            key=lambda m: (
                inc["district"] is not None and m["anomaly_type"] == detectors.BURST,
                SEVERITY_RANK.get(m["severity"], 0),
                m["anomaly_id"],
            ),
        )
        out.append(
            {
                **lead,
                "start_ts": inc["start_ts"],
                "end_ts": inc["end_ts"],
                "members": sorted(m["anomaly_id"] for m in inc["members"]),
                "metrics": sorted({m["metric"] for m in inc["members"] if m.get("metric")}),
                "nodes": sorted({m["node_id"] for m in inc["members"] if m.get("node_id")}),
                "types": sorted({m["anomaly_type"] for m in inc["members"]}),
            }
        )
    return sorted(out, key=lambda x: x["start_ts"], reverse=True)


SEVERITY_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}
