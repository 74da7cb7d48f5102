"""`python -m abbanoa backtest DIR`: hold out the last week of a simulated scenario.

Per district: train on all but the last 168 hours of hourly net inflow (m3/h), forecast the
last week with the local model and with a seasonal-naive baseline (same hour last week),
both measured in the same run, and report MAE, MAPE and 90% interval coverage.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from abbanoa.errors import AbbanoaError

HELP = "backtest the demand forecast on a simulated scenario (last week held out) against seasonal-naive"


def add_arguments(parser) -> None:
    parser.add_argument("dir", help="scenario directory (truth.csv, or readings.csv + district_meters.csv)")
    parser.add_argument(
        "--source",
        choices=("truth", "readings"),
        default="truth",
        help="truth: truth.csv inflow_m3; readings: net inflow from the district meters' flow_rate readings",
    )


def district_series_from_truth(path: Path) -> dict[str, pd.Series]:
    df = pd.read_csv(path, usecols=["ts", "dma_id", "inflow_m3"])
    df["ts"] = pd.to_datetime(df["ts"], utc=True)
    return {d: g.set_index("ts")["inflow_m3"].sort_index() for d, g in df.groupby("dma_id")}


def district_series_from_readings(directory: Path) -> dict[str, pd.Series]:
    """Hourly net inflow (m3) per district from flow_rate readings (malformed rows dropped)."""
    from abbanoa.analytics.efficiency import hourly_volume_m3, net_inflow_l_s

    meters = pd.read_csv(directory / "district_meters.csv")
    raw = pd.read_csv(directory / "readings.csv", dtype=str, on_bad_lines="skip")
    raw = raw[raw["metric"] == "flow_rate"]
    raw["ts"] = pd.to_datetime(raw["timestamp"], utc=True, errors="coerce", format="ISO8601")
    raw["value"] = pd.to_numeric(raw["value"], errors="coerce")
    raw = raw.dropna(subset=["ts", "value"]).drop_duplicates(["node_id", "ts"])
    raw = raw[raw["value"].abs() <= 5000]  # the metric's physical range (abbanoa.metrics)
    raw["hour"] = raw["ts"].dt.floor("h")
    hourly = raw.groupby(["node_id", "hour"], as_index=False)["value"].mean().rename(columns={"hour": "ts"})
    out = {}
    for dma, g in meters.groupby("dma_id"):
        directions = dict(zip(g["node_id"], g["direction"].astype(int), strict=True))
        out[dma] = hourly_volume_m3(net_inflow_l_s(hourly, directions))
    return out


def backtest(series: dict[str, pd.Series]) -> pd.DataFrame:
    from abbanoa.analytics import forecasting as fc

    rows = []
    for dma, s in sorted(series.items()):
        s = fc._regular_hourly(s)
        if len(s) < 2 * 168 + 168:
            raise AbbanoaError(f"{dma}: backtest needs at least three weeks of hourly data, got {len(s)} hours")
        train, test = s.iloc[:-168], s.iloc[-168:]
        for name, fn in ((fc.MODEL_LOCAL, fc.forecast_local), (fc.MODEL_NAIVE, fc.forecast_seasonal_naive)):
            t0 = time.perf_counter()
            f = fn(train)
            seconds = time.perf_counter() - t0
            rows.append({"district": dma, "model": name, **fc.score(f, test), "fit_s": seconds})
    return pd.DataFrame(rows)


def format_table(df: pd.DataFrame) -> str:
    lines = [f"{'district':<12} {'model':<20} {'points':>6} {'MAE':>9} {'MAPE %':>8} {'cov90 %':>8} {'fit s':>6}"]
    for r in df.itertuples():
        lines.append(
            f"{r.district:<12} {r.model:<20} {r.points:>6} {r.mae:>9.3f} {r.mape:>8.2f} {100 * r.coverage:>8.1f} {r.fit_s:>6.2f}"
        )
    return "\n".join(lines)


def run(args, settings) -> int:
    directory = Path(args.dir)
    if not directory.is_dir():
        raise AbbanoaError(f"{directory} is not a directory")
    if args.source == "truth":
        if not (directory / "truth.csv").exists():
            raise AbbanoaError(f"{directory}/truth.csv not found (try --source readings)")
        series = district_series_from_truth(directory / "truth.csv")
    else:
        for name in ("readings.csv", "district_meters.csv"):
            if not (directory / name).exists():
                raise AbbanoaError(f"{directory}/{name} not found")
        series = district_series_from_readings(directory)
    df = backtest(series)
    print(f"hourly net inflow (m3/h), last 168 hours held out, source={args.source}")
    print(format_table(df))
    wins = []
    for dma, g in df.groupby("district"):
        m = g.set_index("model")
        better = m.loc["mstl_autoets", "mae"] < m.loc["seasonal_naive_168", "mae"]
        wins.append(better)
        ratio = m.loc["mstl_autoets", "mae"] / m.loc["seasonal_naive_168", "mae"]
        print(f"{dma}: model MAE / seasonal-naive MAE = {ratio:.3f} ({'beats' if better else 'does NOT beat'} baseline)")
    return 0 if all(wins) else 1
