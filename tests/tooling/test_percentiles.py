"""Percentiles, as the smoke test and the serving benchmark report them."""

from __future__ import annotations

import math

import pytest

from tooling.percentiles import percentile


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([5.0, 1.0, 3.0], 0.5, 3.0),
        ([float(i) for i in range(1, 101)], 0.99, 99.0),
        ([7.0], 0.99, 7.0),
        ([2.0, 1.0], 0.0, 1.0),
    ],
)
def test_percentile_is_nearest_rank(values: list[float], fraction: float, expected: float) -> None:
    assert math.isclose(percentile(values, fraction), expected)


def test_no_values_have_no_percentile() -> None:
    with pytest.raises(ValueError, match="no values"):
        percentile([], 0.5)
