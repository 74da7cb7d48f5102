"""`python -m abbanoa simulate`: write a seeded, physically consistent data set."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from abbanoa.errors import AbbanoaError

HELP = "simulate two district metered areas (WNTR/EPANET) and write readings, nodes, meters and labels"


def add_arguments(parser) -> None:
    parser.add_argument("--days", type=int, default=28, help="local calendar days to simulate (default 28)")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--seed", type=int, default=42, help="random seed (same seed, same files)")
    parser.add_argument(
        "--start",
        default=None,
        help="first local day (YYYY-MM-DD, local midnight) or an ISO instant with offset; "
        "default: DAYS days before today",
    )


def parse_start(text: str | None, days: int, timezone: str, today: date | None = None) -> datetime:
    """The run's first instant (UTC-aware); a bare date means local midnight."""
    tz = ZoneInfo(timezone)
    if text is None:
        day = (today or datetime.now(tz).date()) - timedelta(days=days)
        return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
        instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise AbbanoaError(f"--start {text!r} is not an ISO date or date-time") from None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=tz)
    instant = instant.astimezone(UTC)
    if instant.minute % 5 or instant.second or instant.microsecond:
        raise AbbanoaError("--start must fall on a 5-minute boundary")
    return instant


def run(args, settings) -> int:
    from abbanoa.simulate.run import simulate

    if not 1 <= args.days <= 366:
        raise AbbanoaError("--days must be between 1 and 366")
    start = parse_start(args.start, args.days, settings.timezone)
    began = time.perf_counter()
    summary = simulate(Path(args.out), args.days, args.seed, start, settings.timezone)
    print(
        f"simulated {summary.start:%Y-%m-%dT%H:%MZ} .. {summary.end:%Y-%m-%dT%H:%MZ} "
        f"({summary.steps} steps of 5 min): {summary.rows} rows, {summary.events} labelled events "
        f"-> {summary.out} in {time.perf_counter() - began:.1f} s"
    )
    return 0
