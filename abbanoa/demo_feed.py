"""`python -m abbanoa demo-feed DIR`: the demo's live data. A simulated scenario that runs
past the present is imported as time passes: everything up to now at once, then every
interval the readings whose time has come, through the same import path as any file
(validation, quarantine, the warehouse MERGE). The scheduled jobs then see a network that
keeps reporting. Which time the scenario was fed up to is kept in DIR/.fed-until-<dataset>-
<tenant> (one per warehouse and tenant), so a restart carries on; importing a slice twice
changes nothing (the import is idempotent). When the scenario is fed to its end the command
exits.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

from abbanoa.errors import AbbanoaError

HELP = "feed a simulated scenario's readings into the warehouse as their time comes (the demo's live data)"
STATE = ".fed-until-{dataset}-{tenant}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", type=Path, help="scenario directory written by `simulate` (readings.csv)")
    parser.add_argument("--tenant", default=None, help="tenant to import into (default: DEFAULT_TENANT)")
    parser.add_argument("--interval", type=float, default=300.0, help="seconds between imports (default 300)")
    parser.add_argument("--once", action="store_true", help="import what is due now, then exit")


class Feed:
    """The scenario's readings, read once; `due(until)` is what has not been fed up to `until`."""

    def __init__(self, directory: Path, dataset: str = "", tenant: str = ""):
        import pandas as pd

        path = directory / "readings.csv"
        if not path.is_file():
            raise AbbanoaError(f"{path} not found: give a directory written by `python -m abbanoa simulate`")
        self.directory = directory
        self.state = directory / STATE.format(dataset=dataset, tenant=tenant)
        self.rows = pd.read_csv(path, dtype=str, keep_default_na=False)
        self.ts = pd.to_datetime(self.rows["timestamp"], utc=True, errors="coerce", format="ISO8601")
        self.end = self.ts.max()

    @property
    def fed_until(self):
        import pandas as pd

        return pd.Timestamp(self.state.read_text().strip()) if self.state.is_file() else None

    def due(self, until):
        """Rows with a time in (fed_until, until]; the first slice also takes the rows whose
        time cannot be read (the importer quarantines them, once)."""
        fed = self.fed_until
        mask = self.ts <= until
        mask = mask & (self.ts > fed) if fed is not None else mask | self.ts.isna()
        return self.rows[mask.to_numpy()]

    def feed(self, settings, tenant: str | None, now: dt.datetime) -> int:
        """Import the due rows; returns how many were read."""
        import pandas as pd

        from abbanoa.ingest.importer import import_paths

        until = pd.Timestamp(now).tz_convert("UTC")
        rows = self.due(until)
        if not rows.empty:
            with tempfile.TemporaryDirectory(prefix="abbanoa-feed-") as tmp:
                part = Path(tmp) / "readings.csv"
                rows.to_csv(part, index=False)
                import_paths([part], settings, tenant, now=now, progress=False)
        self.state.write_text(until.isoformat())
        return len(rows)


def run(args: argparse.Namespace, settings) -> int:
    tenant = args.tenant or settings.default_tenant
    feed = Feed(args.directory, settings.bq_dataset, tenant)
    while True:
        now = dt.datetime.now(dt.UTC)
        fed = feed.feed(settings, tenant, now)
        print(f"{now:%Y-%m-%d %H:%M:%S}Z fed {fed} readings (scenario until {feed.end:%Y-%m-%d %H:%M}Z)", flush=True)
        if args.once:
            return 0
        if feed.fed_until >= feed.end:
            print("the scenario is fed to its end", flush=True)
            return 0
        time.sleep(args.interval)
