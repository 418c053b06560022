"""Trend statistics for the alert rules: robust baselines, growth, bursts, Wilson bounds.

Pure maths on plain numbers; the rules decide what a trend means for the team.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

MAD_TO_SIGMA = 1.4826  # makes the MAD comparable to a standard deviation for normal data


def median_mad(values: Sequence[float]) -> tuple[float, float]:
    """Median and median absolute deviation; (0, 0) for no values."""
    if not values:
        return 0.0, 0.0
    median = statistics.median(values)
    return median, statistics.median(abs(v - median) for v in values)


def robust_z(value: float, history: Sequence[float], min_scale: float = 1.0) -> float:
    """How unusual `value` is against `history`, in robust standard deviations.

    `min_scale` keeps a flat history (MAD 0) from turning every small change into infinity.
    """
    median, mad = median_mad(history)
    return (value - median) / max(MAD_TO_SIGMA * mad, min_scale)


def ewma(values: Sequence[float], alpha: float = 0.3) -> float:
    """Exponentially weighted moving average, newest value last."""
    if not 0 < alpha <= 1:
        raise ValueError("alpha must be in (0, 1]")
    if not values:
        return 0.0
    average = float(values[0])
    for value in values[1:]:
        average = alpha * value + (1 - alpha) * average
    return average


def growth_ratio(current: float, baseline: float, floor: float = 1.0) -> float:
    """current / baseline, with the baseline floored so a quiet start is not a division by 0."""
    return current / max(baseline, floor)


def wilson_interval(successes: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a proportion: honest bounds for small samples."""
    if total <= 0:
        return 0.0, 1.0
    if not 0 <= successes <= total:
        raise ValueError("successes must be between 0 and total")
    p = successes / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    margin = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    low = 0.0 if successes == 0 else max(0.0, centre - margin)
    high = 1.0 if successes == total else min(1.0, centre + margin)
    return low, high


@dataclass(frozen=True)
class Point:
    at: datetime
    value: int


def rate_per_hour(points: Sequence[Point]) -> list[float]:
    """Growth per hour between consecutive readings of a cumulative counter.

    A counter that goes down (a deleted like, a platform correction) counts as no growth.
    """
    rates = []
    ordered = sorted(points, key=lambda p: p.at)
    for before, after in itertools.pairwise(ordered):
        hours = (after.at - before.at).total_seconds() / 3600
        if hours > 0:
            rates.append(max(after.value - before.value, 0) / hours)
    return rates


@dataclass(frozen=True)
class Burst:
    rate: float
    baseline: float
    ratio: float
    z: float


def detect_burst(
    rates: Sequence[float], *, min_ratio: float = 3.0, min_z: float = 3.0, min_rate: float = 0.0
) -> Burst | None:
    """Is the newest rate a burst against the ones before it? None when it is not."""
    if len(rates) < 2:
        return None
    current, history = rates[-1], rates[:-1]
    baseline, _ = median_mad(history)
    ratio = growth_ratio(current, baseline)
    z = robust_z(current, history)
    if current >= min_rate and ratio >= min_ratio and z >= min_z:
        return Burst(current, baseline, ratio, z)
    return None
