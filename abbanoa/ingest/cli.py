"""`python -m abbanoa import PATH... [--tenant T]`: import readings, nodes, district
meters, districts and Selargius SCADA reports (docs/import.md)."""

from __future__ import annotations

import argparse

HELP = "import CSV files (readings, nodes, district meters, districts, Selargius SCADA reports)"


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="files (or directories of CSV files) to import; the kind is read from the header",
    )
    parser.add_argument("--tenant", default=None, help="tenant the data belongs to (default: DEFAULT_TENANT)")
    parser.add_argument("--chunk-rows", type=_positive, default=None, help="rows validated and loaded at a time")


def run(args: argparse.Namespace, settings) -> int:
    from abbanoa.ingest.importer import import_paths

    summary = import_paths(args.paths, settings, args.tenant, chunk_rows=args.chunk_rows)
    for line in summary.lines():
        print(line)
    return 0
