"""BWDF 2024 real-data benchmark: the project's forecaster against the competition's teams.

The four evaluation weeks (or, with --weeks dev, eight other Mondays used to design the
model, never the evaluation weeks), each forecast from the data before it, called exactly
as the demand_forecast job calls `abbanoa.analytics.forecast.forecast`. Prints PI1/PI2/PI3
per week and district and their means, 90% interval coverage per district, widths,
negative lower bounds and seconds per fit, beside seasonal naive on the local clock and
the rank-1 and median teams' figures scored by the same scorer in the same run.

    .venv/bin/python bench/bench_forecast_bwdf.py [--weeks eval|dev] [--history-days 365] [--max-weeks N]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from abbanoa.analytics import forecast, forecast_pi
from abbanoa.evaluation import backtest_bwdf as bwdf

DEV_WEEKS = {
    "D1": "2022-03-07",
    "D2": "2022-04-25",
    "D3": "2022-05-30",
    "D4": "2022-06-20",
    "D5": "2022-09-12",
    "D6": "2022-11-28",
    "D7": "2022-12-12",
    "D8": "2023-02-13",
}


def run_week(data: pd.DataFrame, start: pd.Timestamp, history_days: int, **kw) -> tuple[pd.DataFrame, float]:
    history = data[(data["ts"] < start) & (data["ts"] >= start - pd.Timedelta(days=history_days))].dropna()
    t0 = time.perf_counter()
    result = forecast.forecast(history, **kw)
    return result, time.perf_counter() - t0


def steps(frame: pd.DataFrame, start: pd.Timestamp, week: str) -> pd.DataFrame:
    out = frame.assign(week=week, step=((frame["forecast_timestamp"] - start) / pd.Timedelta(hours=1)).astype(int))
    return out[(out["step"] >= 0) & (out["step"] < bwdf.HORIZON_H)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weeks", choices=["eval", "dev"], default="eval")
    parser.add_argument("--history-days", type=int, default=forecast.DEFAULT_HISTORY_DAYS)
    parser.add_argument("--candidates", default=",".join(forecast.CANDIDATES))
    parser.add_argument("--per-week", action="store_true", help="print every week x district row")
    parser.add_argument("--max-weeks", type=int, default=None, help="only the first N weeks (a quicker look)")
    args = parser.parse_args()
    weeks = bwdf.WEEKS if args.weeks == "eval" else DEV_WEEKS
    weeks = dict(list(weeks.items())[: args.max_weeks])
    data = bwdf.inflows()
    ours, naive, seconds = [], [], []
    for week, day in weeks.items():
        start = pd.Timestamp(day).tz_localize(bwdf.TZ).tz_convert("UTC")
        result, secs = run_week(data, start, args.history_days, candidates=tuple(args.candidates.split(",")))
        seconds.append(secs)
        ours.append(steps(result, start, week))
        history = data[(data["ts"] < start)].dropna()
        naive.append(steps(forecast.seasonal_naive(history), start, week))
        chosen = ", ".join(f"{k.split()[-1]}:{v}" for k, v in result.attrs.get("models", {}).items())
        print(f"{week} {day}: {secs:.1f} s for {result['series_id'].nunique()} districts ({chosen})", flush=True)
    ours, naive = pd.concat(ours), pd.concat(naive)
    if args.weeks == "eval":
        actual = bwdf.actuals(data)
    else:
        frames = []
        for week, day in weeks.items():
            start = pd.Timestamp(day).tz_localize(bwdf.TZ).tz_convert("UTC")
            part = data[(data["ts"] >= start) & (data["ts"] < start + pd.Timedelta(hours=168))]
            frames.append(
                part.assign(week=week, step=((part["ts"] - start) / pd.Timedelta(hours=1)).astype(int)).rename(
                    columns={"value": "actual"}
                )[["week", "series_id", "step", "actual"]]
            )
        actual = pd.concat(frames)
    scored = forecast_pi.score_weeks(ours, actual)
    rows = [("project forecaster", forecast_pi.summary(scored))]
    rows.append(("seasonal naive, local clock", forecast_pi.summary(forecast_pi.score_weeks(naive, actual))))
    if args.weeks == "eval":
        teams = bwdf.solutions()
        per_team = pd.DataFrame(
            [forecast_pi.summary(forecast_pi.score_weeks(g, actual)) for _, g in teams.groupby("rank")]
        )
        rows.append(("rank-1 team", forecast_pi.summary(forecast_pi.score_weeks(teams[teams["rank"] == 1], actual))))
        rows.append(("median of the 31 teams", per_team.median().to_dict()))
    ref = rows[1][1]
    print(f"\n{'method':<30}{'PI1':>7}{'PI2':>7}{'PI3':>7}   ratio to seasonal naive")
    for name, s in rows:
        ratio = " / ".join(f"{s[p] / ref[p]:.3f}" for p in forecast_pi.PIS)
        print(f"{name:<30}{s['pi1']:>7.3f}{s['pi2']:>7.3f}{s['pi3']:>7.3f}   {ratio}")
    # intervals, per district
    merged = ours.merge(actual, on=["week", "series_id", "step"]).dropna(subset=["actual"])
    merged["inside"] = (merged["actual"] >= merged["prediction_interval_lower_bound"]) & (
        merged["actual"] <= merged["prediction_interval_upper_bound"]
    )
    merged["width"] = merged["prediction_interval_upper_bound"] - merged["prediction_interval_lower_bound"]
    per = merged.groupby("series_id").agg(coverage=("inside", "mean"), width=("width", "mean"), mean=("actual", "mean"))
    per["width_pct"] = 100 * per["width"] / per["mean"]
    per = per.reindex(sorted(per.index, key=lambda s: int(s.split()[-1])))
    print("\n90% intervals per district: coverage %, mean width % of mean flow")
    print("  ".join(f"{sid}: {100 * r.coverage:.1f}% / {r.width_pct:.0f}%" for sid, r in per.iterrows()))
    spread = merged.assign(
        up=merged["prediction_interval_upper_bound"] - merged["forecast_value"],
        down=merged["forecast_value"] - merged["prediction_interval_lower_bound"],
    )
    for k in (1.1, 1.2, 1.3):
        low = np.maximum(spread["forecast_value"] - k * spread["down"], 0)
        inside = (spread["actual"] >= low) & (spread["actual"] <= spread["forecast_value"] + k * spread["up"])
        by = inside.groupby(spread["series_id"]).mean()
        print(
            f"  intervals x{k}: coverage {100 * inside.mean():.1f}%, "
            f"per district {100 * by.min():.1f}-{100 * by.max():.1f}%"
        )
    negative = int((ours["prediction_interval_lower_bound"] < 0).sum())
    print(
        f"overall coverage {100 * merged['inside'].mean():.1f}%, min {100 * per['coverage'].min():.1f}%, "
        f"max {100 * per['coverage'].max():.1f}%; negative lower bounds: {negative} of {len(ours)}"
    )
    n = ours.groupby("week")["series_id"].nunique().sum()
    print(
        f"seconds per fit (all districts of a week): {np.mean(seconds):.1f}; per district-week {sum(seconds) / n:.2f}"
    )
    if args.per_week:
        print(scored.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
