"""Shares with a 90% interval from calibrated probabilities (nlp.shares)."""

from __future__ import annotations

import random

from nlp.calibration import fit_probability_scaling
from nlp.sentiment import LABELS, Label, Probs
from nlp.shares import (
    comment_shares,
    estimate_shares,
    format_share,
    model_prior,
    prior_adjusted,
    recalibrated,
    shares_calibration,
    shares_from_sums,
    wilson,
)


def _probs(n: int, seed: int = 5) -> list[Probs]:
    rng = random.Random(seed)
    items = []
    for _ in range(n):
        a, b = rng.random(), rng.random()
        low, high = min(a, b), max(a, b)
        items.append(Probs(low, high - low, 1 - high))
    return items


def test_no_items_no_shares() -> None:
    assert estimate_shares([]) is None
    assert shares_from_sums(0, (0.0, 0.0, 0.0)) is None


def test_shares_are_mean_probabilities_and_sum_to_one() -> None:
    items = _probs(200)
    shares = estimate_shares(items)
    assert shares is not None and shares.n == len(items)
    for share, column in zip(shares, zip(*items, strict=True), strict=True):
        assert abs(share.estimate - sum(column) / len(items)) < 1e-9
        assert share.low <= share.estimate <= share.high
    assert abs(sum(share.estimate for share in shares) - 1.0) < 1e-9


def test_not_a_count_of_labels() -> None:
    # Every item leans positive (argmax: 100% positive) but is unsure: the share says so.
    shares = estimate_shares([Probs(0.5, 0.3, 0.2)] * 50)
    assert shares is not None
    assert abs(shares.positive.estimate - 0.5) < 1e-9
    assert abs(shares.negative.estimate - 0.2) < 1e-9


def test_interval_narrows_with_more_items() -> None:
    few, many = estimate_shares(_probs(30)), estimate_shares(_probs(3000))
    assert few is not None and many is not None
    for small, large in zip(few, many, strict=True):
        assert (large.high - large.low) < (small.high - small.low)


def test_sums_and_items_agree() -> None:
    items = _probs(80)
    sums = tuple(sum(column) for column in zip(*items, strict=True))
    assert shares_from_sums(len(items), sums) == estimate_shares(items)  # type: ignore[arg-type]


def test_interval_covers_the_true_share_about_nine_times_in_ten() -> None:
    # Items whose true class is drawn from calibrated probabilities: the interval around the
    # mean probability should hold the realised share of the class about 90% of the time.
    rng = random.Random(11)
    hits = trials = 0
    for _ in range(300):
        items = _probs(150, seed=rng.randrange(10**6))
        truth = [rng.choices(range(3), weights=p)[0] for p in items]
        shares = estimate_shares(items)
        assert shares is not None
        realised = sum(t == 2 for t in truth) / len(truth)
        hits += shares.negative.low <= realised <= shares.negative.high
        trials += 1
    assert 0.85 <= hits / trials <= 0.99


def test_wilson_stays_inside_zero_and_one() -> None:
    assert wilson(0.0, 10)[0] == 0.0
    assert wilson(1.0, 10)[1] == 1.0
    assert wilson(0.5, 0) == (0.0, 1.0)


def test_format_share_shows_estimate_and_interval() -> None:
    shares = estimate_shares([Probs(0.6, 0.3, 0.1)] * 400)
    assert shares is not None
    text = format_share("正面", shares.positive)
    low, high = round(shares.positive.low * 100), round(shares.positive.high * 100)
    assert text == f"正面 60%（{low}%–{high}%）"


def _shifted(n: int, mix: tuple[float, float, float], seed: int = 9) -> tuple[list[Probs], list]:
    """Items whose true classes follow `mix`, scored by a model calibrated on a uniform mix:
    P(class | text) from a fixed confusion (the text says its class 70% of the time)."""
    rng = random.Random(seed)
    likelihood = [[0.7, 0.15, 0.15], [0.15, 0.7, 0.15], [0.15, 0.15, 0.7]]
    items, truth = [], []
    for _ in range(n):
        true = rng.choices(range(3), weights=mix)[0]
        seen = rng.choices(range(3), weights=likelihood[true])[0]
        column = [likelihood[k][seen] / 3 for k in range(3)]  # uniform prior
        total = sum(column)
        items.append(Probs(*(c / total for c in column)))
        truth.append(true)
    return items, truth


