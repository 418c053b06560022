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


class IdfTable:
    """Word → IDF, read-only, and the median IDF (the weight of a word the table lacks)."""

    def __init__(self, trie: marisa_trie.Trie, weights: array[float], median: float) -> None:
        self._trie = trie
        self._weights = weights
        self.median = median

    def get(self, word: str, default: float) -> float:
        key_id = self._trie.get(word)
        return default if key_id is None else self._weights[key_id]

    def __len__(self) -> int:
        return len(self._trie)


@dataclass(frozen=True)
class PackedTables:
    """Both tables as bytes: built by `pack_tables()` in any process (building holds the GIL
    for about half a second, and its scratch memory stays with the process that built it),
    handed to `install()` in the one that cuts text, which only copies them in."""

    words: bytes  # the dictionary's trie
    counts: bytes  # array("I") by key id
    total: int
    longest: int
    idf_words: bytes
    idf_weights: bytes  # array("d") by key id
    idf_median: float


def pack_tables() -> PackedTables:
    """Read jieba's dict.txt and analyse/idf.txt into tries (about 0.6 s)."""
    jieba_files = resources.files("jieba")
    source = jieba_files.joinpath("dict.txt")
    trie = marisa_trie.Trie(word for word, _ in _entries(source))
    counts = array("I", bytes(4 * len(trie)))
    total = longest = 0
    for word, value in _entries(source):
        count = int(value)
        counts[trie.key_id(word)] = count
        total += count
        longest = max(longest, len(word))
    # jieba.analyse would load its part-of-speech tables too: its IDF file is read directly.
    source = jieba_files.joinpath("analyse/idf.txt")
    idf_trie = marisa_trie.Trie(word for word, _ in _entries(source))
    weights = array("d", bytes(8 * len(idf_trie)))
    for word, value in _entries(source):
        weights[idf_trie.key_id(word)] = float(value)
    median = sorted(weights)[len(weights) // 2] if len(weights) else 0.0
    return PackedTables(
        trie.tobytes(), counts.tobytes(), total, longest,
        idf_trie.tobytes(), weights.tobytes(), median,
    )  # fmt: skip


_lock = threading.RLock()
_dictionary_built: _Dictionary | None = None
_idf_built: IdfTable | None = None


def install(tables: PackedTables) -> None:
    """Use these tables in this process (no-op if it already has them)."""
    global _dictionary_built, _idf_built
    with _lock:
        if _dictionary_built is not None:
            return
        counts, weights = array("I"), array("d")
        counts.frombytes(tables.counts)
        weights.frombytes(tables.idf_weights)
        _dictionary_built = _Dictionary(
            marisa_trie.Trie().frombytes(tables.words), counts, tables.total, tables.longest
        )
        _idf_built = IdfTable(
            marisa_trie.Trie().frombytes(tables.idf_words), weights, tables.idf_median
        )


def installed() -> bool:
    return _dictionary_built is not None


def _built() -> tuple[_Dictionary, IdfTable]:
    """jieba's dictionary and IDF table; built here, by whichever thread asks first, if
    not installed."""
    with _lock:
        if _dictionary_built is None or _idf_built is None:
            install(pack_tables())
    assert _dictionary_built is not None and _idf_built is not None
    return _dictionary_built, _idf_built


def _dictionary() -> _Dictionary:
    return _built()[0]


def idf_table() -> IdfTable:
    return _built()[1]


def _entries(source: Traversable) -> Iterator[tuple[str, str]]:
    """(word, number) per line of a jieba table, read as a stream: no list of the lines."""
    with source.open("r", encoding="utf-8") as lines:
        for line in lines:
            word, _, rest = line.strip().partition(" ")
            number = rest.partition(" ")[0]
            if word and number:
                yield word, number
