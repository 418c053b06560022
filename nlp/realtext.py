"""Real social-media text for training: LCCC Weibo comment threads with weak labels.

No labelled three-class Weibo corpus with a licence that allows shipping a model trained on it
was found (see `nlp/data/README.md`). The real text that is licensed is the sample of LCCC
(Large-scale Cleaned Chinese Conversation corpus, Weibo comment threads, MIT licence) in
thu-coai/CDial-GPT. Its utterances carry no sentiment labels, so `weak_label` gives them one
from the shipped lexicon: a clear lean one way is positive or negative, no sentiment cue at
all is neutral, anything mixed or faint is left out. These are weak labels: a model measured
on held-out weak labels is measured on agreement with the labelling rule, not with people.

`lccc_examples` reads the shipped file (`data/lccc_weak.jsonl.gz`, made by
`python -m monitor.nlp_realdata`), whose lines carry a fixed split: train, dev, test.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterable, Iterator
from importlib import resources
from typing import Literal

from nlp.sentiment import Example, Label, _lexicon_sums, emoji_table, shipped_lexicon
from nlp.text import EMOTICON, normalize

Split = Literal["train", "dev", "test"]
SPLITS: tuple[Split, ...] = ("train", "dev", "test")
LCCC_FILE = "data/lccc_weak.jsonl.gz"
REREAD_FILE = "data/lccc_reread.jsonl"
HUMAN_FILE = "data/lccc_human.jsonl"

# How clear a lean must be: the lexicon sum of one side, with nothing on the other side.
POLAR_MIN = 1.0
# Cues of feeling that the lexicon may miss; a text with one is never weakly neutral.
_FEELING = re.compile(
    r"[!！]|哈哈|呵呵|嘻嘻|嘿嘿|啊啊|呜|哭|爱|恨|滚|讨厌|喜欢|可爱|美|帅|棒|烦|累|气"
)
_CJK_SPACE = re.compile(r"(?<=[^\x00-\x7f]) +| +(?=[^\x00-\x7f])")


def despace(text: str) -> str:
    """LCCC separates every character by a space; join them again (Latin words keep theirs)."""
    return _CJK_SPACE.sub("", text.strip())


def weak_label(text: str) -> Label | None:
    """Positive / negative for a clear lexicon lean, neutral for no sentiment cue at all,
    None for mixed, faint or empty text (left out of training)."""
    clean = normalize(text).translate(emoji_table())
    if len(clean) < 2:
        return None
    lex = shipped_lexicon()
    positive, negative = _lexicon_sums(clean, lex)
    for token in EMOTICON.findall(clean):
        weight = lex.weights.get(token, 0.0)
        positive += max(weight, 0.0)
        negative += max(-weight, 0.0)
    if positive >= POLAR_MIN and not negative:
        return "positive"
    if negative >= POLAR_MIN and not positive:
        return "negative"
    if not positive and not negative and not _FEELING.search(clean):
        return "neutral"
    return None


def weak_examples(texts: Iterable[str]) -> Iterator[tuple[str, Label]]:
    """Distinct texts with a weak label, in order."""
    seen: set[str] = set()
    for text in texts:
        if text in seen:
            continue
        seen.add(text)
        label = weak_label(text)
        if label is not None:
            yield text, label


def lccc_examples(split: Split, *, weight: float = 1.0) -> list[Example]:
    """The shipped weakly labelled LCCC utterances of one split."""
    return _labelled(LCCC_FILE, split, weight)


def human_examples(split: Split, *, weight: float = 1.0) -> list[Example]:
    """LCCC utterances labelled by reading them (`data/lccc_human.jsonl`, see the README):
    train (3,240), dev (640: settings and calibration), test (800: measurement only)."""
    return _labelled(HUMAN_FILE, split, weight)


def reread_examples() -> list[Example]:
    """200 dev utterances labelled a second time, by reading them again without looking at
    the first labels (`data/lccc_reread.jsonl`): how far the labels agree with themselves,
    the ceiling any model's figure on them is read against."""
    return _labelled(REREAD_FILE, "dev", 1.0)


def _labelled(name: str, split: Split, weight: float) -> list[Example]:
    """The examples of one split in a shipped JSON-lines file (gzipped when it ends in .gz)."""
    source = resources.files("nlp").joinpath(name)
    with source.open("rb") as raw:
        data = gzip.decompress(raw.read()) if name.endswith(".gz") else raw.read()
    records = [json.loads(line) for line in data.decode("utf-8").split("\n") if line.strip()]
    return [Example(r["text"], r["label"], weight) for r in records if r["split"] == split]
