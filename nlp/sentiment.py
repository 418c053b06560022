"""Sentiment of short Weibo/Douyin text: P(positive) in [0, 1] and a three-way label.

The default model is a logistic regression over character n-grams, emoticon tokens and a
hand-written lexicon with negation. Character n-grams instead of jieba words keep scoring
cheap (tens of thousands of texts a second on one core) and robust to slang and typos; the
lexicon carries the social-media words that SnowNLP's shopping reviews never saw.
Stock SnowNLP stays selectable (`snownlp`) as the baseline.
"""

from __future__ import annotations

import gzip
import json
import math
import operator
import random
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal, Protocol

from nlp.text import EMOTICON, normalize

Label = Literal["positive", "neutral", "negative"]
LABELS: tuple[Label, ...] = ("positive", "neutral", "negative")
MODEL_FORMAT = "pingfan-sentiment/1"
DEFAULT_MODEL_FILE = "data/sentiment-default.json.gz"

_NEGATION_SPAN = 3  # characters before a lexicon word in which a negator flips it
_DROP_PUNCTUATION = str.maketrans("", "", " ，。、；：,.;:~～…·\"'“”‘’()（）【】《》<>-—_\n\t")


@dataclass(frozen=True)
class Score:
    score: float
    label: Label
    model: str


class Model(Protocol):
    version: str

    def probabilities(self, texts: Sequence[str]) -> list[float]: ...


def label_for(probability: float, neutral_low: float = 0.4, neutral_high: float = 0.6) -> Label:
    if probability < neutral_low:
        return "negative"
    if probability > neutral_high:
        return "positive"
    return "neutral"


def score(
    texts: Sequence[str],
    model: Model | None = None,
    *,
    neutral_low: float = 0.4,
    neutral_high: float = 0.6,
) -> list[Score]:
    """Score texts in order; empty text is neutral (0.5)."""
    chosen = model or default_model()
    probabilities = chosen.probabilities(texts)
    return [
        Score(p, label_for(p, neutral_low, neutral_high), chosen.version) for p in probabilities
    ]


# --- features ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lexicon:
    weights: dict[str, float]
    negators: frozenset[str]
    negator_pattern: re.Pattern[str] = re.compile("(?!)")
    # first character → the lengths of lexicon words starting with it, longest first
    lengths_by_first: dict[str, tuple[int, ...]] = field(default_factory=dict)

    @classmethod
    def build(cls, weights: dict[str, float], negators: frozenset[str]) -> Lexicon:
        lengths: dict[str, set[int]] = {}
        for word in weights:
            if word not in negators:
                lengths.setdefault(word[0], set()).add(len(word))
        by_first = {ch: tuple(sorted(sizes, reverse=True)) for ch, sizes in lengths.items()}
        pattern = re.compile("|".join(sorted(map(re.escape, negators), key=len, reverse=True)))
        return cls(weights, negators, pattern, by_first)


