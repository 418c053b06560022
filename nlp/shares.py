"""Class shares as estimates with a 90% interval, from calibrated probabilities.

The share of a class is the mean of its calibrated probability over the items, not the share
of argmax labels (which overstates the majority class whenever the model is unsure).

The interval: item i's true class is k with probability p_ik, so the count of class k varies by
Σ p_ik(1 − p_ik) given the items, and the items themselves are a sample, whose mean varies by
Σ (p_ik − μ_k)² / n. The two add up to n·μ_k(1 − μ_k), the binomial variance of a share μ_k
over n items; the interval is the Wilson score interval for it (it stays inside 0..1 and is
sensible for small n and shares near 0). It covers sampling and the model's per-item
uncertainty, not a model that is miscalibrated on the text at hand.

Prior shift: the model is calibrated on one class mix (the LCCC dev split: about two thirds
neutral); a campaign's comments have another. `prior_adjusted` re-estimates the items' own mix
by EM and adjusts each item's probabilities to it before the mean is taken. The interval is
still the Wilson interval of that estimate: it leaves out the uncertainty of the mix itself.

Domain: EM assumes the probabilities are calibrated on the items' own kind of text; a model
calibrated on LCCC chatter is not on a campaign's comments (it overshot the majority class).
A model that carries a campaign-domain calibration (`shares_*` in its metrics, fitted on a
campaign-language dev split by `nlp.training.calibrate_shares`) has its probabilities mapped
by it (`recalibrated`) and adjusted to its dev split's mix instead.

Half EM, half mean (`EM_WEIGHT`): EM is right when only the class mix differs from the dev
split's, and overshoots when the classes are also written otherwise (the demo's complaints
are mostly questions and demands, "交警都去哪了？", which the model reads as less negative
than the seed's: EM then takes even fewer comments for negative than the plain mean does).
The plain mean of the recalibrated probabilities is the other way round: robust to how the
classes are written, pulled towards the dev split's mix. Measured on the dev splits only
(`python -m benchmarks.shares`: held-out folds of one split, and the other split, resampled
to random class mixes), the mean largest gap over those four settings was 11.2 points for
half of each (0.75 EM: 11.7; EM alone: 13.6; the mean alone: 15.9; the means of four
resampling seeds), and on the seed's own held-out folds half of each was no worse than EM
(7.7 against 8.0 points).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nlp.sentiment import LABELS, Label, Probs

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

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


def estimate_shares(
    probs: Iterable[Sequence[float]], z: float = Z_90, *, prior: Sequence[float] | None = None
) -> Shares | None:
    """Shares of positive, neutral and negative among the items (calibrated probabilities:
    `Probs` or any (P(positive), P(neutral), P(negative))); None without items. With `prior`
    (the class mix of the split the model was calibrated on, `model_prior`), the
    probabilities are first adjusted to the items' own class mix (`prior_adjusted`)."""
    if prior is not None:
        n, mix = adjusted_mix(probs, prior)
        return shares_from_sums(n, (mix[0] * n, mix[1] * n, mix[2] * n), z)
    n = 0
    sums = [0.0, 0.0, 0.0]
    for p in probs:
        n += 1
        sums[0] += p[0]
        sums[1] += p[1]
        sums[2] += p[2]
    return shares_from_sums(n, (sums[0], sums[1], sums[2]), z)


