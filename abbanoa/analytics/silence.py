"""A district gone quiet: when most of its series fall silent at once, its outstation or the
feed is down, not each sensor; detection and data quality then raise one district-level
alert instead of one per sensor."""

from __future__ import annotations

import pandas as pd

SHARE = 0.8  # of a district's series silent at once
MIN_SERIES = 3


def districts_down(silent: pd.DataFrame, known: pd.DataFrame, district_of: pd.Series) -> set[str]:
    """Districts where at least SHARE (and MIN_SERIES) of the known (node_id, metric) series
    are among the silent ones; `district_of` maps node_id to district_id."""
    known = known[["node_id", "metric"]].drop_duplicates()
    silent = silent[["node_id", "metric"]].drop_duplicates()
    total = known.assign(d=known["node_id"].map(district_of)).dropna(subset=["d"]).groupby("d").size()
    quiet = silent.assign(d=silent["node_id"].map(district_of)).dropna(subset=["d"]).groupby("d").size()
    counts = pd.DataFrame({"total": total, "quiet": quiet}).fillna(0)
    down = counts[(counts["quiet"] >= MIN_SERIES) & (counts["quiet"] >= SHARE * counts["total"])]
    return set(down.index)
