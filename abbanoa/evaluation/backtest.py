"""`python -m abbanoa backtest DIR`: score the demand forecast on a simulated scenario.

Trains on all but the last week of each district's net inflow (from the scenario's
truth.csv: what the district meters measure, consumption + leaks), forecasts that week
and reports MAE, MAPE and 90% interval coverage per district, beside a seasonal-naive
baseline (the same local wall-clock hour one week earlier, so that it stays aligned
across a clock change) measured in the same run. The real-data benchmark (BWDF 2024) is
bench/bench_forecast_bwdf.py; its data loader is backtest_bwdf.py here.
"""

from __future__ import annotations

from pathlib import Path

from abbanoa.errors import AbbanoaError
from abbanoa.settings import Settings

HELP = "score the demand forecast on a simulated scenario against seasonal naive on the local clock"


def add_arguments(parser) -> None:
    parser.add_argument("directory", type=Path, help="scenario directory written by `simulate` (needs truth.csv)")


def backtest(directory: Path):
    import pandas as pd

    from abbanoa.analytics import forecast

    truth_file = directory / "truth.csv"
    if not truth_file.is_file():
        raise AbbanoaError(f"{truth_file} not found: give a directory written by `python -m abbanoa simulate`")
    truth = pd.read_csv(truth_file)
    truth["ts"] = pd.to_datetime(truth["ts"], utc=True)
    # net inflow l/s over each hour = m3 in the hour / 3.6
    series = pd.DataFrame({"series_id": "dma:" + truth["dma_id"], "ts": truth["ts"], "value": truth["inflow_m3"] / 3.6})
    cutoff = series["ts"].max() + pd.Timedelta(hours=1) - pd.Timedelta(weeks=1)
    train, test = series[series["ts"] < cutoff], series[series["ts"] >= cutoff]
    if train.groupby("series_id").size().min() < forecast.MIN_HISTORY_H:
        raise AbbanoaError("the scenario is too short: the backtest needs at least 4 weeks (3 to train, 1 to test)")
    model = forecast.score(forecast.forecast(train), test)
    baseline = forecast.score(forecast.seasonal_naive(train), test)
    return model.merge(baseline, on="series_id", suffixes=("", "_naive"))


def run(args, settings: Settings) -> int:
    table = backtest(args.directory)
    print(f"{'district':<14}{'MAE l/s':>9}{'MAPE %':>8}{'cover 90%':>11}  |{'naive MAE':>10}{'naive MAPE':>11}  better")
    worse = 0
    for r in table.itertuples(index=False):
        better = r.mae < r.mae_naive
        worse += not better
        print(
            f"{r.series_id:<14}{r.mae:>9.2f}{r.mape:>8.1f}{100 * r.coverage:>10.0f}%  |{r.mae_naive:>10.2f}"
            f"{r.mape_naive:>11.1f}  {'yes' if better else 'NO'}"
        )
    return 1 if worse else 0
