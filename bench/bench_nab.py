"""The Numenta Anomaly Benchmark (numenta/NAB) through the 15-minute job's detectors.

    .venv/bin/python bench/bench_nab.py --nab DIR [--limit N]

DIR is a checkout of numenta/NAB (its data/, labels/ and run.py; MIT licence). Each of its
58 labelled streams is fed to the detection job's decide step as the one flow meter of a
district (so the district tests, burst and rising night flow, see it too), all at once
(every detector looks backwards only, except the spike test's two readings ahead). Each
anomaly episode marks one row of the stream: the first reading at or after the 15-minute
tick that would have raised it (an hourly baseline flag only once its hour is over), with
NAB anomaly score = 1 - 1/(1 + |peak score| / threshold). Rows are written as NAB results
(`results/abbanoa/<category>/abbanoa_<file>.csv`) and scored by NAB's own `run.py
--optimize --score --normalize` (the threshold optimised per profile, as for every detector
in NAB's table). Printed beside NAB's published Numenta HTM and random scores (the
reference, from the same checkout's results/final_results.json).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

NAME = "abbanoa"
HOURLY = ("baseline_deviation", "rising_night_flow")


def stream_scores(frame, config):
    """NAB anomaly scores (0..1) per row of one stream (timestamp, value)."""
    import numpy as np
    import pandas as pd

    from abbanoa.analytics.detection import decide

    ts = pd.to_datetime(frame["timestamp"]).dt.tz_localize("UTC")
    readings = pd.DataFrame({"node_id": "M1", "metric": "flow_rate", "ts": ts, "value": frame["value"].astype(float)})
    data = {
        "readings": readings,
        "history": None,
        "latest": None,
        "intervals": None,
        "nodes": pd.DataFrame({"node_id": ["M1"], "tenant_id": ["t"], "district_id": ["D1"]}),
        "districts": pd.DataFrame({"district_id": ["D1"], "tenant_id": ["t"]}),
        "meters": pd.DataFrame({"district_id": ["D1"], "node_id": ["M1"], "direction": [1]}),
        "thresholds": pd.DataFrame(columns=["node_id", "metric", "low", "high", "sensitivity"]),
    }
    episodes = decide(data, config, now=ts.iloc[-1].to_pydatetime() + pd.Timedelta(minutes=1), since=None)
    scores = np.zeros(len(frame))
    if episodes.empty:
        return scores, {}
    raised = pd.to_datetime(episodes["start_ts"], utc=True)
    raised = raised + pd.to_timedelta(episodes["anomaly_type"].isin(HOURLY).astype(int), unit="h")
    raised = raised.dt.ceil("15min")
    ratio = (episodes["score"].abs() / episodes["threshold"].abs().clip(lower=1e-9)).to_numpy()
    rows = np.searchsorted(ts.to_numpy(), raised.to_numpy())
    for row, r in zip(rows, ratio, strict=True):
        if row < len(scores):
            scores[row] = max(scores[row], 1 - 1 / (1 + r))
    return scores, episodes["anomaly_type"].value_counts().to_dict()


def main() -> int:
    import pandas as pd

    from abbanoa.analytics.config import DetectorConfig

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nab", type=Path, default=None, help="a checkout of numenta/NAB")
    parser.add_argument("--limit", type=int, default=None, help="only the first N streams (a quick look; not scored)")
    args = parser.parse_args()
    if args.nab is None or not (args.nab / "run.py").is_file():
        # `make bench` runs every bench_*.py; this one needs the corpus, which is not vendored
        print("bench_nab: not run, no NAB checkout given (git clone numenta/NAB, then --nab DIR)")
        return 0
    nab = args.nab.resolve()
    windows = json.loads((nab / "labels" / "combined_windows.json").read_text())
    config = DetectorConfig()
    began = time.perf_counter()
    kinds: dict[str, int] = {}
    files = sorted(windows)[: args.limit] if args.limit else sorted(windows)
    for relative in files:
        frame = pd.read_csv(nab / "data" / relative)
        scores, found = stream_scores(frame, config)
        for k, v in found.items():
            kinds[k] = kinds.get(k, 0) + v
        stamps = pd.to_datetime(frame["timestamp"])
        label = pd.Series(0, index=frame.index)
        for lo, hi in windows[relative]:
            label[(stamps >= pd.Timestamp(lo)) & (stamps <= pd.Timestamp(hi))] = 1
        category, name = relative.split("/")
        out = nab / "results" / NAME / category / f"{NAME}_{name}"
        out.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(
            {"timestamp": frame["timestamp"], "value": frame["value"], "anomaly_score": scores, "label": label}
        ).to_csv(out, index=False)
    detect_s = time.perf_counter() - began
    print(f"{len(files)} streams through the detectors in {detect_s:.0f} s; episodes by type: {kinds}")
    if args.limit:
        return 0
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "run.py", "-d", NAME, "--optimize", "--score", "--normalize", "--skipConfirmation"],
        cwd=nab,
        check=True,
        capture_output=True,
        text=True,
    )
    final = json.loads((nab / "results" / "final_results.json").read_text())
    print(f"NAB scoring (run.py --optimize --score --normalize) {time.perf_counter() - began:.0f} s")
    print(f"{'detector':<12}{'standard':>10}{'low FP':>10}{'low FN':>10}")
    for detector in (NAME, "numenta", "random", "null"):
        if detector in final:
            s = final[detector]
            print(
                f"{detector:<12}{s['standard']:>10.1f}{s['reward_low_FP_rate']:>10.1f}{s['reward_low_FN_rate']:>10.1f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
