"""The BWDF 2024 real-data benchmark's data: the vendored inflows and the teams' solutions.

bench/data/bwdf/ holds the competition's hourly net inflow of 10 Italian districts and the
31 ranked teams' forecasts (CC BY 4.0, attribution in its README). Their date-times are the
Italian wall clock; here they become UTC hours (the repeated autumn hour: first CEST, then
CET), the shape `abbanoa.analytics.forecast.forecast` takes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parents[2] / "bench" / "data" / "bwdf"
TZ = "Europe/Rome"
# the four evaluation weeks, each starting Monday 00:00 local time (README's protocol)
WEEKS = {"W1": "2022-07-25", "W2": "2022-10-31", "W3": "2023-01-16", "W4": "2023-03-06"}
HORIZON_H = 168


def _to_utc(local_text: pd.Series) -> pd.DatetimeIndex:
    local = pd.to_datetime(local_text, format="%d/%m/%Y %H:%M")
    # the autumn hour appears twice in file order: the first is still summer time
    first = ~local.duplicated(keep="first").to_numpy()
    return pd.DatetimeIndex(local).tz_localize(TZ, ambiguous=first, nonexistent="NaT").tz_convert("UTC")


def _long(frame: pd.DataFrame, ts: pd.DatetimeIndex, keys: list[str]) -> pd.DataFrame:
    dmas = [c for c in frame.columns if c.startswith("DMA ")]
    wide = frame[keys + dmas].assign(ts=ts)
    out = wide.melt(id_vars=keys + ["ts"], value_vars=dmas, var_name="series_id", value_name="value")
    out["series_id"] = out["series_id"].str.replace(r"\s*\(L/s\)", "", regex=True)
    return out


def inflows(directory: Path = DATA) -> pd.DataFrame:
    """series_id ('DMA 1'..'DMA 10'), ts (UTC hour), value (L/s; NaN where the meter has none)."""
    raw = pd.read_csv(directory / "inflow.csv.gz")
    ts = _to_utc(raw.iloc[:, 0])
    out = _long(raw, ts, [])
    return out.dropna(subset=["ts"]).reset_index(drop=True)


def solutions(directory: Path = DATA, ranks: list[int] | None = None) -> pd.DataFrame:
    """rank, week, series_id, step (0..167), forecast_value: the teams' submitted forecasts."""
    raw = pd.read_csv(directory / "solutions.csv.gz")
    if ranks is not None:
        raw = raw[raw["rank"].isin(ranks)]
    raw = raw.rename(columns={"Evaluation week": "week"})
    ts = pd.DatetimeIndex(pd.to_datetime(raw.iloc[:, 2], format="%d/%m/%Y %H:%M")).tz_localize(TZ).tz_convert("UTC")
    out = _long(raw, ts, ["rank", "week"]).rename(columns={"value": "forecast_value"})
    # a few teams left hours blank or '-': no forecast there, scored as missing
    out["forecast_value"] = pd.to_numeric(out["forecast_value"], errors="coerce")
    return out.assign(step=_steps(out)).drop(columns="ts")


def week_start(week: str) -> pd.Timestamp:
    """The week's first hour, UTC."""
    return pd.Timestamp(WEEKS[week]).tz_localize(TZ).tz_convert("UTC")


def _steps(frame: pd.DataFrame) -> np.ndarray:
    starts = frame["week"].map(week_start)
    return ((frame["ts"] - starts) / pd.Timedelta(hours=1)).astype(int).to_numpy()


def actuals(data: pd.DataFrame) -> pd.DataFrame:
    """week, series_id, step, actual: the evaluation weeks' measured inflow."""
    frames = []
    for week in WEEKS:
        start = week_start(week)
        part = data[(data["ts"] >= start) & (data["ts"] < start + pd.Timedelta(hours=HORIZON_H))]
        frames.append(
            pd.DataFrame(
                {
                    "week": week,
                    "series_id": part["series_id"],
                    "step": ((part["ts"] - start) / pd.Timedelta(hours=1)).astype(int),
                    "actual": part["value"],
                }
            )
        )
    return pd.concat(frames, ignore_index=True)
