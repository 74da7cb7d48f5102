"""Row medians of small matrices with gaps (NaN), as the detectors and baselines take them
over a few lags: the same numbers as numpy.nanmedian(matrix, axis=1), which for fewer than
600 columns goes through masked arrays (a Python-level sort of every row's mask: most of
the daily baseline step's time at 1,000 nodes). Here one sort of the matrix, NaNs last,
then the two middle values of each row's observed ones."""

from __future__ import annotations

import numpy as np


def nanmedian_rows(matrix: np.ndarray) -> np.ndarray:
    """Median of each row's non-NaN values; NaN for a row with none (no warning)."""
    matrix = np.asarray(matrix, dtype=float)
    if matrix.ndim != 2:
        raise ValueError("a 2-D matrix, one median per row")
    if matrix.shape[1] == 0:
        return np.full(matrix.shape[0], np.nan)
    ordered = np.sort(matrix, axis=1)  # NaNs sort last
    count = np.count_nonzero(~np.isnan(matrix), axis=1)
    high = count // 2
    low = np.where(count % 2 == 1, high, high - 1).clip(min=0)
    rows = np.arange(matrix.shape[0])
    # numpy's own rule: the mean of the two middle values, (low + high) / 2 (one value twice when odd)
    median = (ordered[rows, low] + ordered[rows, high.clip(max=matrix.shape[1] - 1)]) / 2.0
    return np.where(count > 0, median, np.nan)
