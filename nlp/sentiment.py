"""Sentiment of short Weibo/Douyin text in three learned classes: positive, neutral, negative.

The default model is a multinomial logistic regression (softmax) over character n-grams,
emoticon and emoji tokens, Latin words, a few shape features (length, question, @mention) and
a hand-written lexicon with negation. Neutral is a class of its own, learned from examples
(questions, check-ins, chatter), not a band cut out of P(positive). Character n-grams instead
of jieba words keep scoring cheap (thousands of texts a second on one core) and robust to
slang and typos; the lexicon carries the social-media words that SnowNLP's shopping reviews
never saw. Stock SnowNLP stays selectable (`snownlp`) as the baseline; a binary model reads
as neutral inside the configured band.
"""

from __future__ import annotations

import gzip
import json
import math
import operator
import random
import re
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal, NamedTuple, Protocol

import marisa_trie

from nlp.model_file import read_model_file, read_model_header
from nlp.text import EMOTICON, normalize

Label = Literal["positive", "neutral", "negative"]
LABELS: tuple[Label, ...] = ("positive", "neutral", "negative")
MODEL_FORMAT = "pingfan-sentiment/2"
OLD_MODEL_FORMAT = "pingfan-sentiment/1"
DEFAULT_MODEL_FILE = "data/sentiment-default.json.gz"

_NEGATION_SPAN = 3  # characters before a lexicon word in which a negator flips it
_DROP_PUNCTUATION = str.maketrans("", "", " ，。、；：,.;:~～…·\"'“”‘’()（）【】《》<>-—_\n\t!")
_LATIN_WORD = re.compile(r"[a-z][a-z']+")
_MENTION = re.compile(r"@[^\s@,.!?:;，。！？：；、\[]{1,30}")
# Rhetorical questions and sarcasm openers: "这就是不平凡的城市？", "这也叫…？"
_RHETORICAL = re.compile(r"(这就是|这也叫|这叫|就这|难道|凭什么|还好意思|好意思|哪里不平凡)")


class Probs(NamedTuple):
    """P(positive), P(neutral), P(negative): sums to 1. A plain tuple: cheap to pickle."""

    positive: float
    neutral: float
    negative: float

    @property
    def label(self) -> Label:
        """The most probable class (ties: neutral, then positive)."""
        if self.neutral >= self.positive and self.neutral >= self.negative:
            return "neutral"
        return "positive" if self.positive >= self.negative else "negative"

    @property
    def entropy(self) -> float:
        """In bits, 0 (sure) .. log2(3) (no idea): how unsure the model is."""
        return -sum(p * math.log2(p) for p in self if p > 0)

    def as_dict(self, digits: int = 4) -> dict[str, float]:
        return {
            "positive": round(self.positive, digits),
            "neutral": round(self.neutral, digits),
            "negative": round(self.negative, digits),
        }

    @classmethod
    def from_binary(cls, p: float, neutral_low: float = 0.4, neutral_high: float = 0.6) -> Probs:
        """A binary model's P(positive) as three classes: neutral inside the band."""
        if neutral_low <= p <= neutral_high:
            return cls(p / 2, 0.5, (1 - p) / 2)
        return cls(p, 0.0, 1 - p)


EMPTY = Probs(0.0, 1.0, 0.0)  # no text: neutral, and sure of it


@dataclass(frozen=True)
class Score:
    score: float  # P(positive)
    label: Label
    model: str
    probs: Probs = EMPTY


class Model(Protocol):
    version: str

    def predict(self, texts: Sequence[str]) -> list[Probs]: ...

    def probabilities(self, texts: Sequence[str]) -> list[float]: ...


def label_for(probability: float, neutral_low: float = 0.4, neutral_high: float = 0.6) -> Label:
    """A binary model's label: neutral inside [neutral_low, neutral_high] of P(positive)."""
    if probability < neutral_low:
        return "negative"
    if probability > neutral_high:
        return "positive"
    return "neutral"


