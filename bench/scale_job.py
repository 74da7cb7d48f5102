"""One scheduled job in a process of its own (so bench_scale can read its CPU time and
peak RSS from the kernel): `scale_job.py NAME NOW_ISO [PARAMS_JSON]`, settings from the
environment. NAME `detection_baselines` runs only detection's daily baseline step for the
local day of NOW. Prints one JSON line: the run's status and details."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    from abbanoa.settings import get_settings

    name, now = sys.argv[1], dt.datetime.fromisoformat(sys.argv[2])
    params = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
    settings = get_settings()
    if name == "raw_window":  # the tick's raw window, read and nothing else
        import pandas as pd

        from abbanoa.jobs.anomaly_detection import RAW_LOOKBACK_H, WINDOW_H
        from abbanoa.repository import readings
        from abbanoa.stores import postgres

        since = pd.Timestamp(now - dt.timedelta(hours=WINDOW_H + RAW_LOOKBACK_H)).floor("h").to_pydatetime()
        with postgres.engine(settings).connect() as conn:
            frame = readings.raw_window(conn, since, now)
        print(json.dumps({"status": "succeeded", "details": {"readings": len(frame)}}))
        return 0
    if name == "detection_baselines":
        from abbanoa.analytics.config import DetectorConfig
        from abbanoa.jobs.anomaly_detection import refresh_baselines
        from abbanoa.stores import postgres

        config = DetectorConfig.from_settings(settings)
        day = now.astimezone(ZoneInfo(settings.timezone)).date()
        with postgres.engine(settings).begin() as conn:
            learnt = refresh_baselines(conn, config, [day])
        print(json.dumps({"status": "succeeded", "details": {"hourly_means": learnt}}))
        return 0
    from abbanoa.jobs.runner import run_job

    record = run_job(name, settings, trigger="cli", params=params, now=now)
    print(json.dumps({"status": record.status, "details": record.details}, default=str))
    return 0 if record.status == "succeeded" else 1


if __name__ == "__main__":
    raise SystemExit(main())
