"""`python -m abbanoa import PATH... [--tenant T]`: import readings, nodes, district
meters, districts and Selargius SCADA reports (docs/import.md); `import model.inp
--district D`: a district's EPANET model (docs/localisation.md)."""

from __future__ import annotations

import argparse

HELP = (
    "import CSV files (readings, nodes, district meters, districts, Selargius SCADA reports)"
    " or a district's EPANET model (.inp, with --district)"
)


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
    parser.add_argument(
        "--district", default=None, help="the district an EPANET model (.inp) describes (leak localisation)"
    )
    parser.add_argument("--chunk-rows", type=_positive, default=None, help="rows validated and loaded at a time")
    parser.add_argument(
        "--corrections",
        action="store_true",
        help="the files correct readings already imported: a changed value replaces the old one "
        "(audited in reading_corrections: old value, new value, who, when); otherwise it is a duplicate",
    )
    parser.add_argument("--by", default=None, help="who makes the corrections (default: the OS user name)")


def run(args: argparse.Namespace, settings) -> int:
    from pathlib import Path

    from abbanoa.errors import AbbanoaError
    from abbanoa.ingest import network_model
    from abbanoa.ingest.importer import import_paths

    if any(network_model.is_model(Path(p)) for p in args.paths):  # an EPANET model, not CSV
        for path in args.paths:
            print(network_model.import_model(Path(path), args.district, settings, args.tenant).line())
        return 0
    try:
        summary = import_paths(
            args.paths,
            settings,
            args.tenant,
            chunk_rows=args.chunk_rows,
            corrections=args.corrections,
            corrected_by=args.by,
        )
    except AbbanoaError:
        raise
    except Exception as exc:  # one line, never a traceback; the files' quarantine rows were rolled back
        first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
        raise AbbanoaError(f"import failed: {type(exc).__name__}: {first}") from exc
    for line in summary.lines():
        print(line)
    return 0
