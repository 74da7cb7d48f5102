"""What every job receives and returns; the runner (abbanoa.jobs.runner) adds the lock,
the run record and the retry discipline around `run(ctx)`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from abbanoa.settings import Settings


@dataclass
class JobContext:
    """Inputs of one run: settings, the run's clock and lazily opened stores."""

    job_name: str
    settings: Settings
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    run_id: int | None = None
    params: dict[str, Any] = field(default_factory=dict)  # e.g. {"days": 7} from an HTTP "run now"

    @cached_property
    def engine(self):
        from abbanoa.stores import postgres

        return postgres.engine(self.settings)

    @cached_property
    def cache(self):
        from abbanoa.stores.cache import Cache

        return Cache(self.settings)

    @cached_property
    def warehouse(self):
        from abbanoa.stores.bigquery import Warehouse

        return Warehouse(self.settings)


@dataclass
class JobOutcome:
    """What a run did: rows touched, watermark movement, and anything worth recording."""

    rows: int = 0
    watermark_before: dt.datetime | None = None
    watermark_after: dt.datetime | None = None
    details: dict[str, Any] = field(default_factory=dict)
    degraded: str | None = None  # why the run could not do (all of) its work; recorded as `degraded`