def test_prior_adjustment_recovers_a_mix_unlike_the_calibration_split() -> None:
    items, truth = _shifted(6000, (0.6, 0.3, 0.1))
    plain = estimate_shares(items)
    adjusted = estimate_shares(items, prior=(1 / 3, 1 / 3, 1 / 3))
    assert plain is not None and adjusted is not None
    for k, (a, b) in enumerate(zip(plain, adjusted, strict=True)):
        realised = truth.count(k) / len(truth)
        assert abs(b.estimate - realised) < abs(a.estimate - realised)
        assert abs(b.estimate - realised) < 0.03


def test_prior_adjustment_changes_nothing_when_the_mix_is_the_calibration_mix() -> None:
    items, _ = _shifted(3000, (1 / 3, 1 / 3, 1 / 3))
    adjusted = prior_adjusted(items, (1 / 3, 1 / 3, 1 / 3))
    mean = [sum(p[k] for p in items) / len(items) for k in range(3)]
    # EM moves the mix only as far as the items' own mean differs from the prior
    assert all(abs(sum(p[k] for p in adjusted) / len(items) - mean[k]) < 0.05 for k in range(3))


def test_model_prior_is_read_from_metrics() -> None:
    metrics = {
        f"calibration_prior_{k}": v
        for k, v in zip(("positive", "neutral", "negative"), (0.2, 0.7, 0.1), strict=True)
    }
    assert model_prior(metrics) == (0.2, 0.7, 0.1)
    assert model_prior({}) is None
    rows = [(0.5, 0.3, 0.2)] * 10
    assert comment_shares(rows) == estimate_shares([Probs(0.5, 0.3, 0.2)] * 10)
    assert comment_shares([], metrics) is None


def _overconfident_domain(
    n: int, mix: tuple[float, float, float], seed: int
) -> tuple[list[Probs], list[Label]]:
    """Items of another kind of text, scored by a model calibrated elsewhere (uniform prior):
    on this text it is far too sure, its probabilities the true ones raised to the power 3."""
    items, truth = _shifted(n, mix, seed)
    sharp = []
    for p in items:
        cubed = [v**3 for v in p]
        sharp.append(Probs(*(v / sum(cubed) for v in cubed)))
    return sharp, [LABELS[k] for k in truth]


def _domain_metrics(temperature: float, offsets: tuple[float, float, float]) -> dict[str, float]:
    metrics = {"shares_temperature": temperature}
    for label, offset in zip(LABELS, offsets, strict=True):
        metrics[f"shares_offset_{label}"] = offset
        metrics[f"shares_prior_{label}"] = 1 / 3
        metrics[f"calibration_prior_{label}"] = 1 / 3
    return metrics


def test_a_domain_calibration_fitted_on_a_dev_split_brings_the_shares_back() -> None:
    dev, dev_gold = _overconfident_domain(1500, (1 / 3, 1 / 3, 1 / 3), seed=4)
    temperature, offsets = fit_probability_scaling(dev, dev_gold)
    assert 2.4 < temperature < 3.6  # undoes the power of 3
    items, gold = _overconfident_domain(6000, (0.6, 0.3, 0.1), seed=8)
    with_domain = comment_shares(items, _domain_metrics(temperature, offsets))
    lccc_only = {k: v for k, v in _domain_metrics(1.0, (0, 0, 0)).items() if "shares" not in k}
    without = comment_shares(items, lccc_only)
    assert with_domain is not None and without is not None
    for label in LABELS:
        realised = gold.count(label) / len(gold)
        assert abs(with_domain.get(label).estimate - realised) < 0.03
    worst = max(abs(s.estimate - gold.count(s.label) / len(gold)) for s in without)
    assert worst > 0.05  # EM on overconfident probabilities overshoots the majority class


def test_shares_calibration_is_read_from_metrics_and_identity_changes_nothing() -> None:
    assert shares_calibration({}) is None
    assert shares_calibration({**_domain_metrics(1.0, (0, 0, 0)), "shares_temperature": 0}) is None
    assert shares_calibration(_domain_metrics(2.0, (0.0, 0.5, -0.5))) == (
        2.0,
        (0.0, 0.5, -0.5),
        (1 / 3, 1 / 3, 1 / 3),
    )
    p = Probs(0.7, 0.2, 0.1)
    assert all(abs(a - b) < 1e-9 for a, b in zip(recalibrated(p, 1.0, (0, 0, 0)), p, strict=True))
    softer = recalibrated(p, 2.0, (0, 0, 0))
    assert softer.positive < p.positive and softer.negative > p.negative
