"""`python -m abbanoa simulate`: write a seeded, physically consistent data set."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from abbanoa.errors import AbbanoaError

HELP = (
    "simulate the demo's two districts, or any EPANET network (--network), and write readings, nodes, meters and labels"
)


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
    parser.add_argument(
        "--network",
        default=None,
        metavar="PATH_OR_NAME",
        help="an EPANET .inp file or a network WNTR ships (Net1, Net2, Net3, Net6, ky4, ky10); "
        "default: the demo's Selargius and Quartucciu districts on Net3",
    )
    parser.add_argument(
        "--districts", type=int, default=None, help="with --network: districts to cut (default: ~60 junctions each)"
    )
    parser.add_argument(
        "--partition", default=None, metavar="CSV", help="with --network: districts given as a CSV junction,dma_id"
    )
    parser.add_argument(
        "--logger-density",
        type=float,
        default=0.1,
        help="with --network: share of a district's junctions with a pressure logger (default 0.1, at least one)",
    )
    parser.add_argument(
        "--probe-density",
        type=float,
        default=0.02,
        help="with --network: share of a district's junctions with a quality probe (default 0.02, at least one)",
    )
    parser.add_argument(
        "--interval", type=int, default=5, help="with --network: minutes between readings (a multiple of 5; default 5)"
    )
    parser.add_argument(
        "--hydraulic-step",
        type=int,
        default=None,
        help="with --network: solver step in minutes, results interpolated to 5 (default 5; 15 above 500 junctions)",
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
    from abbanoa.simulate.run import Options, simulate

    if not 1 <= args.days <= 366:
        raise AbbanoaError("--days must be between 1 and 366")
    options = None
    if args.network is not None:
        if args.interval < 5 or args.interval % 5:
            raise AbbanoaError("--interval must be a multiple of 5 minutes")
        if args.hydraulic_step is not None and (args.hydraulic_step < 5 or args.hydraulic_step % 5):
            raise AbbanoaError("--hydraulic-step must be a multiple of 5 minutes")
        if not (0 < args.logger_density <= 1 and 0 < args.probe_density <= 1):
            raise AbbanoaError("--logger-density and --probe-density must be in (0, 1]")
        if args.districts is not None and args.districts < 1:
            raise AbbanoaError("--districts must be at least 1")
        options = Options(
            network=args.network,
            districts=args.districts,
            partition=Path(args.partition) if args.partition else None,
            logger_density=args.logger_density,
            probe_density=args.probe_density,
            interval_min=args.interval,
            hydraulic_min=args.hydraulic_step,
        )
    elif any(v is not None for v in (args.districts, args.partition, args.hydraulic_step)) or args.interval != 5:
        raise AbbanoaError("--districts, --partition, --interval and --hydraulic-step need --network")
    start = parse_start(args.start, args.days, settings.timezone)
    began = time.perf_counter()
    summary = simulate(Path(args.out), args.days, args.seed, start, settings.timezone, options)
    print(
        f"simulated {summary.start:%Y-%m-%dT%H:%MZ} .. {summary.end:%Y-%m-%dT%H:%MZ} "
        f"({summary.steps} steps of 5 min): {summary.rows} rows, {summary.events} labelled events "
        f"-> {summary.out} in {time.perf_counter() - began:.1f} s"
    )
    return 0
