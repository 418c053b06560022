"""How far share estimators land from the truth on the dev splits: where the shares' method is
chosen (never on a test split, the demo scenario or its truth).

A campaign's comments differ from a calibration split twice: in class mix (prior shift) and in
how each class is written (domain shift: the model reads one kind of complaint less surely than
another). Each estimator is fitted on one dev split, or on four fifths of it, as
`nlp.training.calibrate_shares` fits the shipped one (temperature and class offsets over the
model's probabilities, `nlp.calibration.fit_probability_scaling`, and the split's class mix),
and measured on comments it was not fitted on, resampled to class mixes drawn from a Dirichlet
(2, 2, 2):
- within: the held-out fifth of the same split (5 folds, twice): prior shift alone;
- across: the other split whole (seed dev → LCCC dev, LCCC dev → seed dev): both shifts.
The figure is the mean, over the resampled batches, of the largest gap of any class, in points.

Run: `python -m benchmarks.shares`.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Sequence

from nlp.calibration import fit_probability_scaling
from nlp.realtext import human_examples
from nlp.sentiment import LABELS, Example, Label, LinearModel, Probs, default_model
from nlp.shares import blended_mix
from nlp.training import seed_examples

BATCH = 400  # comments in one resampled batch
MIXES = 40  # class mixes drawn per held-out part
WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)  # of the EM adjustment (1: EM alone, 0: the mean)

Estimator = Callable[[Sequence[Probs]], tuple[float, float, float]]
Rows = list[tuple[Probs, Label]]


def estimators(rows: Rows) -> dict[str, Estimator]:
    """Every candidate, fitted on `rows` (probabilities and their labels)."""
    probs = [p for p, _ in rows]
    gold = [label for _, label in rows]
    temperature, offsets = fit_probability_scaling(probs, gold)
    prior = tuple(max(gold.count(label) / len(gold), 1e-3) for label in LABELS)

    def blend(weight: float) -> Estimator:
        return lambda batch: blended_mix(batch, temperature, offsets, prior, weight)[1]

    return {f"EM weight {weight:.2f}": blend(weight) for weight in WEIGHTS}


def resampled_gaps(
    estimate: Estimator, rows: Rows, rng: random.Random, mixes: int = MIXES
) -> list[float]:
    """The largest class gap of `estimate` on batches of `rows` resampled to random mixes."""
    by_class = {label: [p for p, g in rows if g == label] for label in LABELS}
    gaps = []
    for _ in range(mixes):
        draws = [rng.gammavariate(2.0, 1.0) for _ in LABELS]
        mix = [d / sum(draws) for d in draws]
        counts = [round(BATCH * m) for m in mix]
        batch = [
            p
            for label, n in zip(LABELS, counts, strict=True)
            for p in rng.choices(by_class[label], k=n)
        ]
        truth = [n / sum(counts) for n in counts]
        found = estimate(batch)
        gaps.append(max(abs(a - b) for a, b in zip(found, truth, strict=True)))
    return gaps


def scored(model: LinearModel, examples: Sequence[Example]) -> Rows:
    usable = [e for e in examples if e.text.strip()]
    return list(
        zip(model.predict([e.text for e in usable]), [e.label for e in usable], strict=True)
    )


def main() -> None:
    model = default_model()
    splits = {
        "seed dev": scored(model, seed_examples("dev")),
        "LCCC dev": scored(model, human_examples("dev")),
    }
    gaps: dict[tuple[str, str], list[float]] = {}
    rng = random.Random(int(os.environ.get("SHARES_SEED", "2026")))
    for name, rows in splits.items():
        for repeat in range(2):
            order = list(rows)
            random.Random(repeat).shuffle(order)
            for fold in range(5):
                held = order[fold::5]
                fitted = [r for i, r in enumerate(order) if i % 5 != fold]
                for method, estimate in estimators(fitted).items():
                    gaps.setdefault((method, f"within {name}"), []).extend(
                        resampled_gaps(estimate, held, rng)
                    )
    for source, target in (("seed dev", "LCCC dev"), ("LCCC dev", "seed dev")):
        for method, estimate in estimators(splits[source]).items():
            key = (method, f"{source} -> {target}")
            gaps.setdefault(key, []).extend(
                resampled_gaps(estimate, splits[target], rng, 4 * MIXES)
            )
    settings = list(dict.fromkeys(setting for _, setting in gaps))
    print(f"share estimators on the dev splits: mean largest gap in points, batches of {BATCH}")
    print(f"{'method':<18}" + "".join(f"{s:>22}" for s in settings) + f"{'mean':>8}")
    for method in dict.fromkeys(m for m, _ in gaps):
        cells = [100 * sum(gaps[method, s]) / len(gaps[method, s]) for s in settings]
        print(
            f"{method:<18}"
            + "".join(f"{c:>22.2f}" for c in cells)
            + f"{sum(cells) / len(cells):>8.2f}"
        )


if __name__ == "__main__":
    main()
