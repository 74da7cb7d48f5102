"""`python -m abbanoa evaluate DIR`: import a simulated scenario, sync it into PostgreSQL,
run the detectors over its whole span (replayed as the 15-minute job would have seen it:
every detector looks backwards only, except the spike detector's two-reading look-ahead)
and score the alerts against labels.json."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from abbanoa.errors import AbbanoaError

HELP = "score the anomaly detectors on a simulated scenario directory (labels.json)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", type=Path, help="scenario directory written by `simulate`")
    parser.add_argument("--tenant", default=None, help="tenant to import into (default: DEFAULT_TENANT)")
    parser.add_argument(
        "--skip-import", action="store_true", help="the scenario is already imported and synced: only detect and score"
    )
    parser.add_argument("--min-severity", default="medium", choices=("low", "medium", "high", "critical"))


def run(args: argparse.Namespace, settings) -> int:
    import datetime as dt

    import pandas as pd

    from abbanoa import migrations
    from abbanoa.analytics.config import DetectorConfig
    from abbanoa.analytics.episodes import SEVERITIES
    from abbanoa.analytics.scoring import match, summary
    from abbanoa.stores import postgres

    labels_path = args.directory / "labels.json"
    if not labels_path.is_file():
        raise AbbanoaError(f"{labels_path} not found: give a directory written by `python -m abbanoa simulate`")
    labels = json.loads(labels_path.read_text())
    scenario = labels["scenario"]
    start = pd.Timestamp(scenario["start"])
    end = pd.Timestamp(scenario["end"])
    if not args.skip_import:
        from abbanoa.ingest.importer import import_paths
        from abbanoa.jobs.runner import run_job

        migrations.ensure_database(settings)
        migrations.apply_all(settings)
        summary_ = import_paths([args.directory], settings, args.tenant or settings.default_tenant)
        for line in summary_.lines():
            print(line)
        run_job("etl_init", settings, trigger="cli")
    import sqlalchemy as sa

    from abbanoa.jobs.anomaly_detection import decide, gather

    config = DetectorConfig.from_settings(settings)
    postgres.check(settings)
    try:
        with postgres.engine(settings).connect() as conn:
            data = gather(conn, start.to_pydatetime(), end.to_pydatetime())
    except sa.exc.ProgrammingError as exc:  # no schema: --skip-import on a database never loaded
        raise AbbanoaError(
            f"the database at {postgres.describe(settings)} holds no imported scenario: run without --skip-import"
        ) from exc
    if data["readings"].empty:
        raise AbbanoaError("no readings in PostgreSQL for the scenario's time range: import and sync first")
    episodes = decide(data, config, now=end.to_pydatetime(), since=None)
    floor = SEVERITIES.index(args.min_severity)
    alerts = episodes[episodes["severity"].map(SEVERITIES.index) >= floor]
    events, matched = match(alerts, pd.DataFrame(labels["events"]))
    days = (end - start) / dt.timedelta(days=1)
    result = summary(events, matched, districts=data["districts"]["district_id"].nunique(), weeks=days / 7)
    print(render(events, result, len(data["readings"]), days))
    return 0


def render(events, result: dict, readings: int, days: float) -> str:
    lines = [f"{readings} readings over {days:.1f} days; {result['alerts']} alerts", ""]
    lines.append(f"{'event':<38} {'type':<18} {'node':<11} {'detected':<9} {'after (h)':>9}  by")
    for ev in events.sort_values("start").itertuples():
        after = f"{ev.ttd_h:9.2f}" if ev.detected else f"{'-':>9}"
        lines.append(
            f"{ev.id:<38} {ev.type:<18} {(ev.node_id or ev.dma_id or ''):<11} "
            f"{'yes' if ev.detected else 'NO':<9} {after}  {ev.by if isinstance(ev.by, str) else ''}"
        )
    lines += [
        "",
        f"{'type':<18} {'events':>6} {'found':>6} {'recall':>7} {'precision':>9} {'ttd med h':>9} {'ttd max h':>9}",
    ]
    for kind, s in result["by_type"].items():
        lines.append(
            f"{kind:<18} {s['events']:>6} {s['detected']:>6} {s['recall']:>7.2f} {s['precision']:>9.2f} "
            f"{s['ttd_median_h']:>9.2f} {s['ttd_max_h']:>9.2f}"
        )
    lines += [
        "",
        f"false alerts: {result['false_alerts']} = {result['false_per_district_week']:.2f} per district per week",
    ]
    return "\n".join(lines)