@cache
def shipped_lexicon() -> Lexicon:
    root = resources.files("nlp").joinpath("data")
    weights: dict[str, float] = {}
    for line in root.joinpath("lexicon.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            word, weight = line.split("\t")
            weights[normalize(word)] = float(weight)
    negators = frozenset(
        line.strip()
        for line in root.joinpath("negators.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    )
    return Lexicon.build(weights, negators)


def features(text: str, lexicon: Lexicon | None = None) -> dict[str, float]:
    """Sparse features of one text: emoticons, char 1-2 grams, lexicon sums with negation."""
    lex = lexicon or shipped_lexicon()
    clean = normalize(text)
    feats: dict[str, float] = {}
    if not clean:
        return feats
    plain_parts = []
    position = 0
    for match in EMOTICON.finditer(clean):
        plain_parts.append(clean[position : match.start()])
        feats[match.group(0)] = feats.get(match.group(0), 0.0) + 1.0
        position = match.end()
    plain_parts.append(clean[position:])
    positive = negative = 0.0
    grams: Counter[str] = Counter()
    for part in plain_parts:
        joined = part.translate(_DROP_PUNCTUATION)
        grams.update(joined)
        grams.update(map(operator.add, joined, joined[1:]))
        pos, neg = _lexicon_sums(part, lex)
        positive += pos
        negative += neg
    if grams:
        # Length-normalised, so that long reviews do not outvote the lexicon on short posts.
        scale = 1.0 / math.sqrt(sum(grams.values()))
        for gram, count in grams.items():
            feats[gram] = count * scale
    for match in EMOTICON.finditer(clean):
        weight = lex.weights.get(match.group(0), 0.0)
        if weight > 0:
            positive += weight
        else:
            negative -= weight
    if positive:
        feats["<lex+>"] = positive
    if negative:
        feats["<lex->"] = negative
    if positive or negative:
        feats["<lexbal>"] = (positive - negative) / (positive + negative)
    return feats


def _lexicon_sums(text: str, lex: Lexicon) -> tuple[float, float]:
    """Greedy longest-match lexicon hits; a negator just before a word flips its sign."""
    positive = negative = 0.0
    i = 0
    length = len(text)
    by_first = lex.lengths_by_first
    while i < length:
        for size in by_first.get(text[i], ()):
            word = text[i : i + size]
            weight = lex.weights.get(word)
            if weight is None:
                continue
            window = text[max(0, i - _NEGATION_SPAN) : i]
            if lex.negator_pattern.search(window):
                weight = -weight * 0.8
            if weight > 0:
                positive += weight
            else:
                negative -= weight
            i += size - 1
            break
        i += 1
    return positive, negative


# --- the linear model -----------------------------------------------------------------------


@dataclass
class LinearModel:
    """Logistic regression over `features()`; weights are a plain dict."""

    weights: dict[str, float]
    bias: float
    version: str
    metrics: dict[str, float] = field(default_factory=dict)

    def probability(self, text: str) -> float:
        feats = features(text)
        if not feats:
            return 0.5
        weights = self.weights
        z = self.bias + sum(weights.get(name, 0.0) * value for name, value in feats.items())
        return _sigmoid(z)

    def probabilities(self, texts: Sequence[str]) -> list[float]:
        return [self.probability(text) for text in texts]

    def save(self, path: str | Path) -> None:
        payload = {
            "format": MODEL_FORMAT,
            "version": self.version,
            "bias": self.bias,
            "metrics": self.metrics,
            "weights": {k: round(v, 5) for k, v in self.weights.items() if abs(v) >= 1e-4},
        }
        with gzip.open(path, "wt", encoding="utf-8") as out:
            json.dump(payload, out, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def load(cls, path: str | Path) -> LinearModel:
        try:
            with gzip.open(path, "rt", encoding="utf-8") as source:
                payload = json.load(source)
        except (OSError, json.JSONDecodeError, EOFError) as err:
            raise ValueError(f"{path}: not a pingfan sentiment model ({err})") from err
        if not isinstance(payload, dict) or payload.get("format") != MODEL_FORMAT:
            raise ValueError(f"{path}: not a {MODEL_FORMAT} model file")
        return cls(
            weights=payload["weights"],
            bias=payload["bias"],
            version=payload["version"],
            metrics=payload.get("metrics", {}),
        )


class SnowNLPModel:
    """SnowNLP as shipped (trained on shopping reviews): the baseline to beat."""

    version = "snownlp-0.12.3"

    def probabilities(self, texts: Sequence[str]) -> list[float]:
        from snownlp import SnowNLP

        return [SnowNLP(text).sentiments if text.strip() else 0.5 for text in texts]


@cache
def default_model() -> LinearModel:
    return LinearModel.load(str(resources.files("nlp").joinpath(DEFAULT_MODEL_FILE)))


def load_model(spec: str | None) -> Model:
    """'default' (or None), 'snownlp', or the path of a trained model file."""
    if spec in (None, "", "default"):
        return default_model()
    if spec == "snownlp":
        return SnowNLPModel()
    return LinearModel.load(spec)


# --- training -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    text: str
    label: Label
    weight: float = 1.0


def train(
    examples: Iterable[Example],
    *,
    version: str,
    epochs: int = 6,
    l2: float = 1e-6,
    learning_rate: float = 0.2,
    seed: int = 13,
) -> LinearModel:
    """Logistic regression by AdaGrad SGD. Neutral examples pull towards 0.5."""
    rows = [(features(e.text), _target(e.label), e.weight) for e in examples if e.text.strip()]
    if not rows:
        raise ValueError("no training examples with text")
    if len({target for _, target, _ in rows}) < 2:
        raise ValueError("training needs both positive and negative examples")
    weights: dict[str, float] = {}
    squares: dict[str, float] = {}
    bias, bias_square = 0.0, 1e-8
    rng = random.Random(seed)
    order = list(range(len(rows)))
    for _ in range(epochs):
        rng.shuffle(order)
        for index in order:
            feats, target, weight = rows[index]
            z = bias + sum(weights.get(k, 0.0) * v for k, v in feats.items())
            gradient = (_sigmoid(z) - target) * weight
            bias_square += gradient * gradient
            bias -= learning_rate * gradient / math.sqrt(bias_square)
            for name, value in feats.items():
                g = gradient * value + l2 * weights.get(name, 0.0)
                squares[name] = squares.get(name, 1e-8) + g * g
                weights[name] = weights.get(name, 0.0) - learning_rate * g / math.sqrt(
                    squares[name]
                )
    return LinearModel(weights=weights, bias=bias, version=version)


def _target(label: Label) -> float:
    return {"positive": 1.0, "neutral": 0.5, "negative": 0.0}[label]


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def read_examples(path: str | Path, weight: float = 1.0) -> Iterator[Example]:
    """JSON lines `{"text", "label"}`; a bad line is a ValueError naming the line."""
    with open(path, "rb") as source:
        for number, raw in enumerate(source, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                message = f"{path}:{number}: not UTF-8 text; save the file as UTF-8"
                raise ValueError(message) from err
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                text, label = record["text"], record["label"]
            except (json.JSONDecodeError, KeyError, TypeError) as err:
                raise ValueError(f"{path}:{number}: expected {{'text', 'label'}} JSON") from err
            if not isinstance(text, str):
                raise ValueError(
                    f"{path}:{number}: text must be a string, not {_json_kind(text)}; "
                    f'quote it ("text": "...")'
                )
            if not isinstance(label, str) or label not in LABELS:
                shown = repr(label) if len(repr(label)) <= 40 else repr(label)[:37] + "..."
                raise ValueError(
                    f"{path}:{number}: label must be positive, neutral or negative, not {shown}"
                )
            yield Example(text, label, weight)


def _json_kind(value: object) -> str:
    kinds = {
        bool: "true/false",
        int: "a number",
        float: "a number",
        list: "a list",
        dict: "an object",
    }
    return "null" if value is None else kinds.get(type(value), type(value).__name__)
