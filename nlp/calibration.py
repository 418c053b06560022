"""Calibrated probabilities: temperature scaling fitted on a dev split, and its check (ECE).

`fit_temperature`: one number T divides the logits before the softmax, chosen to minimise the
negative log-likelihood of the dev labels; it changes how sure the model is, never which class
wins. `fit_scaling` adds one offset per class (the first fixed at 0): the training data's class
mix (seed sentences, weak labels, read labels with negatives boosted) is not the mix of real
comments, so the model's priors are off as well as its confidence. Both are fitted by
minimising the dev NLL, which is convex in 1/T and the offsets.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from nlp.sentiment import LABELS, Label, Probs, Weights

ECE_BINS = 10


def _nll(logits: Sequence[Weights], targets: Sequence[int], temperature: float) -> float:
    total = 0.0
    for z, target in zip(logits, targets, strict=True):
        scaled = [v / temperature for v in z]
        top = max(scaled)
        log_sum = top + math.log(sum(math.exp(v - top) for v in scaled))
        total += log_sum - scaled[target]
    return total / len(targets)


def fit_temperature(
    logits: Sequence[Weights], gold: Sequence[Label], *, low: float = 0.05, high: float = 20.0
) -> float:
    """The temperature in [low, high] that minimises the dev set's negative log-likelihood
    (golden-section search on log T; the NLL is unimodal in T). 1.0 without data."""
    if not logits:
        return 1.0
    targets = [LABELS.index(label) for label in gold]
    a, b = math.log(low), math.log(high)
    ratio = (math.sqrt(5) - 1) / 2
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = _nll(logits, targets, math.exp(c)), _nll(logits, targets, math.exp(d))
    for _ in range(60):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = _nll(logits, targets, math.exp(c))
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = _nll(logits, targets, math.exp(d))
    return math.exp((a + b) / 2)


def expected_calibration_error(
    probs: Sequence[Probs], gold: Sequence[Label], bins: int = ECE_BINS
) -> float:
    """Top-label ECE: the items binned by their top probability; the size-weighted mean gap
    between each bin's mean confidence and its accuracy."""
    if not probs:
        return 0.0
    sums = [[0.0, 0.0, 0] for _ in range(bins)]  # confidence, hits, count
    for p, label in zip(probs, gold, strict=True):
        confidence = max(p)
        at = min(int(confidence * bins), bins - 1)
        sums[at][0] += confidence
        sums[at][1] += p.label == label
        sums[at][2] += 1
    return sum(abs(conf - hits) for conf, hits, _ in sums) / len(probs)


def _softmax3(z0: float, z1: float, z2: float) -> tuple[float, float, float]:
    top = max(z0, z1, z2)
    e0, e1, e2 = math.exp(z0 - top), math.exp(z1 - top), math.exp(z2 - top)
    total = e0 + e1 + e2
    return e0 / total, e1 / total, e2 / total


def fit_scaling(
    logits: Sequence[Weights], gold: Sequence[Label], *, steps: int = 3000, rate: float = 0.05
) -> tuple[float, Weights]:
    """Temperature and per-class offsets (softmax(z / T + b), b[0] = 0) minimising the dev
    NLL, by full-batch gradient descent with a decaying step. (1.0, (0, 0, 0)) without data."""
    if not logits:
        return 1.0, (0.0, 0.0, 0.0)
    targets = [LABELS.index(label) for label in gold]
    n = len(targets)
    inverse = 1.0 / fit_temperature(logits, gold)  # a good start: temperature alone
    b1 = b2 = 0.0
    for step in range(steps):
        g_inverse = g1 = g2 = 0.0
        for z, target in zip(logits, targets, strict=True):
            p = _softmax3(z[0] * inverse, z[1] * inverse + b1, z[2] * inverse + b2)
            r = [p[0] - (target == 0), p[1] - (target == 1), p[2] - (target == 2)]
            g_inverse += r[0] * z[0] + r[1] * z[1] + r[2] * z[2]
            g1 += r[1]
            g2 += r[2]
        at = rate / math.sqrt(1 + step / 100)
        inverse = max(inverse - at * g_inverse / n, 1e-3)
        b1 -= at * 10 * g1 / n
        b2 -= at * 10 * g2 / n
    return 1.0 / inverse, (0.0, b1, b2)


def fit_probability_scaling(probs: Sequence[Probs], gold: Sequence[Label]) -> tuple[float, Weights]:
    """`fit_scaling` over the logs of probabilities that are already calibrated elsewhere: a
    temperature and class offsets that recalibrate them to another kind of text (their logs
    are the calibrated logits up to a constant per item)."""
    logs: list[Weights] = [
        (math.log(max(p[0], 1e-9)), math.log(max(p[1], 1e-9)), math.log(max(p[2], 1e-9)))
        for p in probs
    ]
    return fit_scaling(logs, gold)
