"""The schedule manifest (schedule.yaml) as Python objects."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

MANIFEST = Path(__file__).resolve().parent / "schedule.yaml"


@dataclass(frozen=True)
class JobSpec:
    name: str
    description: str
    cron: str | None
    run: str
    topic: str
    http: bool
    timeout_s: int
    memory_mb: int
    max_attempts: int
    min_backoff_s: int
    max_backoff_s: int

    def load(self):
        """The job's run(ctx) function."""
        module, _, func = self.run.partition(":")
        return getattr(importlib.import_module(module), func)


@lru_cache(maxsize=1)
def manifest() -> tuple[str, dict[str, JobSpec]]:
    """(time zone, job name -> JobSpec) from schedule.yaml."""
    data = yaml.safe_load(MANIFEST.read_text())
    jobs = {}
    for name, spec in data["jobs"].items():
        retry = spec.get("retry", {})
        jobs[name] = JobSpec(
            name=name,
            description=spec["description"],
            cron=spec.get("cron"),
            run=spec["run"],
            topic=spec["topic"],
            http=bool(spec.get("http", True)),
            timeout_s=int(spec["timeout_s"]),
            memory_mb=int(spec.get("memory_mb", 512)),
            max_attempts=int(retry.get("max_attempts", 5)),
            min_backoff_s=int(retry.get("min_backoff_s", 10)),
            max_backoff_s=int(retry.get("max_backoff_s", 600)),
        )
    return data["time_zone"], jobs


def jobs() -> dict[str, JobSpec]:
    return manifest()[1]


def job(name: str) -> JobSpec:
    try:
        return jobs()[name]
    except KeyError:
        raise KeyError(f"unknown job {name!r}; known: {', '.join(sorted(jobs()))}") from None