def adjusted_mix(
    probs: Iterable[Sequence[float]], calibration_prior: Sequence[float], *, rounds: int = 200
) -> tuple[int, tuple[float, float, float]]:
    """How many items, and their class mix by the EM of `prior_adjusted` (the mean of the
    adjusted probabilities at its fixed point), each item's probabilities rounded to 0.001.

    One round is a few passes of numpy over the items: a day of a busy campaign (tens of
    thousands of comments, nearly all with probabilities of their own) takes milliseconds,
    where a Python loop over them took seconds. numpy is imported here, on the first call,
    not with the module: the daemon's imports stay without it until a share is asked for."""
    import numpy as np

    listed = probs if isinstance(probs, list | np.ndarray) else list(probs)
    items = np.asarray(listed, dtype=np.float64)
    prior = np.array([max(p, 1e-6) for p in calibration_prior], dtype=np.float64)
    n = len(items)
    if not n:
        return 0, (float(prior[0]), float(prior[1]), float(prior[2]))
    rounded = _rounded(items.reshape(n, 3))
    rounded = rounded[rounded.sum(axis=1) > 0.0]  # an item of zeros adds nothing to a sum
    # Columns, elementwise arithmetic and einsum, no matrix products: those go to BLAS, whose
    # threads would spin on the daemon's few cores.
    a, b, c = (np.ascontiguousarray(column) for column in rounded.T)
    mix = prior
    for _ in range(rounds):
        r0, r1, r2 = (float(v) for v in mix / prior)
        inverse = 1.0 / (a * r0 + b * r1 + c * r2)
        sums = np.array(
            [r * np.einsum("i,i", column, inverse) for r, column in ((r0, a), (r1, b), (r2, c))]
        )
        new = np.maximum(sums / n, 1e-6)
        done = float(np.abs(new - mix).max()) < 1e-7
        mix = new
        if done:
            break
    mix = mix / mix.sum()
    return n, (float(mix[0]), float(mix[1]), float(mix[2]))