def score(texts: Sequence[str], model: Model | None = None) -> list[Score]:
    """Score texts in order; empty text is neutral."""
    chosen = model or default_model()
    return [Score(p.positive, p.label, chosen.version, p) for p in chosen.predict(texts)]


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


def _data_lines(name: str) -> Iterator[str]:
    text = resources.files("nlp").joinpath("data", name).read_text(encoding="utf-8")
    for line in text.splitlines():
        if line.strip() and not line.startswith("#"):
            yield line


@cache
def shipped_lexicon() -> Lexicon:
    weights: dict[str, float] = {}
    for line in _data_lines("lexicon.tsv"):
        word, weight = line.split("\t")
        weights[normalize(word)] = float(weight)
    negators = frozenset(line.strip() for line in _data_lines("negators.txt"))
    return Lexicon.build(weights, negators)


@cache
def emoji_table() -> dict[int, str | None]:
    """Unicode emoji → the bracket emoticon that says the same ("👍" → "[赞]"), so that
    both carry one learned weight; variation selectors and joiners dropped."""
    table: dict[int, str | None] = {0xFE0F: None, 0xFE0E: None, 0x200D: None}
    for line in _data_lines("emoji.tsv"):
        emoji, token = line.split("\t")
        for char in emoji.replace("\ufe0f", ""):
            table[ord(char)] = token
    return table


def features(text: str, lexicon: Lexicon | None = None) -> dict[str, float]:
    """Sparse features of one text: emoticons and emoji, char 1-2 grams, Latin words,
    shape (length, question, rhetorical, @mention), lexicon sums with negation."""
    lex = lexicon or shipped_lexicon()
    clean = normalize(text).translate(emoji_table())
    feats: dict[str, float] = {}
    if not clean:
        return feats
    if "@" in clean:
        clean = _MENTION.sub(" @ ", clean)
    plain_parts = []
    position = 0
    for match in EMOTICON.finditer(clean):
        plain_parts.append(clean[position : match.start()])
        feats[match.group(0)] = feats.get(match.group(0), 0.0) + 1.0
        position = match.end()
    plain_parts.append(clean[position:])
    positive = negative = 0.0
    grams: Counter[str] = Counter()
    chars = 0
    words: list[str] = []
    for part in plain_parts:
        words += _LATIN_WORD.findall(part)
        joined = part.translate(_DROP_PUNCTUATION)
        chars += len(joined)
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
    rhetorical = "?" in clean and _RHETORICAL.search(clean) is not None
    if rhetorical:
        # A rhetorical question turns praise into sarcasm ("这就是不平凡的城市？"): its
        # positive words count on the negative side.
        positive, negative = 0.0, negative + positive
    if positive:
        feats["<lex+>"] = positive
    if negative:
        feats["<lex->"] = negative
    if positive or negative:
        feats["<lexbal>"] = (positive - negative) / (positive + negative)
    else:
        feats["<nolex>"] = 1.0
    for word in words:
        feats["w:" + word] = 1.0
    # Length in characters, a Latin word counting as one ("where is it" is short).
    units = chars - sum(map(len, words)) + len(words)
    feats["<len:short>" if units <= 4 else "<len:mid>" if units <= 15 else "<len:long>"] = 1.0
    if "?" in clean:
        feats["<q>"] = 1.0
        if rhetorical:
            feats["<rhet?>"] = 1.0
    if "@" in clean:
        feats["<at>"] = 1.0
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

Weights = tuple[float, float, float]  # one logit contribution per class, in LABELS order


