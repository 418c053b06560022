"""jieba's word-frequency and IDF tables in compact tries, for long-running processes.

Stock jieba keeps its dictionary as a Python dict of every word and every word prefix
(498,113 entries, about 62 MB), and its IDF table as another dict (about 48 MB): more than
half of the daemon's memory, for keywords it extracts a few times an hour. Here each table is
a MARISA trie (about 1.3 MB for the 349,045 words) with the numbers in a flat array indexed by
the trie's key id. `CompactTokenizer` is a `jieba.Tokenizer` whose `FREQ` answers the same
questions as jieba's dict (a prefix is "in" it with frequency 0), so jieba's own cutting code
runs unchanged and gives the same words (tests/test_dictionary.py compares them); only the
DAG, the hot loop, asks the trie for all word prefixes at once.
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

import marisa_trie

from nlp.lean_import import without

with without("pkg_resources"):  # jieba then finds its files with open(): ~6 MB less
    import jieba


class _FrequencyTable:
    """The slice of `dict` jieba uses on `Tokenizer.FREQ`: `in`, `[]`, `.get`, `[]=`.

    Words from jieba's dictionary live in the trie; words added later (`add_word`, and their
    prefixes, as jieba stores them) in a small dict that takes precedence, so `del_word`
    (frequency 0) hides a dictionary word as it does in jieba."""

    def __init__(self, words: _Dictionary) -> None:
        self.trie = words.trie
        self.counts = words.counts
        self.longest = words.longest
        self.added: dict[str, int] = {}
        self.added_lengths: set[int] = set()

    def __contains__(self, fragment: object) -> bool:
        if not isinstance(fragment, str):
            return False
        return fragment in self.added or self._starts_a_word(fragment)

    def get(self, fragment: str, default: int | None = None) -> int | None:
        if fragment in self.added:
            return self.added[fragment]
        key_id = self.trie.get(fragment)
        if key_id is not None:
            return self.counts[key_id]
        if self._starts_a_word(fragment):
            return 0
        return default

    def __getitem__(self, fragment: str) -> int:
        found = self.get(fragment)
        if found is None:
            raise KeyError(fragment)
        return found

    def __setitem__(self, fragment: str, count: int) -> None:
        self.added[fragment] = count
        if count:
            self.added_lengths.add(len(fragment))

    def __len__(self) -> int:
        return len(self.trie) + len(self.added)

    def _starts_a_word(self, fragment: str) -> bool:
        return bool(fragment) and next(self.trie.iterkeys(fragment), None) is not None

    def word_ends(self, sentence: str, start: int) -> list[int]:
        """End indexes (inclusive) of the words that begin at `start`, as jieba's DAG lists
        them: every dictionary or added word with a frequency above 0, in order."""
        ends = set()
        for word in self.trie.prefixes(sentence[start : start + self.longest]):
            if self.added.get(word, 1):
                ends.add(start + len(word) - 1)
        for length in self.added_lengths:
            piece = sentence[start : start + length]
            if len(piece) == length and self.added.get(piece):
                ends.add(start + length - 1)
        return sorted(ends) or [start]


class CompactTokenizer(jieba.Tokenizer):
    """A jieba tokenizer on the shared compact dictionary: cut, cut_for_search, add_word and
    del_word behave as jieba's; each instance has its own added words."""

    def __init__(self) -> None:
        super().__init__()
        words = _dictionary()
        self.FREQ = _FrequencyTable(words)
        self.total = words.total
        self.initialized = True

    def initialize(self, dictionary: str | None = None) -> None:
        if dictionary:
            raise ValueError("CompactTokenizer always uses jieba's own dictionary")

    def get_DAG(self, sentence: str) -> dict[int, list[int]]:
        table: _FrequencyTable = self.FREQ
        return {start: table.word_ends(sentence, start) for start in range(len(sentence))}


@dataclass(frozen=True)
class _Dictionary:
    trie: marisa_trie.Trie  # jieba's words
    counts: array[int]  # frequency by the trie's key id
    total: int  # sum of the frequencies
    longest: int  # characters in the longest word


_build_lock = threading.Lock()
_built: _Dictionary | None = None


def _dictionary() -> _Dictionary:
    """jieba's dict.txt, built once per process (about 0.6 s) by whichever thread asks first."""
    global _built
    with _build_lock:
        if _built is None:
            source = resources.files("jieba").joinpath("dict.txt")
            trie = marisa_trie.Trie(word for word, _ in _entries(source))
            counts = array("I", bytes(4 * len(trie)))
            total = longest = 0
            for word, value in _entries(source):
                count = int(value)
                counts[trie.key_id(word)] = count
                total += count
                longest = max(longest, len(word))
            _built = _Dictionary(trie, counts, total, longest)
        return _built


@cache
def idf_table() -> tuple[IdfTable, float]:
    """jieba's IDF table (from its file: importing `jieba.analyse` would load its part-of-
    speech tables too) and the median IDF, the weight of a word the table lacks."""
    source = resources.files("jieba").joinpath("analyse/idf.txt")
    trie = marisa_trie.Trie(word for word, _ in _entries(source))
    weights = array("d", bytes(8 * len(trie)))
    for word, value in _entries(source):
        weights[trie.key_id(word)] = float(value)
    median = sorted(weights)[len(weights) // 2] if len(weights) else 0.0
    return IdfTable(trie, weights), median


class IdfTable:
    """Word → IDF, read-only."""

    def __init__(self, trie: marisa_trie.Trie, weights: array[float]) -> None:
        self._trie = trie
        self._weights = weights

    def get(self, word: str, default: float) -> float:
        key_id = self._trie.get(word)
        return default if key_id is None else self._weights[key_id]

    def __len__(self) -> int:
        return len(self._trie)


def _entries(source: Traversable) -> Iterator[tuple[str, str]]:
    """(word, number) per line of a jieba table, read as a stream: no list of the lines."""
    with source.open("r", encoding="utf-8") as lines:
        for line in lines:
            word, _, rest = line.strip().partition(" ")
            number = rest.partition(" ")[0]
            if word and number:
                yield word, number
