"""Command line: `python -m abbanoa COMMAND ...`. Run with --help for the list."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from abbanoa.errors import AbbanoaError
from abbanoa.settings import get_settings

# command -> module. Each module has HELP, add_arguments(parser) and run(args, settings).
# Modules are imported only when their command runs, so `--help` stays fast.
COMMANDS: dict[str, str] = {
    "migrate": "abbanoa.migrations",
    "check": "abbanoa.doctor",
    "import": "abbanoa.ingest.cli",
    "simulate": "abbanoa.simulate.cli",
    "run-job": "abbanoa.jobs.cli",
    "scheduler": "abbanoa.jobs.scheduler",
    "seed-demo": "abbanoa.demo",
    "demo-feed": "abbanoa.demo_feed",
    "evaluate": "abbanoa.evaluation.evaluate",
    "backtest": "abbanoa.evaluation.backtest",
}


def build_parser(load: bool = True) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m abbanoa",
        description="Abbanoa water-network platform: schema, import, simulation, jobs, analytics.",
        epilog="Settings come from environment variables; see docs/configuration.md.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):
                continue  # not part of this build
            raise
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
        command.set_defaults(_module=module)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_module", None):
        parser.print_help()
        return 2
    try:
        settings = get_settings()
        logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        return int(args._module.run(args, settings) or 0)
    except AbbanoaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
