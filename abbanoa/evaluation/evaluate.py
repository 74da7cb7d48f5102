"""`python -m abbanoa evaluate DIR`: import a scenario, sync it into PostgreSQL, replay the
scheduled jobs as production fires them and score the alerts against its labels.

Replay (the default): every tick of the anomaly detection and data quality crons
(schedule.yaml, Europe/Rome) from the data's start (or `--from`) to its end runs the job
through the runner with that tick as its clock (`run-job NAME --as-of TS` semantics), in
time order; an alert's detection time is the tick that raised it. `--batch` runs the
detectors once over the whole span instead (faster; times to detect are then the
anomalies' start times, which a live run could only have known later).

Any labels file in the documented format is scored (docs/simulator.md, "Labels").
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

from abbanoa.errors import AbbanoaError

HELP = "replay the scheduled jobs over a scenario and score their alerts against its labels"
REPLAYED_JOBS = ("data_quality", "anomaly_detection")  # in this order when they share a tick


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", type=Path, help="scenario directory: readings, nodes, meters CSV files")
    parser.add_argument(
        "--labels", type=Path, default=None, help="labels file (default: DIR/labels.json, else DIR/labels.csv)"
    )
    parser.add_argument("--tenant", default=None, help="tenant to import into (default: DEFAULT_TENANT)")
    parser.add_argument(
        "--skip-import", action="store_true", help="the scenario is already imported and synced: only detect and score"
    )
    parser.add_argument("--min-severity", default="medium", choices=("low", "medium", "high", "critical"))
    parser.add_argument(
        "--batch", action="store_true", help="run the detectors once over the whole span instead of replaying ticks"
    )
    parser.add_argument(
        "--from",
        dest="from_ts",
        default=None,
        metavar="TS",
        help="replay from this instant (ISO 8601 with offset; default: the data's start)",
    )


def run(args: argparse.Namespace, settings) -> int:
    import pandas as pd
    import sqlalchemy as sa

    from abbanoa import migrations
    from abbanoa.evaluation.evaluate_labels import find_labels, load_labels, scenario_span
    from abbanoa.stores import postgres

    labels_path = find_labels(args.directory, args.labels)
    scenario, events = load_labels(labels_path)
    if not args.skip_import:
        from abbanoa.ingest.importer import import_paths
        from abbanoa.jobs.runner import run_job

        migrations.ensure_database(settings)
        migrations.apply_all(settings)
        summary_ = import_paths([args.directory], settings, args.tenant or settings.default_tenant)
        for line in summary_.lines():
            print(line)
        run_job("etl_init", settings, trigger="cli")
    postgres.check(settings)
    try:
        with postgres.engine(settings).connect() as conn:
            first, last, sensors, districts = conn.execute(
                sa.text(
                    "SELECT (SELECT min(ts) FROM readings), (SELECT max(ts) FROM readings),"
                    " (SELECT count(*) FROM nodes WHERE active), (SELECT count(*) FROM districts)"
                )
            ).one()
    except sa.exc.ProgrammingError as exc:  # no schema: --skip-import on a database never loaded
        raise AbbanoaError(
            f"the database at {postgres.describe(settings)} holds no imported scenario: run without --skip-import"
        ) from exc
    start, end = scenario_span(scenario, events)
    if first is None:
        raise AbbanoaError("no readings in PostgreSQL for the scenario's time range: import and sync first")
    start = start or pd.Timestamp(first)
    end = end or pd.Timestamp(last) + pd.Timedelta(minutes=5)
    if args.batch:
        alerts, readings = batch_alerts(settings, start, end)
    else:
        from abbanoa.jobs.cli import parse_instant

        replay_from = pd.Timestamp(parse_instant(args.from_ts, "--from")) if args.from_ts else start
        began = time.perf_counter()
        alerts, ticks = replay_alerts(settings, replay_from.to_pydatetime(), end.to_pydatetime())
        print(f"replayed {ticks} ticks in {time.perf_counter() - began:.0f} s")
        readings = None
    report = score(alerts, events, args.min_severity, start, end, max(districts, 1), max(sensors, 1))
    print(render(report, readings))
    return 0


def replay_alerts(settings, start: dt.datetime, end: dt.datetime):
    """Run the replayed jobs at each of their ticks in (start, end]; the alerts they raised,
    each with the tick that raised it (`raised_at`)."""
    import pandas as pd
    import sqlalchemy as sa

    from abbanoa.jobs import schedule
    from abbanoa.jobs.cli import ticks
    from abbanoa.jobs.runner import run_job
    from abbanoa.stores import postgres

    time_zone, jobs = schedule.manifest()
    moments = sorted(
        (moment, REPLAYED_JOBS.index(name), name)
        for name in REPLAYED_JOBS
        for moment in ticks(jobs[name].cron, time_zone, start - dt.timedelta(seconds=1), end)
    )
    eng = postgres.engine(settings)
    raised: dict[int, dt.datetime] = {}
    with eng.connect() as conn:
        seen = conn.execute(sa.text("SELECT coalesce(max(alert_id), 0) FROM alerts")).scalar()
    for moment, _, name in moments:
        record = run_job(name, settings, trigger="replay", now=moment)
        if record.status != "succeeded":
            raise AbbanoaError(f"replay: {name} at {moment.isoformat()} was {record.status}: {record.error}")
        with eng.connect() as conn:
            new = conn.execute(sa.text("SELECT alert_id FROM alerts WHERE alert_id > :s"), {"s": seen}).scalars().all()
        for alert_id in new:
            raised[alert_id] = moment
        seen = max([seen, *new])
    frame = stored_alerts(eng)
    frame["raised_at"] = pd.to_datetime(frame["alert_id"].map(raised), utc=True)
    return frame[frame["raised_at"].notna()].reset_index(drop=True), len(moments)


def stored_alerts(eng):
    """Every alert with what it is about: anomaly alerts with their anomaly's node, district,
    metric and span; data-quality alerts with their node (or district) and local day."""
    import pandas as pd
    import sqlalchemy as sa

    with eng.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT a.alert_id, a.source, a.source_id, a.alert_type, a.severity, a.payload,"
                " an.node_id, an.district_id, an.metric, an.start_ts, an.end_ts"
                " FROM alerts a LEFT JOIN anomalies an ON a.source = 'anomaly' AND an.anomaly_id = a.source_id"
                " ORDER BY a.alert_id"
            )
        ).all()
    out = []
    for row in rows:
        payload = row.payload or {}
        if row.source == "anomaly":
            item = {
                "node_id": row.node_id,
                "district_id": row.district_id,
                "metric": row.metric,
                "start_ts": row.start_ts,
                "end_ts": row.end_ts,
            }
        else:
            item = {
                "node_id": payload.get("node_id"),
                "district_id": payload.get("district_id"),
                "metric": payload.get("metric"),
                "start_ts": None,
                "end_ts": None,
                "day": payload.get("day"),
                "staleness_s": payload.get("staleness_s"),
            }
        out.append(
            {
                "alert_id": row.alert_id,
                "source": row.source,
                "source_id": row.source_id,
                "anomaly_type": row.alert_type,
                "severity": row.severity,
                **item,
            }
        )
    frame = pd.DataFrame(
        out,
        columns=[
            "alert_id",
            "source",
            "source_id",
            "anomaly_type",
            "severity",
            "node_id",
            "district_id",
            "metric",
            "start_ts",
            "end_ts",
            "day",
            "staleness_s",
        ],
    )
    for col in ("start_ts", "end_ts"):
        frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


def batch_alerts(settings, start, end):
    """The detectors once over the whole span (as the job's decide step), as alert rows."""
    import sqlalchemy as sa

    from abbanoa.analytics.config import DetectorConfig
    from abbanoa.analytics.detection import decide
    from abbanoa.jobs.anomaly_detection import gather
    from abbanoa.stores import postgres

    config = DetectorConfig.from_settings(settings)
    try:
        with postgres.engine(settings).connect() as conn:
            data = gather(conn, start.to_pydatetime(), end.to_pydatetime())
    except sa.exc.ProgrammingError as exc:
        raise AbbanoaError(f"the database at {postgres.describe(settings)} holds no imported scenario") from exc
    if data["readings"].empty:
        raise AbbanoaError("no readings in PostgreSQL for the scenario's time range: import and sync first")
    episodes = decide(data, config, now=end.to_pydatetime(), since=None)
    alerts = episodes.assign(source="anomaly", raised_at=episodes["start_ts"])
    return alerts, len(data["readings"])


def score(alerts, events, min_severity: str, start, end, districts: int, sensors: int) -> dict:
    """Per-event and per-type figures (scoring.match / summary) for alerts at or above
    `min_severity`, one alert per anomaly (its first), and the false alerts by type."""
    from abbanoa.analytics.episodes import SEVERITIES
    from abbanoa.analytics.scoring import match, summary

    floor = SEVERITIES.index(min_severity)
    alerts = alerts[alerts["severity"].map(SEVERITIES.index) >= floor]
    if "alert_id" in alerts:
        first = alerts.sort_values("alert_id")
        keyed = first["source"].eq("anomaly") & first["source_id"].notna()
        alerts = first[~keyed | ~first.duplicated(["source", "source_id"])]
    alerts = dq_spans(alerts)
    matched_events, matched = match(alerts, events)
    weeks = (end - start) / dt.timedelta(days=7)
    result = summary(matched_events, matched, districts=districts, weeks=weeks, sensors=sensors)
    return {"events": matched_events, "result": result, "days": weeks * 7}


def dq_spans(alerts):
    """A data-quality alert's span: a stale sensor from its newest reading to the tick; a gap,
    stuck or broken sensor the local day it names (Europe/Rome)."""
    import pandas as pd

    alerts = alerts.copy()
    dq = alerts["source"].eq("data_quality") if "source" in alerts else pd.Series(False, index=alerts.index)
    if not dq.any():
        return alerts
    day = pd.to_datetime(alerts.loc[dq, "day"]).dt.tz_localize("Europe/Rome", nonexistent="shift_forward")
    stale = dq & alerts["anomaly_type"].isin(("stale_sensor", "stale_district"))
    alerts.loc[dq, "start_ts"] = day.dt.tz_convert("UTC")
    alerts.loc[dq, "end_ts"] = (day + pd.Timedelta(days=1)).dt.tz_convert("UTC")
    since = alerts.loc[stale, "raised_at"] - pd.to_timedelta(alerts.loc[stale, "staleness_s"].astype(float), unit="s")
    alerts.loc[stale, "start_ts"] = since
    alerts.loc[stale, "end_ts"] = alerts.loc[stale, "raised_at"]
    alerts["span_match"] = dq
    return alerts


def render(report: dict, readings: int | None) -> str:
    events, result, days = report["events"], report["result"], report["days"]
    head = f"{readings} readings over {days:.1f} days" if readings is not None else f"{days:.1f} days replayed"
    lines = [f"{head}; {result['alerts']} alerts", ""]
    lines.append(f"{'event':<38} {'type':<18} {'node':<11} {'detected':<9} {'after (h)':>9}  by")
    for ev in events.sort_values("start").itertuples():
        after = f"{ev.ttd_h:9.2f}" if ev.detected else f"{'-':>9}"
        where = ev.node_id or ev.dma_id or ""
        lines.append(
            f"{ev.id:<38} {ev.type:<18} {where:<11} "
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
        f"false alerts: {result['false_alerts']} = {result['false_per_district_week']:.2f} per district per week"
        f" = {result['false_per_100_sensor_weeks']:.2f} per 100 sensor-weeks",
    ]
    for kind, n in result["false_by_type"].items():
        lines.append(
            f"  {kind:<22} {n:>5} = {result['false_by_type_per_district_week'][kind]:.2f} per district-week"
            f" = {result['false_by_type_per_100_sensor_weeks'][kind]:.2f} per 100 sensor-weeks"
        )
    return "\n".join(lines)
