"""Shares with a 90% interval from calibrated probabilities (nlp.shares)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nlp.calibration import fit_probability_scaling
from nlp.sentiment import LABELS, Label, Probs
from nlp.shares import (
    EM_WEIGHT,
    _rounded,
    adjusted_mix,
    blended_mix,
    comment_shares,
    estimate_shares,
    format_share,
    model_prior,
    prior_adjusted,
    recalibrated,
    recalibrated_all,
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
    # EM alone after the calibration: right where only the class mix differs from the dev's
    _, with_domain = blended_mix(items, temperature, offsets, (1 / 3, 1 / 3, 1 / 3), 1.0)
    lccc_only = {k: v for k, v in _domain_metrics(1.0, (0, 0, 0)).items() if "shares" not in k}
    without = comment_shares(items, lccc_only)
    assert without is not None
    for label, estimate in zip(LABELS, with_domain, strict=True):
        realised = gold.count(label) / len(gold)
        assert abs(estimate - realised) < 0.03
    worst = max(abs(s.estimate - gold.count(s.label) / len(gold)) for s in without)
    assert worst > 0.05  # EM on overconfident probabilities overshoots the majority class


def _written_otherwise(
    n: int, mix: tuple[float, float, float], says: list[list[float]], seed: int
) -> tuple[list[Probs], list[Label]]:
    """Items whose class shows in their text as `says[true class]` (how often the text says
    each class), scored by a model calibrated where every class says itself 80% of the time."""
    read = [[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]]
    rng = random.Random(seed)
    items, gold = [], []
    for _ in range(n):
        true = rng.choices(range(3), weights=mix)[0]
        seen = rng.choices(range(3), weights=says[true])[0]
        column = [read[k][seen] for k in range(3)]
        items.append(Probs(*(c / sum(column) for c in column)))
        gold.append(LABELS[true])
    return items, gold


def test_where_a_class_is_written_otherwise_half_em_lands_closer_than_em() -> None:
    # the dev split: every class says itself 80% of the time; the campaign: its complaints
    # often read as neutral (questions, demands), its praise is plainer
    same = [[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]]
    dev, dev_gold = _written_otherwise(3000, (1 / 3, 1 / 3, 1 / 3), same, seed=1)
    temperature, offsets = fit_probability_scaling(dev, dev_gold)
    campaign = [[0.85, 0.1, 0.05], [0.1, 0.8, 0.1], [0.1, 0.35, 0.55]]
    items, gold = _written_otherwise(20_000, (0.6, 0.3, 0.1), campaign, seed=2)
    realised = [gold.count(label) / len(gold) for label in LABELS]
    metrics = _domain_metrics(temperature, offsets)
    shown = comment_shares(items, metrics)
    assert shown is not None
    _, em = blended_mix(items, temperature, offsets, (1 / 3, 1 / 3, 1 / 3), 1.0)
    em_gap = max(abs(a - b) for a, b in zip(em, realised, strict=True))
    shown_gap = max(abs(s.estimate - r) for s, r in zip(shown, realised, strict=True))
    assert em[2] < realised[2] - 0.05  # EM takes too few complaints
    assert shown_gap < em_gap - 0.02


def test_the_blend_is_em_and_mean_in_proportion() -> None:
    items, _ = _overconfident_domain(500, (0.5, 0.3, 0.2), seed=3)
    temperature, offsets, prior = 2.0, (0.0, 0.3, -0.2), (0.3, 0.4, 0.3)
    recal = recalibrated_all(items, temperature, offsets)
    mean = [float(v) for v in recal.mean(axis=0)]
    _, em = adjusted_mix(recal, prior)
    for weight in (0.0, 0.5, EM_WEIGHT, 1.0):
        n, mix = blended_mix(items, temperature, offsets, prior, weight)
        assert n == 500 and abs(sum(mix) - 1) < 1e-9
        for got, e, m in zip(mix, em, mean, strict=True):
            assert abs(got - (weight * e + (1 - weight) * m)) < 1e-12
    metrics = {**_domain_metrics(temperature, offsets), "shares_prior_neutral": 0.4}
    metrics |= {"shares_prior_positive": 0.3, "shares_prior_negative": 0.3}
    shown = comment_shares(items, metrics)
    _, mix = blended_mix(items, temperature, offsets, prior, EM_WEIGHT)
    assert shown is not None and [s.estimate for s in shown] == pytest.approx(mix, abs=1e-12)
    assert blended_mix([], temperature, offsets, prior, 0.5) == (0, prior)


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


# --- the EM in numpy against the EM it replaced ----------------------------------------------


def _reference_mix(
    probs: list[tuple[float, float, float]], calibration_prior: tuple[float, float, float]
) -> tuple[int, tuple[float, float, float]]:
    """The EM as it was in pure Python (items grouped by probabilities rounded to 0.001, 200
    rounds, stop below 1e-7): what `adjusted_mix` must still give."""
    groups: dict[tuple[float, float, float], int] = {}
    for a, b, c in probs:
        key = (round(a, 3), round(b, 3), round(c, 3))
        groups[key] = groups.get(key, 0) + 1
    n = len(probs)
    prior = [max(p, 1e-6) for p in calibration_prior]
    mix = list(prior)
    if not n:
        return 0, (mix[0], mix[1], mix[2])
    for _ in range(200):
        r0, r1, r2 = (m / p for m, p in zip(mix, prior, strict=True))
        new = [0.0, 0.0, 0.0]
        for (a, b, c), count in groups.items():
            w0, w1, w2 = a * r0, b * r1, c * r2
            scale = count / ((w0 + w1 + w2) or 1.0)
            new[0] += w0 * scale
            new[1] += w1 * scale
            new[2] += w2 * scale
        new = [max(v / n, 1e-6) for v in new]
        done = max(abs(a - b) for a, b in zip(new, mix, strict=True)) < 1e-7
        mix = new
        if done:
            break
    total = sum(mix)
    return n, (mix[0] / total, mix[1] / total, mix[2] / total)


# Probabilities anywhere in 0..1, and ones on a rounding tie (0.0625 is one, exactly).
_probability = st.floats(0.0, 1.0) | st.sampled_from([0.0625, 0.0005, 0.0015, 0.0025, 0.5, 1.0])
_triple = st.tuples(_probability, _probability, _probability)
_prior = st.tuples(*(st.floats(0.0, 1.0),) * 3).filter(lambda p: sum(p) > 0.05)


@settings(max_examples=300, deadline=None)
@given(st.lists(_triple, max_size=60), _prior)
def test_the_numpy_em_gives_what_the_python_em_gave(
    probs: list[tuple[float, float, float]], prior: tuple[float, float, float]
) -> None:
    n, mix = adjusted_mix(probs, prior)
    expected_n, expected = _reference_mix(probs, prior)
    assert n == expected_n
    # The same rounds: only the order of float additions differs (a few ulps).
    assert all(abs(a - b) < 1e-9 for a, b in zip(mix, expected, strict=True))


@given(st.lists(_probability, max_size=50))
def test_rounding_is_pythons_round_to_three_places(values: list[float]) -> None:
    rounded = _rounded(np.array(values, dtype=np.float64))
    assert [float(v) for v in rounded] == [round(v, 3) for v in values]


def test_shares_of_a_campaigns_day_equal_the_python_em() -> None:
    rng = random.Random(3)
    rows = []
    for _ in range(5000):
        negative = rng.random() ** 3
        neutral = (1 - negative) * rng.random() * 0.6
        rows.append((1 - negative - neutral, neutral, negative))
    prior = (0.24, 0.52, 0.24)
    assert adjusted_mix(rows, prior)[0] == 5000
    assert all(
        abs(a - b) < 1e-9
        for a, b in zip(adjusted_mix(rows, prior)[1], _reference_mix(rows, prior)[1], strict=True)
    )


def test_recalibrating_all_rows_at_once_is_recalibrating_each() -> None:
    rows = [tuple(p) for p in _probs(3000, seed=21)] + [(0.0, 0.0, 1.0), (1e-12, 0.5, 0.5)]
    for temperature, offsets in ((0.4921, (0.0, -1.8431, -1.1031)), (2.5, (0.3, 0.0, -0.2))):
        together = recalibrated_all(rows, temperature, offsets).tolist()
        one_by_one = [recalibrated(Probs(*row), temperature, offsets) for row in rows]
        assert len(together) == len(one_by_one)
        for a, b in zip(together, one_by_one, strict=True):
            assert all(abs(x - y) < 1e-12 for x, y in zip(a, b, strict=True))
    assert len(recalibrated_all([], 1.0, (0.0, 0.0, 0.0))) == 0