class PackedWeights:
    """Feature → three weights, packed: the feature names in a MARISA trie, the weights in one
    flat array at 3 × the trie's key id. The default model's 204,637 features take about 5 MB
    this way; as a dict of tuples they took about 100 MB in every scoring process. Lookups
    cost about the same (the trie is C++)."""

    def __init__(self, weights: Mapping[str, Sequence[float]]) -> None:
        self._trie = marisa_trie.Trie(weights.keys())
        self._values = array("d", bytes(24 * len(self._trie)))
        for name, (w0, w1, w2) in weights.items():
            at = 3 * self._trie.key_id(name)
            self._values[at : at + 3] = array("d", (w0, w1, w2))

    @classmethod
    def from_columns(cls, names: Sequence[str], values: array[float]) -> PackedWeights:
        """Names and their weights, three each in the same order (as a model file holds
        them); a name given twice keeps its last weights, as a JSON object would."""
        packed = cls({})
        packed._trie = marisa_trie.Trie(names)
        packed._values = array("d", bytes(24 * len(packed._trie)))
        for index, name in enumerate(names):
            at = 3 * packed._trie.key_id(name)
            packed._values[at : at + 3] = values[3 * index : 3 * index + 3]
        return packed

    def get(self, name: str) -> Weights | None:
        key_id = self._trie.get(name)
        if key_id is None:
            return None
        at = 3 * key_id
        return self._values[at], self._values[at + 1], self._values[at + 2]

    def logits(self, feats: dict[str, float], bias: Weights) -> Weights:
        """bias + Σ weights(feature) · value, per class."""
        z0, z1, z2 = bias
        find, values = self._trie.get, self._values
        for name, value in feats.items():
            key_id = find(name)
            if key_id is not None:
                at = 3 * key_id
                z0 += values[at] * value
                z1 += values[at + 1] * value
                z2 += values[at + 2] * value
        return z0, z1, z2

    def items(self) -> Iterator[tuple[str, Weights]]:
        for name, key_id in self._trie.iteritems():
            at = 3 * key_id
            yield name, (self._values[at], self._values[at + 1], self._values[at + 2])

    def __len__(self) -> int:
        return len(self._trie)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PackedWeights) and dict(self.items()) == dict(other.items())


