from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nlp.trends import (
    Point,
    detect_burst,
    ewma,
    growth_ratio,
    median_mad,
    rate_per_hour,
    robust_z,
    wilson_interval,
)

T0 = datetime(2019, 7, 1, tzinfo=UTC)


def test_median_mad_ignores_one_outlier() -> None:
    assert median_mad([10, 11, 9, 10, 1000]) == (10, 1)
    assert median_mad([]) == (0.0, 0.0)


def test_robust_z_flat_history_uses_floor() -> None:
    assert robust_z(5, [0, 0, 0], min_scale=1.0) == 5.0


def test_ewma() -> None:
    assert ewma([10, 10, 10]) == 10
    assert ewma([0, 10], alpha=0.5) == 5
    with pytest.raises(ValueError):
        ewma([1], alpha=0)


def test_growth_ratio_floor() -> None:
    assert growth_ratio(30, 10) == 3
    assert growth_ratio(5, 0) == 5


def test_wilson_interval_known_value() -> None:
    low, high = wilson_interval(8, 10)
    assert low == pytest.approx(0.4902, abs=1e-3) and high == pytest.approx(0.9433, abs=1e-3)
    assert wilson_interval(0, 0) == (0.0, 1.0)


@given(st.integers(0, 500), st.integers(1, 500))
def test_wilson_interval_contains_the_proportion(successes: int, total: int) -> None:
    successes = min(successes, total)
    low, high = wilson_interval(successes, total)
    assert 0 <= low <= successes / total <= high <= 1


def test_rate_per_hour_from_cumulative_counts() -> None:
    points = [Point(T0 + timedelta(hours=h), v) for h, v in ((0, 100), (1, 160), (3, 150))]
    assert rate_per_hour(points) == [60.0, 0.0]


def test_burst_detection() -> None:
    assert detect_burst([10, 12, 9, 11, 80]) is not None
    assert detect_burst([10, 12, 9, 11, 14]) is None
    assert detect_burst([80]) is None
    assert detect_burst([0, 0, 0, 4], min_rate=50) is None
