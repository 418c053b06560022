"""Temperature scaling and expected calibration error (nlp.calibration)."""

from __future__ import annotations

import math
import random

from nlp.calibration import expected_calibration_error, fit_temperature
from nlp.sentiment import LABELS, Label, Probs


def _softmax(z: tuple[float, float, float], t: float = 1.0) -> Probs:
    top = max(z)
    e = [math.exp((v - top) / t) for v in z]
    return Probs(e[0] / sum(e), e[1] / sum(e), e[2] / sum(e))


def _overconfident(n: int, scale: float, seed: int = 3) -> tuple[list, list[Label]]:
    """Logits whose true temperature is `scale`: labels drawn from softmax(z / scale)."""
    rng = random.Random(seed)
    logits, gold = [], []
    for _ in range(n):
        z = (rng.gauss(0, 3), rng.gauss(0, 3), rng.gauss(0, 3))
        p = _softmax(z, scale)
        gold.append(rng.choices(LABELS, weights=p)[0])
        logits.append(z)
    return logits, gold


def test_fit_recovers_the_temperature_that_made_the_labels() -> None:
    logits, gold = _overconfident(4000, 2.5)
    assert abs(fit_temperature(logits, gold) - 2.5) < 0.4


def test_fitted_temperature_lowers_ece() -> None:
    logits, gold = _overconfident(4000, 3.0)
    raw = [_softmax(z) for z in logits]
    t = fit_temperature(logits, gold)
    scaled = [_softmax(z, t) for z in logits]
    assert expected_calibration_error(scaled, gold) < expected_calibration_error(raw, gold)
    assert expected_calibration_error(scaled, gold) < 0.05


def test_temperature_never_changes_the_winning_class() -> None:
    logits, _ = _overconfident(200, 1.0)
    for z in logits:
        assert _softmax(z).label == _softmax(z, 4.0).label


def test_ece_of_perfectly_sure_and_right_is_zero() -> None:
    probs = [Probs(1.0, 0.0, 0.0)] * 10
    assert expected_calibration_error(probs, ["positive"] * 10) == 0.0
    assert expected_calibration_error(probs, ["negative"] * 10) == 1.0


def test_no_data() -> None:
    assert fit_temperature([], []) == 1.0
    assert expected_calibration_error([], []) == 0.0