def _rounded(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """`values` (a numpy array) rounded to 0.001 exactly as Python's round(v, 3) does:
    rint(v·1000)/1000 is the same double wherever v·1000 is not within a hair of .5, and
    those few go through round() itself."""
    import numpy as np

    scaled = values * 1000.0
    rounded = np.rint(scaled) / 1000.0
    near_half = np.abs(scaled - np.floor(scaled) - 0.5) < 1e-6
    if near_half.any():
        rounded[near_half] = [round(float(v), 3) for v in values[near_half]]
    return rounded


def model_prior(metrics: Mapping[str, object]) -> tuple[float, float, float] | None:
    """The class mix of the dev split a model was calibrated on (`calibration_prior_*` in its
    metrics), or None for a model without one."""
    values = [metrics.get(f"calibration_prior_{label}") for label in LABELS]
    if not all(isinstance(v, int | float) and v > 0 for v in values):
        return None
    a, b, c = (float(v) for v in values)  # type: ignore[arg-type]
    return a, b, c


def comment_shares(
    rows: Iterable[tuple[float, float, float]], metrics: Mapping[str, object] | None = None
) -> Shares | None:
    """Shares of stored comments' probabilities (P(positive), P(neutral), P(negative) each),
    adjusted to their own class mix when the model's metrics give its calibration prior; with
    the model's campaign-domain calibration, when it has one, recalibrated through it and
    half adjusted (`blended_mix` at EM_WEIGHT)."""
    domain = shares_calibration(metrics) if metrics is not None else None
    if domain is not None:
        temperature, offsets, domain_prior = domain
        n, mix = blended_mix(rows, temperature, offsets, domain_prior, EM_WEIGHT)
        return shares_from_sums(n, (mix[0] * n, mix[1] * n, mix[2] * n))
    prior = model_prior(metrics) if metrics is not None else None
    return estimate_shares(rows, prior=prior)


SHARES_CALIBRATION = "shares"  # metrics: shares_temperature, shares_offset_*, shares_prior_*
EM_WEIGHT = 0.5  # of the EM-adjusted mix in a domain-calibrated estimate; the rest: the mean


def shares_calibration(
    metrics: Mapping[str, object],
) -> tuple[float, tuple[float, float, float], tuple[float, float, float]] | None:
    """The campaign-domain calibration in a model's metrics: temperature, offsets per class
    and the class mix of the split it was fitted on; None for a model without one."""
    keys = [f"{SHARES_CALIBRATION}_temperature"]
    keys += [f"{SHARES_CALIBRATION}_offset_{label}" for label in LABELS]
    keys += [f"{SHARES_CALIBRATION}_prior_{label}" for label in LABELS]
    values = [metrics.get(key) for key in keys]
    if not all(isinstance(v, int | float) for v in values):
        return None
    t, b0, b1, b2, q0, q1, q2 = (float(v) for v in values)  # type: ignore[arg-type]
    if t <= 0 or min(q0, q1, q2) <= 0:
        return None
    return t, (b0, b1, b2), (q0, q1, q2)


def recalibrated_all(
    rows: Iterable[Sequence[float]], temperature: float, offsets: Sequence[float]
) -> NDArray[np.float64]:
    """`recalibrated` of every row, as rows of an array (a week of a busy campaign is 190,000
    comments; one at a time in Python that took over a second); the same values to the last
    ulp or two of log and exp."""
    import numpy as np

    listed = rows if isinstance(rows, list) else list(rows)
    values = np.asarray(listed, dtype=np.float64).reshape(-1, 3)
    z = np.log(np.maximum(values, 1e-9)) / temperature + np.asarray(offsets, dtype=np.float64)
    e = np.exp(z - z.max(axis=1, keepdims=True)) if len(values) else z
    return e / e.sum(axis=1, keepdims=True) if len(values) else values


def recalibrated(p: Probs, temperature: float, offsets: Sequence[float]) -> Probs:
    """softmax(log p / temperature + offsets): temperature and class offsets applied to
    probabilities (their logs are the calibrated logits up to a constant)."""
    z = [math.log(max(v, 1e-9)) / temperature + b for v, b in zip(p, offsets, strict=True)]
    top = max(z)
    e = [math.exp(v - top) for v in z]
    total = sum(e)
    return Probs(e[0] / total, e[1] / total, e[2] / total)


def format_share(name: str, share: Share) -> str:
    """'正面 61%（58–64%）': the estimate and its 90% interval, in whole percent."""
    return f"{name} {share.estimate:.0%}（{share.low:.0%}–{share.high:.0%}）"


def prior_adjusted(
    probs: Sequence[Probs], calibration_prior: Sequence[float], *, rounds: int = 100
) -> list[Probs]:
    """The items' probabilities re-weighted to the class mix of these items (Saerens,
    Latinne & Decaestecker, 2002): the model was calibrated on a dev split whose class mix is
    `calibration_prior`; where the mix differs (a campaign's comments are not a random sample
    of Weibo), EM re-estimates the mix from the items and adjusts each item's probabilities to
    it. Their mean is then the estimate of the shares."""
    prior = [max(p, 1e-6) for p in calibration_prior]
    mix = list(prior)
    adjusted: list[Probs] = list(probs)
    for _ in range(rounds):
        ratio = [m / p for m, p in zip(mix, prior, strict=True)]
        adjusted = []
        for p in probs:
            w = (p.positive * ratio[0], p.neutral * ratio[1], p.negative * ratio[2])
            total = sum(w) or 1.0
            adjusted.append(Probs(w[0] / total, w[1] / total, w[2] / total))
        n = len(adjusted) or 1
        new = [sum(a[k] for a in adjusted) / n for k in range(3)]
        if max(abs(a - b) for a, b in zip(new, mix, strict=True)) < 1e-6:
            break
        mix = [max(v, 1e-6) for v in new]
    return adjusted


def blended_mix(
    rows: Iterable[Sequence[float]],
    temperature: float,
    offsets: Sequence[float],
    prior: Sequence[float],
    weight: float,
) -> tuple[int, tuple[float, float, float]]:
    """How many items, and their class mix: the rows recalibrated (`recalibrated_all`), then
    `weight` of the EM-adjusted mix (`adjusted_mix`, from `prior`) and the rest of their plain
    mean (1: EM alone; 0: the mean alone)."""
    recal = recalibrated_all(rows, temperature, offsets)
    n = len(recal)
    if not n:
        return 0, (prior[0], prior[1], prior[2])
    _, em = adjusted_mix(recal, prior)
    mean = recal.mean(axis=0)
    a, b, c = (weight * e + (1 - weight) * float(m) for e, m in zip(em, mean, strict=True))
    return n, (a, b, c)
