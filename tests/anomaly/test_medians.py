"""nanmedian_rows gives numpy.nanmedian's numbers exactly (the detectors' and baselines'
results must not move by a bit when it replaces it)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from abbanoa.analytics.medians import nanmedian_rows


@pytest.mark.parametrize("width", [1, 2, 4, 7, 49])
def test_row_medians_equal_numpy_nanmedian_bit_for_bit(width):
    rng = np.random.default_rng(width)
    matrix = rng.normal(3.0, 2.0, (5000, width))
    matrix[rng.random(matrix.shape) < 0.3] = np.nan  # gaps, and some rows all gaps
    matrix[:50] = np.round(matrix[:50], 1)  # ties
    matrix[50:60] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        expected = np.nanmedian(matrix, axis=1)
    found = nanmedian_rows(matrix)
    assert np.isnan(found[50:60]).all()
    np.testing.assert_array_equal(found, expected)  # NaN where NaN, equal elsewhere
    assert (found[~np.isnan(found)] == expected[~np.isnan(expected)]).all()
