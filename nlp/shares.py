"""Class shares as estimates with a 90% interval, from calibrated probabilities.

The share of a class is the mean of its calibrated probability over the items, not the share
of argmax labels (which overstates the majority class whenever the model is unsure).

The interval: item i's true class is k with probability p_ik, so the count of class k varies by
Σ p_ik(1 − p_ik) given the items, and the items themselves are a sample, whose mean varies by
Σ (p_ik − μ_k)² / n. The two add up to n·μ_k(1 − μ_k), the binomial variance of a share μ_k
over n items; the interval is the Wilson score interval for it (it stays inside 0..1 and is
sensible for small n and shares near 0). It covers sampling and the model's per-item
uncertainty, not a model that is miscalibrated on the text at hand.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from nlp.sentiment import LABELS, Label, Probs

Z_90 = 1.6448536269514722  # two-sided 90%: the standard normal's 95th percentile


@dataclass(frozen=True)
class Share:
    label: Label
    estimate: float  # mean calibrated probability of the class
    low: float  # 90% interval
    high: float


@dataclass(frozen=True)
class Shares:
    n: int
    positive: Share
    neutral: Share
    negative: Share

    def __iter__(self) -> Iterator[Share]:
        return iter((self.positive, self.neutral, self.negative))

    def get(self, label: Label) -> Share:
        return {"positive": self.positive, "neutral": self.neutral, "negative": self.negative}[
            label
        ]


def wilson(share: float, n: int, z: float = Z_90) -> tuple[float, float]:
    """The Wilson score interval of a share over n items."""
    if n <= 0:
        return 0.0, 1.0
    share = min(max(share, 0.0), 1.0)
    denominator = 1 + z * z / n
    centre = (share + z * z / (2 * n)) / denominator
    half = z * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def shares_from_sums(n: int, sums: tuple[float, float, float], z: float = Z_90) -> Shares | None:
    """Shares from the number of items and the sums of their P(positive), P(neutral),
    P(negative) (what a database can add up); None without items."""
    if n <= 0:
        return None
    parts = []
    for label, total in zip(LABELS, sums, strict=True):
        estimate = total / n
        low, high = wilson(estimate, n, z)
        parts.append(Share(label, estimate, low, high))
    return Shares(n, parts[0], parts[1], parts[2])


def estimate_shares(probs: Iterable[Probs], z: float = Z_90) -> Shares | None:
    """Shares of positive, neutral and negative among the items (calibrated probabilities);
    None without items."""
    n = 0
    sums = [0.0, 0.0, 0.0]
    for p in probs:
        n += 1
        sums[0] += p.positive
        sums[1] += p.neutral
        sums[2] += p.negative
    return shares_from_sums(n, (sums[0], sums[1], sums[2]), z)


def format_share(name: str, share: Share) -> str:
    """'正面 61%（58–64%）': the estimate and its 90% interval, in whole percent."""
    return f"{name} {share.estimate:.0%}（{share.low:.0%}–{share.high:.0%}）"