@dataclass
class LinearModel:
    """Softmax regression over `features()`: three logits."""

    weights: PackedWeights
    bias: Weights
    version: str
    metrics: dict[str, float] = field(default_factory=dict)
    # Logits are divided by it before the softmax: fitted on a dev split (nlp.calibration) so
    # that the probabilities are calibrated; 1.0 is the raw model.
    temperature: float = 1.0
    # Added to the scaled logits (per class, fitted with the temperature): the training data's
    # class mix is not the mix of real comments. (0, 0, 0) is the raw model.
    offsets: Weights = (0.0, 0.0, 0.0)

    def logits_one(self, text: str) -> Weights | None:
        """The raw (uncalibrated) logits, or None for a text without features."""
        feats = features(text)
        if not feats:
            return None
        return self.weights.logits(feats, self.bias)

    def predict_one(self, text: str) -> Probs:
        feats = features(text)
        if not feats:
            return EMPTY
        z0, z1, z2 = self.weights.logits(feats, self.bias)
        t, (b0, b1, b2) = self.temperature, self.offsets
        return _softmax(z0 / t + b0, z1 / t + b1, z2 / t + b2)

    def predict(self, texts: Sequence[str]) -> list[Probs]:
        return [self.predict_one(text) for text in texts]

    def probability(self, text: str) -> float:
        """P(positive)."""
        return self.predict_one(text).positive

    def probabilities(self, texts: Sequence[str]) -> list[float]:
        return [self.predict_one(text).positive for text in texts]

    def save(self, path: str | Path) -> None:
        payload = {
            "format": MODEL_FORMAT,
            "classes": list(LABELS),
            "version": self.version,
            "bias": [round(b, 5) for b in self.bias],
            "temperature": round(self.temperature, 4),
            "offsets": [round(b, 4) for b in self.offsets],
            "metrics": self.metrics,
            "weights": {
                k: [round(x, 4) for x in v]
                for k, v in self.weights.items()
                if max(abs(x) for x in v) >= 1e-3
            },
        }
        with gzip.open(path, "wt", encoding="utf-8") as out:
            json.dump(payload, out, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def load(cls, path: str | Path) -> LinearModel:
        try:
            model = read_model_file(path)  # weights streamed into columns: no 95 MB dict
        except (OSError, ValueError, EOFError) as err:
            raise ValueError(f"{path}: not a pingfan sentiment model ({err})") from err
        payload = model.fields
        if payload.get("format") == OLD_MODEL_FORMAT:
            raise ValueError(
                f"{path}: a two-class model from an older pingfan ({OLD_MODEL_FORMAT}); "
                f"train it again with `pingfan nlp train` for three classes"
            )
        if payload.get("format") != MODEL_FORMAT:
            raise ValueError(f"{path}: not a {MODEL_FORMAT} model file")
        bias, version = payload.get("bias"), payload.get("version")
        if (
            not isinstance(bias, list)
            or len(bias) != 3
            or not all(isinstance(b, int | float) for b in bias)
            or not isinstance(version, str)
        ):
            raise ValueError(f"{path}: a {MODEL_FORMAT} file without its bias or version")
        metrics = payload.get("metrics", {})
        temperature = payload.get("temperature", 1.0)
        if not isinstance(temperature, int | float) or not temperature > 0:
            raise ValueError(f"{path}: temperature must be a positive number")
        offsets = payload.get("offsets", [0.0, 0.0, 0.0])
        if (
            not isinstance(offsets, list)
            or len(offsets) != 3
            or not all(isinstance(b, int | float) for b in offsets)
        ):
            raise ValueError(f"{path}: offsets must be three numbers")
        return cls(
            weights=PackedWeights.from_columns(model.names, model.weights),
            bias=(float(bias[0]), float(bias[1]), float(bias[2])),
            version=version,
            metrics=metrics if isinstance(metrics, dict) else {},
            temperature=float(temperature),
            offsets=(float(offsets[0]), float(offsets[1]), float(offsets[2])),
        )


def _softmax(z0: float, z1: float, z2: float) -> Probs:
    top = max(z0, z1, z2)
    e0, e1, e2 = math.exp(z0 - top), math.exp(z1 - top), math.exp(z2 - top)
    total = e0 + e1 + e2
    return Probs(e0 / total, e1 / total, e2 / total)


@dataclass(frozen=True)
class ModelSummary:
    version: str
    metrics: dict[str, float]  # as measured when it was trained (`calibration_prior_*`, F1)


def model_summary(spec: str | None) -> ModelSummary:
    """The version and metrics of the model `load_model(spec)` gives, from its file's header:
    the weights are neither read nor kept, so a process that only shows shares or a digest
    holds no model (reading one took seconds). ValueError, as `load_model`, for a file that
    cannot be read or is no model; the weights themselves are not looked at."""
    if spec == "snownlp":
        return ModelSummary(SnowNLPModel.version, {})
    path = (
        str(resources.files("nlp").joinpath(DEFAULT_MODEL_FILE))
        if spec in (None, "", "default")
        else spec
    )
    try:
        header = read_model_header(path)
    except (OSError, ValueError, EOFError) as err:
        raise ValueError(f"{path}: not a pingfan sentiment model ({err})") from err
    version, metrics = header.get("version"), header.get("metrics")
    if header.get("format") != MODEL_FORMAT or not isinstance(version, str) or metrics is None:
        model = LinearModel.load(path)  # its own words for what is wrong, or fields late
        return ModelSummary(model.version, model.metrics)
    return ModelSummary(version, metrics if isinstance(metrics, dict) else {})


class SnowNLPModel:
    """SnowNLP as shipped (trained on shopping reviews): the baseline to beat. Binary: its
    neutral is the band [neutral_low, neutral_high] of P(positive)."""

    version = "snownlp-0.12.3"

    def __init__(self, neutral_low: float = 0.4, neutral_high: float = 0.6) -> None:
        self.band = (neutral_low, neutral_high)

    def probabilities(self, texts: Sequence[str]) -> list[float]:
        from snownlp import SnowNLP

        return [SnowNLP(text).sentiments if text.strip() else 0.5 for text in texts]

    def predict(self, texts: Sequence[str]) -> list[Probs]:
        return [
            Probs.from_binary(p, *self.band) if text.strip() else EMPTY
            for text, p in zip(texts, self.probabilities(texts), strict=True)
        ]


@cache
def default_model() -> LinearModel:
    return LinearModel.load(str(resources.files("nlp").joinpath(DEFAULT_MODEL_FILE)))


def load_model(
    spec: str | None, *, neutral_low: float = 0.4, neutral_high: float = 0.6
) -> LinearModel | SnowNLPModel:
    """'default' (or None), 'snownlp', or the path of a trained model file. The neutral band
    applies to the binary baseline only: the linear model learns its neutral class."""
    if spec in (None, "", "default"):
        return default_model()
    if spec == "snownlp":
        return SnowNLPModel(neutral_low, neutral_high)
    return LinearModel.load(spec)


# --- training -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    text: str
    label: Label
    weight: float = 1.0


_CLASS_INDEX: dict[str, int] = {label: i for i, label in enumerate(LABELS)}


def train(
    examples: Iterable[Example],
    *,
    version: str,
    epochs: int = 6,
    l2: float = 1e-6,
    learning_rate: float = 0.07,
    seed: int = 13,
) -> LinearModel:
    """Softmax regression by AdaGrad SGD over three classes."""
    return train_rows(
        featurize(examples),
        version=version,
        epochs=epochs,
        l2=l2,
        learning_rate=learning_rate,
        seed=seed,
    )


Row = tuple[dict[str, float], int, float]  # features, class index, weight


def featurize(examples: Iterable[Example]) -> list[Row]:
    """Training rows of the examples with text: computed once, trained on many times."""
    return [(features(e.text), _CLASS_INDEX[e.label], e.weight) for e in examples if e.text.strip()]


def train_rows(
    rows: Sequence[Row],
    *,
    version: str,
    epochs: int = 6,
    l2: float = 1e-6,
    learning_rate: float = 0.07,
    seed: int = 13,
    start: LinearModel | None = None,
    start_square: float = 1.0,
) -> LinearModel:
    """`train` on rows made by `featurize`. With `start`, training continues from that
    model's weights (fine-tuning): their AdaGrad sums begin at `start_square` instead of ~0,
    so the first steps nudge what the start model learned rather than overwrite it."""
    if not rows:
        raise ValueError("no training examples with text")
    present = {target for _, target, _ in rows}
    if start is None and not {_CLASS_INDEX["positive"], _CLASS_INDEX["negative"]} <= present:
        raise ValueError("training needs both positive and negative examples")
    weights: dict[str, list[float]] = {}
    squares: dict[str, list[float]] = {}
    bias = [0.0, 0.0, 0.0]
    bias_square = [1e-8, 1e-8, 1e-8]
    if start is not None:
        weights = {name: list(w) for name, w in start.weights.items()}
        squares = {name: [start_square] * 3 for name in weights}
        bias = list(start.bias)
        bias_square = [start_square] * 3
    rng = random.Random(seed)
    order = list(range(len(rows)))
    for _ in range(epochs):
        rng.shuffle(order)
        for index in order:
            feats, target, weight = rows[index]
            z = bias[:]
            for name, value in feats.items():
                w = weights.get(name)
                if w is not None:
                    z[0] += w[0] * value
                    z[1] += w[1] * value
                    z[2] += w[2] * value
            probs = _softmax(*z)
            gradients = [(probs[k] - (k == target)) * weight for k in range(3)]
            for k in range(3):
                bias_square[k] += gradients[k] * gradients[k]
                bias[k] -= learning_rate * gradients[k] / math.sqrt(bias_square[k])
            for name, value in feats.items():
                w = weights.get(name)
                if w is None:
                    w = weights[name] = [0.0, 0.0, 0.0]
                    squares[name] = [1e-8, 1e-8, 1e-8]
                sq = squares[name]
                for k in range(3):
                    g = gradients[k] * value + l2 * w[k]
                    sq[k] += g * g
                    w[k] -= learning_rate * g / math.sqrt(sq[k])
    return LinearModel(
        weights=PackedWeights(weights),
        bias=(bias[0], bias[1], bias[2]),
        version=version,
    )


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
