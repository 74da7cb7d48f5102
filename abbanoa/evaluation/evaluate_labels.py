"""Labels files in the documented format (docs/simulator.md, "Labels"), whoever wrote them.

JSON: `{"scenario": {...}, "events": [...]}` or a bare list of events; or CSV with one
event per row. Each event needs `id`, `type`, `start`, `end` (ISO 8601 with an offset or
`Z`); `dma_id`, `node_id`, `metric`, `magnitude`, `unit`, `description`, `junction`,
`latitude`, `longitude` are optional. The scenario block is optional too: without it the
span scored is the span of the readings.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd

from abbanoa.errors import AbbanoaError

REQUIRED = ("id", "type", "start", "end")
OPTIONAL = ("dma_id", "node_id", "metric", "magnitude", "unit", "description", "junction", "latitude", "longitude")


def find_labels(directory: Path, labels: Path | None = None) -> Path:
    """The labels file: the one given, else labels.json (or labels.csv) in the directory."""
    if labels is not None:
        if not labels.is_file():
            raise AbbanoaError(f"{labels} not found")
        return labels
    for name in ("labels.json", "labels.csv"):
        if (directory / name).is_file():
            return directory / name
    raise AbbanoaError(f"{directory / 'labels.json'} not found: give a scenario directory or --labels PATH")


def load_labels(path: Path) -> tuple[dict, pd.DataFrame]:
    """(scenario dict, possibly empty; events with every documented column, times UTC)."""
    try:
        if path.suffix.lower() == ".csv":
            with open(path, newline="", encoding="utf-8") as handle:
                raw_events = list(csv.DictReader(handle))
            scenario: dict = {}
        else:
            data = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(data, list):
                scenario, raw_events = {}, data
            elif isinstance(data, dict) and isinstance(data.get("events"), list):
                scenario, raw_events = data.get("scenario") or {}, data["events"]
            else:
                raise AbbanoaError(f"{path}: expected a list of events or an object with an 'events' list")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AbbanoaError(f"{path} cannot be read as labels: {exc}") from None
    for i, event in enumerate(raw_events):
        if not isinstance(event, dict):
            raise AbbanoaError(f"{path}: event {i + 1} is not an object")
        missing = [k for k in REQUIRED if event.get(k) in (None, "")]
        if missing:
            raise AbbanoaError(f"{path}: event {i + 1} ({event.get('id', 'no id')}) lacks {', '.join(missing)}")
    events = pd.DataFrame(raw_events, columns=list(dict.fromkeys([*REQUIRED, *OPTIONAL, *_keys(raw_events)])))
    events = events.astype(object).where(events.notna(), None).replace({"": None})
    for col in ("start", "end"):
        events[col] = _instants(events[col], path, col)
    bad = events[events["end"] < events["start"]]
    if not bad.empty:
        raise AbbanoaError(f"{path}: event {bad['id'].iloc[0]} ends before it starts")
    if events["id"].duplicated().any():
        raise AbbanoaError(f"{path}: event id {events['id'][events['id'].duplicated()].iloc[0]} appears twice")
    for col in ("magnitude", "latitude", "longitude"):
        events[col] = pd.to_numeric(events[col], errors="coerce")
    events["id"] = events["id"].astype(str)
    return scenario, events


def scenario_span(scenario: dict, events: pd.DataFrame) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """The scenario's start and end when the labels say them (else None: use the readings)."""
    out = []
    for key in ("start", "end"):
        value = scenario.get(key)
        out.append(pd.Timestamp(value).tz_convert("UTC") if value else None)
    return out[0], out[1]


def _keys(events: list[dict]) -> list[str]:
    return [k for event in events for k in event]


def _instants(values: pd.Series, path: Path, column: str) -> pd.Series:
    out = []
    for value in values:
        try:
            instant = pd.Timestamp(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise AbbanoaError(f"{path}: {column} {value!r} is not an ISO 8601 time") from None
        if instant.tzinfo is None:
            raise AbbanoaError(f"{path}: {column} {value!r} has no offset or Z (stored times are UTC)")
        out.append(instant.tz_convert("UTC"))
    return pd.Series(out, index=values.index, dtype="datetime64[ns, UTC]")
