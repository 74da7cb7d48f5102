"""`python -m abbanoa run-job NAME`: run one scheduled job once, under its lock."""

from __future__ import annotations

import json
import sys

from abbanoa.errors import AbbanoaError
from abbanoa.settings import Settings

HELP = (
    "run one job once (names in abbanoa/jobs/schedule.yaml); exit 0 done, 1 failed, "
    "3 degraded (ran, could not do all its work), 4 skipped (another run holds the lock)"
)
EXIT_CODES = {"succeeded": 0, "duplicate": 0, "failed": 1, "degraded": 3, "skipped": 4}


def add_arguments(parser) -> None:
    from abbanoa.jobs import schedule

    parser.add_argument("name", choices=sorted(schedule.jobs()), metavar="NAME", help="job name")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="job parameter, e.g. days=14")


def parse_params(pairs: list[str]) -> dict:
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise AbbanoaError(f"--param must look like KEY=VALUE, got {pair!r}")
        params[key] = value
    return params


def run(args, settings: Settings) -> int:
    from abbanoa.jobs.runner import run_job
    from abbanoa.stores import postgres

    params = parse_params(args.param)
    postgres.check(settings)
    try:
        record = run_job(args.name, settings, trigger="cli", params=params)
    except AbbanoaError:
        raise
    except Exception as exc:  # recorded as failed and logged with its traceback by the runner
        raise AbbanoaError(f"job {args.name} failed: {type(exc).__name__}: {exc}") from exc
    print(json.dumps(record.to_dict(), default=str))
    if record.status == "skipped":
        print(f"error: job {args.name} not run: another run is in progress", file=sys.stderr)
    elif record.status == "degraded":
        print(f"warning: job {args.name} degraded: {record.error}", file=sys.stderr)
    return EXIT_CODES.get(record.status, 1)
