"""Demand forecasts keep the local daily cycle: across gaps, clock changes and holidays."""

from __future__ import annotations

import numpy as np
import pandas as pd

from abbanoa.analytics import forecast, forecast_models
from abbanoa.analytics import forecast_pi as pi
from abbanoa.evaluation import backtest_bwdf as bwdf

TZ = "Europe/Rome"


def demand(start: str, weeks: int, holidays: set | None = None, seed: int = 3) -> pd.DataFrame:
    """A district's hourly inflow on the local clock: morning and evening peaks, quieter
    Sundays and public holidays (`holidays`: local dates demand treats like a Sunday)."""
    ts = pd.date_range(pd.Timestamp(start, tz=TZ).tz_convert("UTC"), periods=weeks * 168, freq="h")
    local = ts.tz_convert(TZ)
    hour = local.hour.to_numpy()
    daily = 20 + 12 * np.exp(-((hour - 8) ** 2) / 4) + 9 * np.exp(-((hour - 20) ** 2) / 6)
    sunday = (local.weekday == 6) | np.isin(local.date, list(holidays or ()))
    value = daily * np.where(sunday, 0.7, 1.0) + np.random.default_rng(seed).normal(0, 0.5, len(ts))
    return pd.DataFrame({"series_id": "dma:D1", "ts": ts, "value": value})


def expected(ts: pd.Series, holidays: set | None = None) -> np.ndarray:
    local = pd.DatetimeIndex(ts).tz_convert(TZ)
    hour = local.hour.to_numpy()
    daily = 20 + 12 * np.exp(-((hour - 8) ** 2) / 4) + 9 * np.exp(-((hour - 20) ** 2) / 6)
    sunday = (local.weekday == 6) | np.isin(local.date, list(holidays or ()))
    return daily * np.where(sunday, 0.7, 1.0)


def test_a_two_day_gap_is_filled_from_the_same_hour_of_week_and_the_cycle_stays_aligned():
    data = demand("2026-09-07", 6)
    gap = (data["ts"] >= data["ts"].iloc[-60]) & (data["ts"] < data["ts"].iloc[-12])  # 48 h, 12 h before the end
    history = data[~gap]

    result = forecast.forecast(history)

    assert len(result) == 168
    truth = expected(result["forecast_timestamp"])
    # the hour right after the history and the whole week follow the same-hour pattern
    assert abs(result["forecast_value"].iloc[0] - truth[0]) < 2.0
    assert np.abs(result["forecast_value"].to_numpy() - truth).mean() < 1.5
    peaks = result.assign(local=result["forecast_timestamp"].dt.tz_convert(TZ))
    peaks = peaks.loc[peaks.groupby(peaks["local"].dt.date)["forecast_value"].idxmax(), "local"].dt.hour
    assert set(peaks) <= {7, 8, 9}


def test_gap_filling_takes_the_median_of_the_same_hour_in_neighbouring_weeks():
    y = np.tile(np.arange(168, dtype=float), 5)
    y[2 * 168 + 10 : 2 * 168 + 58] = np.nan  # two days missing in the middle week

    filled = forecast_models.fill_gaps(y)

    assert not np.isnan(filled).any()
    assert np.array_equal(filled, np.tile(np.arange(168, dtype=float), 5))


def test_a_week_across_the_autumn_clock_change_keeps_the_local_peaks():
    # history to Thursday 22 Oct 2026; the forecast week crosses Sunday 25 Oct (25-hour day)
    data = demand("2026-09-11", 6)

    result = forecast.forecast(data)

    assert len(result) == 168
    assert result["forecast_timestamp"].diff().dropna().eq(pd.Timedelta(hours=1)).all()
    local = result["forecast_timestamp"].dt.tz_convert(TZ)
    assert local.iloc[0].utcoffset() != local.iloc[-1].utcoffset()  # the change is inside the week
    truth = expected(result["forecast_timestamp"])
    assert np.abs(result["forecast_value"].to_numpy() - truth).mean() < 1.5
    peaks = result.loc[result.groupby(local.dt.date)["forecast_value"].idxmax()]
    assert set(peaks["forecast_timestamp"].dt.tz_convert(TZ).dt.hour) <= {7, 8, 9}
    assert (result["prediction_interval_lower_bound"] >= 0).all()


def test_seasonal_naive_takes_the_same_local_hour_a_week_before_across_the_spring_change():
    data = demand("2026-03-02", 3)  # history ends Sunday 22 March; the next week has 29 March's change

    naive = forecast.seasonal_naive(data)

    local = naive["forecast_timestamp"].dt.tz_convert(TZ)
    after = naive[(local >= pd.Timestamp("2026-03-29 03:00", tz=TZ)) & (local < pd.Timestamp("2026-03-30", tz=TZ))]
    assert len(after) == 21
    source = data.set_index(data["ts"].dt.tz_convert(TZ).dt.tz_localize(None))["value"]
    wanted = source.reindex(after["forecast_timestamp"].dt.tz_convert(TZ).dt.tz_localize(None) - pd.Timedelta(days=7))
    assert np.allclose(after["forecast_value"].to_numpy(), wanted.to_numpy())


def test_an_italian_public_holiday_is_forecast_like_a_sunday():
    # Tuesday 8 December 2026 (Immacolata Concezione) is in the forecast week
    holiday = pd.Timestamp("2026-12-08").date()
    data = demand("2026-10-26", 6, holidays={holiday})

    result = forecast.forecast(data)

    local = result["forecast_timestamp"].dt.tz_convert(TZ)
    day_mean = result.groupby(local.dt.date)["forecast_value"].mean()
    assert day_mean[holiday] < 0.8 * day_mean[pd.Timestamp("2026-12-07").date()]
    truth = expected(result["forecast_timestamp"], {holiday})
    assert np.abs(result["forecast_value"].to_numpy() - truth)[local.dt.date == holiday].mean() < 1.5


def test_the_scorer_reproduces_the_bwdf_winners_figures_from_the_vendored_file():
    teams = bwdf.solutions(ranks=[1])
    actual = bwdf.actuals(bwdf.inflows())

    figures = pi.summary(pi.score_weeks(teams, actual))

    assert round(figures["pi1"], 3) == 0.985
    assert round(figures["pi2"], 3) == 3.303
    assert round(figures["pi3"], 3) == 1.128


def test_the_bwdf_indicators_follow_the_protocol_on_a_hand_made_week():
    actual = np.full(168, 10.0)
    actual[5] = np.nan  # a missing hour is left out
    guess = np.full(168, 10.0)
    guess[:24] = 12.0
    guess[3] = 16.0
    guess[5] = 100.0
    guess[24:] = 9.0

    assert pi.week_pis(guess, actual) == (
        (22 * 2.0 + 6.0) / 23,
        6.0,
        1.0,
    )


def test_seasonal_naive_on_the_local_clock_reproduces_the_bwdf_readme_figures():
    data = bwdf.inflows()
    frames = []
    for week in bwdf.WEEKS:
        start = bwdf.week_start(week)
        naive = forecast.seasonal_naive(data[data["ts"] < start].dropna())
        steps = ((naive["forecast_timestamp"] - start) / pd.Timedelta(hours=1)).astype(int)
        frames.append(naive.assign(week=week, step=steps))

    figures = pi.summary(pi.score_weeks(pd.concat(frames), bwdf.actuals(data)))

    assert (round(figures["pi1"], 3), round(figures["pi2"], 3), round(figures["pi3"], 3)) == (1.309, 4.195, 1.404)
