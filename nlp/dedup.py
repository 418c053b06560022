"""Near-duplicate text: SimHash fingerprints, grouping, and suspected coordination.

Reposts and copy-paste comments collapse into groups. Several accounts posting near-identical
text within minutes is flagged as *suspected* coordination: a lead for a person to look at,
never a verdict.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from nlp.text import EMOTICON, normalize

BITS = 64
_BANDS = 4  # distance <= 3 means at least one of four 16-bit bands is identical
_BAND_BITS = BITS // _BANDS
MIN_CHARS = 8  # shorter texts (加油, [赞][赞]) are the same by nature, not by copying


_NOT_WORD = re.compile(r"[^\w]+")


# One byte per bit of a 64-bit digest: summed over up to 255 shingles, each byte of the sum
# counts how many of them have that bit set (64 counters in one integer addition).
_ONE_BYTE_A_BIT = bytes.maketrans(b"01", b"\x00\x01")
_BYTE_FIELD = 255


@lru_cache(maxsize=1 << 16)
def simhash(text: str) -> int:
    """64-bit SimHash over character 3-grams of the normalised text; emoticons and
    punctuation dropped, so `看看吧` and `看看吧！` are the same text. A bit is set where more
    than half of the shingles' digests have it. Memoised: a daemon looks at the same recent
    comments on every rule run."""
    clean = _NOT_WORD.sub("", EMOTICON.sub("", normalize(text)))
    shingles = [clean[i : i + 3] for i in range(max(len(clean) - 2, 1))] if clean else []
    if not shingles:
        return 0
    many = len(shingles)
    if many <= _BYTE_FIELD:
        return int(_set_bits(shingles).to_bytes(BITS).translate(_majority(many)), 2)
    chunks = [
        _set_bits(shingles[start : start + _BYTE_FIELD]).to_bytes(BITS)
        for start in range(0, many, _BYTE_FIELD)
    ]
    return int("".join("1" if 2 * sum(c) > many else "0" for c in zip(*chunks, strict=True)), 2)


def _set_bits(shingles: list[str]) -> int:
    """For up to 255 shingles: byte i (from the left) counts those whose digest has bit
    BITS - 1 - i set."""
    return sum(
        int.from_bytes(format(digest, "064b").encode().translate(_ONE_BYTE_A_BIT))
        for digest in map(_digest, shingles)
    )


@lru_cache(maxsize=_BYTE_FIELD + 1)
def _majority(many: int) -> bytes:
    """A translation of counts of set bits among `many` shingles to "1" where more than half
    of them have it, else "0"."""
    return bytes(ord("1") if 2 * count > many else ord("0") for count in range(256))


def _digest(shingle: str) -> int:
    return int.from_bytes(hashlib.blake2b(shingle.encode(), digest_size=8).digest())


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def near_duplicate_groups(
    items: Iterable[tuple[str, str]], max_distance: int = 3, min_chars: int = MIN_CHARS
) -> list[list[str]]:
    """Groups (of 2+ ids) whose texts are within `max_distance` bits of each other.

    `items` are (id, text). Banding finds candidates without comparing every pair; the
    groups are the connected components of "near" pairs, each sorted, largest first.
    """
    if max_distance >= _BANDS:
        raise ValueError(f"max_distance must be below {_BANDS} for banded search")
    ids: list[str] = []
    prints: list[int] = []
    for item_id, text in items:
        if len(normalize(text).replace(" ", "")) >= min_chars:
            ids.append(item_id)
            prints.append(simhash(text))
    parent = list(range(len(ids)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    buckets: dict[tuple[int, int], list[int]] = defaultdict(list)
    first_with: dict[int, int] = {}
    mask = (1 << _BAND_BITS) - 1
    for index, fingerprint in enumerate(prints):
        if fingerprint in first_with:  # exact copies join directly, buckets stay small
            parent[find(index)] = find(first_with[fingerprint])
            continue
        first_with[fingerprint] = index
        for band in range(_BANDS):
            key = (band, fingerprint >> (band * _BAND_BITS) & mask)
            for other in buckets[key]:
                if (
                    find(other) != find(index)
                    and hamming(prints[other], fingerprint) <= max_distance
                ):
                    parent[find(index)] = find(other)
            buckets[key].append(index)
    groups: dict[int, list[str]] = defaultdict(list)
    for index, item_id in enumerate(ids):
        groups[find(index)].append(item_id)
    found = [sorted(g) for g in groups.values() if len(g) > 1]
    return sorted(found, key=lambda g: (-len(g), g[0]))


@dataclass(frozen=True)
class Message:
    id: str
    author_id: str
    text: str
    created_at: datetime


@dataclass(frozen=True)
class CoordinationSuspect:
    ids: tuple[str, ...]
    authors: tuple[str, ...]
    first_at: datetime
    last_at: datetime
    sample: str


def suspected_coordination(
    messages: Sequence[Message],
    *,
    window: timedelta = timedelta(minutes=10),
    min_accounts: int = 3,
    max_distance: int = 3,
) -> list[CoordinationSuspect]:
    """Near-identical text from `min_accounts`+ distinct accounts inside one `window`."""
    by_id = {m.id: m for m in messages}
    suspects = []
    for group in near_duplicate_groups(((m.id, m.text) for m in messages), max_distance):
        ordered = sorted((by_id[i] for i in group), key=lambda m: m.created_at)
        start = 0
        best: list[Message] = []
        for end in range(len(ordered)):  # sliding window over time
            while ordered[end].created_at - ordered[start].created_at > window:
                start += 1
            burst = ordered[start : end + 1]
            if len({m.author_id for m in burst}) > len({m.author_id for m in best}):
                best = burst
        if len({m.author_id for m in best}) >= min_accounts:
            suspects.append(
                CoordinationSuspect(
                    ids=tuple(m.id for m in best),
                    authors=tuple(sorted({m.author_id for m in best})),
                    first_at=best[0].created_at,
                    last_at=best[-1].created_at,
                    sample=best[0].text,
                )
            )
    return sorted(suspects, key=lambda s: (-len(s.authors), s.first_at))
