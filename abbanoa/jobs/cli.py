"""`python -m abbanoa run-job NAME`: run one scheduled job once, under its lock; with
`--as-of TS` as if the clock read TS; with `--from TS` at every tick of its cron from TS to
`--as-of` (default: now), in order, as the scheduler would have fired it (a backfill, or a
re-run of a past window)."""

from __future__ import annotations

import datetime as dt
import json
import sys

from abbanoa.errors import AbbanoaError
from abbanoa.settings import Settings

HELP = (
    "run one job once (names in abbanoa/jobs/schedule.yaml), or replay its ticks over a past window; "
    "exit 0 done, 1 failed, 3 degraded (ran, could not do all its work), 4 skipped (another run holds the lock)"
)
EXIT_CODES = {"succeeded": 0, "duplicate": 0, "failed": 1, "degraded": 3, "skipped": 4}
MAX_TICKS = 100_000  # a replay longer than this is a typo (15-minute ticks: about 2.8 years)


def add_arguments(parser) -> None:
    from abbanoa.jobs import schedule

    parser.add_argument("name", choices=sorted(schedule.jobs()), metavar="NAME", help="job name")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE", help="job parameter, e.g. days=14")
    parser.add_argument(
        "--as-of",
        default=None,
        metavar="TS",
        help="the run's clock: an ISO instant with offset or Z (default: now); with --from, the replay's end",
    )
    parser.add_argument(
        "--from",
        dest="from_ts",
        default=None,
        metavar="TS",
        help="replay: run at every tick of the job's cron (schedule.yaml, its time zone) after TS up to --as-of",
    )


def parse_params(pairs: list[str]) -> dict:
    params = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise AbbanoaError(f"--param must look like KEY=VALUE, got {pair!r}")
        params[key] = value
    return params


def check_window(name: str, params: dict, settings: Settings) -> None:
    """A detection window longer than one run reaches back (its baselines' weeks of history,
    `anomaly_detection.run`) would be cut short without a word: refuse it, naming the way
    that does reach further back (a replay)."""
    if name != "anomaly_detection" or "window_hours" not in params:
        return
    from abbanoa.analytics.config import DetectorConfig

    try:
        hours = float(params["window_hours"])
    except ValueError:
        raise AbbanoaError(f"window_hours must be a number of hours, got {params['window_hours']!r}") from None
    reach_h = 24 * (7 * DetectorConfig.from_settings(settings).baseline_weeks + 2)
    if hours > reach_h:
        raise AbbanoaError(
            f"window_hours={params['window_hours']} reaches past the {reach_h:.0f} h one run reads:"
            " replay the ticks instead (run-job anomaly_detection --from TS)"
        )


def parse_instant(text: str, option: str) -> dt.datetime:
    """An ISO 8601 instant with an offset (or Z) as an aware UTC datetime."""
    try:
        instant = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise AbbanoaError(f"{option} {text!r} is not an ISO 8601 date-time") from None
    if instant.tzinfo is None:
        raise AbbanoaError(f"{option} {text!r} has no offset: add Z or +01:00 (stored times are UTC)")
    return instant.astimezone(dt.UTC)


def ticks(cron: str | None, time_zone: str, after: dt.datetime, until: dt.datetime) -> list[dt.datetime]:
    """The cron's fire times (UTC) in (after, until], computed on the local clock as Cloud
    Scheduler does (a daylight-saving change moves them in UTC)."""
    from zoneinfo import ZoneInfo

    from croniter import croniter

    if cron is None:
        raise AbbanoaError("this job has no cron (run on demand): it has no ticks to replay; use --as-of alone")
    it = croniter(cron, after.astimezone(ZoneInfo(time_zone)))
    out: list[dt.datetime] = []
    while True:
        fire = it.get_next(dt.datetime).astimezone(dt.UTC)
        if fire > until:
            return out
        out.append(fire)
        if len(out) > MAX_TICKS:
            raise AbbanoaError(f"the replay holds more than {MAX_TICKS} ticks: shorten --from .. --as-of")


def replay(name: str, settings: Settings, moments: list[dt.datetime], params: dict, trigger: str = "replay"):
    """Run the job once per moment, in order, each as if the clock read that moment; stop at
    the first failed run. Returns the run records."""
    from abbanoa.jobs.runner import run_job

    records = []
    for moment in moments:
        record = run_job(name, settings, trigger=trigger, params=params, now=moment)
        records.append(record)
        if record.status == "failed":
            break
    return records


def run(args, settings: Settings) -> int:
    from abbanoa.jobs import schedule
    from abbanoa.stores import postgres

    params = parse_params(args.param)
    check_window(args.name, params, settings)
    as_of = parse_instant(args.as_of, "--as-of") if args.as_of else None
    if args.from_ts is not None:
        start = parse_instant(args.from_ts, "--from")
        end = as_of or dt.datetime.now(dt.UTC)
        if start >= end:
            raise AbbanoaError("--from must be before --as-of (or now)")
        time_zone, jobs = schedule.manifest()
        moments = ticks(jobs[args.name].cron, time_zone, start, end)
    else:
        moments = [as_of]
    postgres.check(settings)
    try:
        records = replay(args.name, settings, moments, params, trigger="cli")
    except AbbanoaError:
        raise
    except Exception as exc:  # recorded as failed and logged with its traceback by the runner
        raise AbbanoaError(f"job {args.name} failed: {type(exc).__name__}: {exc}") from exc
    if args.from_ts is None:
        print(json.dumps(records[0].to_dict(), default=str))
    else:
        statuses = [r.status for r in records]
        print(
            json.dumps(
                {
                    "job": args.name,
                    "from": moments[0].isoformat() if moments else None,
                    "to": moments[-1].isoformat() if moments else None,
                    "ticks": len(moments),
                    "runs": {s: statuses.count(s) for s in sorted(set(statuses))},
                    "rows": sum(r.rows for r in records),
                }
            )
        )
    for record in records:
        if record.status == "skipped":
            print(f"error: job {args.name} not run at {record.started_at}: another run is in progress", file=sys.stderr)
        elif record.status == "degraded":
            print(f"warning: job {args.name} degraded: {record.error}", file=sys.stderr)
    # the worst outcome decides: failed, then skipped (work not done), then degraded
    codes = [EXIT_CODES.get(r.status, 1) for r in records]
    return next((c for c in (1, 4, 3) if c in codes), 0)
