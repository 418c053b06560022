"""Which comments teach the model most: uncertain ones that are unlike each other.

Asking only about the most uncertain comments wastes the team's time: the top of that list
is often one thread's copy-pasted joke, or twenty questions in the same words, and a label on
the fifth of them teaches little the first did not. `choose` trades the two off with a greedy
weighted k-center: every candidate has an uncertainty (`margin_uncertainty`: 1 minus the gap
between its two most probable classes) and a distance to the nearest text already chosen or
already labelled (cosine distance of hashed character n-grams, `sketch`); each step takes the
candidate with the largest product, so a slightly less uncertain comment unlike everything
asked so far beats a near copy of one already asked.

Pure functions; the CLI (`pingfan nlp label`), the bot's `/label` and the learning curve in
`make bench` call them.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence

from nlp.sentiment import Probs
from nlp.text import EMOTICON, normalize

SKETCH_BUCKETS = 1 << 14  # hashed n-gram buckets: collisions are rare for short comments
# Below this cosine distance two texts count as the same question ("+1 太美了" / "太美了！").
SAME_TEXT_DISTANCE = 0.15

Sketch = dict[int, float]


def margin_uncertainty(probs: Probs) -> float:
    """1 - (top probability - second): 1 when the two likeliest classes tie, 0 when sure."""
    first, second, _ = sorted(probs, reverse=True)
    return 1.0 - (first - second)


def sketch(text: str) -> Sketch:
    """The text's character unigrams and bigrams (emoticons as one token each), hashed into
    SKETCH_BUCKETS and scaled to unit length."""
    clean = normalize(text)
    grams = EMOTICON.findall(clean)
    plain = "".join(ch for ch in EMOTICON.sub(" ", clean) if not ch.isspace())
    grams += list(plain)
    grams += [plain[i : i + 2] for i in range(len(plain) - 1)]
    counts: Sketch = {}
    for gram in grams:
        bucket = zlib.crc32(gram.encode("utf-8")) % SKETCH_BUCKETS
        counts[bucket] = counts.get(bucket, 0.0) + 1.0
    norm = math.sqrt(sum(v * v for v in counts.values()))
    return {k: v / norm for k, v in counts.items()} if norm else {}


def distance(a: Sketch, b: Sketch) -> float:
    """Cosine distance of two sketches, 0 (same n-grams) .. 1 (none shared)."""
    if len(a) > len(b):
        a, b = b, a
    return 1.0 - sum(v * b.get(k, 0.0) for k, v in a.items())


def choose(
    texts: Sequence[str],
    probs: Sequence[Probs],
    k: int,
    *,
    known: Sequence[str] = (),
) -> list[int]:
    """Indexes of up to `k` of `texts` to ask about, in the order to ask: greedy weighted
    k-center over uncertainty × distance to the nearest text chosen or `known` (labelled
    before). A candidate within SAME_TEXT_DISTANCE of one chosen or known is never taken;
    empty texts neither."""
    sketches = [sketch(text) for text in texts]
    uncertainty = [margin_uncertainty(p) for p in probs]
    nearest = [1.0] * len(texts)
    known_sketches = [s for s in map(sketch, known) if s]
    for i, s in enumerate(sketches):
        for other in known_sketches:
            nearest[i] = min(nearest[i], distance(s, other))
    chosen: list[int] = []
    open_ = {i for i, s in enumerate(sketches) if s and nearest[i] >= SAME_TEXT_DISTANCE}
    while len(chosen) < k and open_:
        best = max(open_, key=lambda i: (uncertainty[i] * nearest[i], -i))
        chosen.append(best)
        open_.discard(best)
        for i in list(open_):
            nearest[i] = min(nearest[i], distance(sketches[i], sketches[best]))
            if nearest[i] < SAME_TEXT_DISTANCE:
                open_.discard(i)
    return chosen
