"""jieba segmentation with the campaign lexicon, initialised once per process.

The tokenizer is jieba's, on jieba's dictionary held in a compact trie (nlp/dictionary.py):
the same words for about a twentieth of the memory."""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterable
from functools import cache
from importlib import resources

from nlp.dictionary import CompactTokenizer, idf_table
from nlp.text import EMOTICON, normalize

# Words that must stay whole whatever the general dictionary says.
CAMPAIGN_LEXICON: tuple[str, ...] = (
    "平凡大连人",
    "不平凡的城市",
    "平凡的人",
    "大连人",
    "网信办",
    "星海广场",
    "棒棰岛",
    "老虎滩",
    "金石滩",
    "东港",
    "环卫工人",
    "环卫工",
    "公交司机",
    "出租车司机",
    "快递小哥",
    "外卖小哥",
    "志愿者",
    "大国重器",
    "消防员",
    "交警",
    "小吃街",
    "抖音",
    "微博",
)

LEXICON_FREQ = 200_000  # high enough that jieba never splits a lexicon word
_lock = threading.Lock()
_tokenizer: CompactTokenizer | None = None
_extra_words: set[str] = set()
_WORDISH = re.compile(r"[\w\u4e00-\u9fff\[\]]")


def tokenizer(lexicon: Iterable[str] = ()) -> CompactTokenizer:
    """The process-wide jieba tokenizer; words in `lexicon` are added (once each)."""
    global _tokenizer
    with _lock:
        if _tokenizer is None:
            _tokenizer = campaign_tokenizer()
        for word in lexicon:
            if word and word not in _extra_words:
                _tokenizer.add_word(word, freq=LEXICON_FREQ)
                _extra_words.add(word)
        return _tokenizer


def campaign_tokenizer(lexicon: Iterable[str] = ()) -> CompactTokenizer:
    """A new tokenizer of its own with the campaign's words and `lexicon` kept whole."""
    made = CompactTokenizer()
    for word in (*CAMPAIGN_LEXICON, *lexicon):
        made.add_word(word, freq=LEXICON_FREQ)
    return made


def cut(text: str) -> list[str]:
    """Words of normalised text; emoticons like [哈哈] stay one token; punctuation dropped."""
    words: list[str] = []
    position = 0
    for match in EMOTICON.finditer(text):
        words.extend(_cut_plain(text[position : match.start()]))
        words.append(match.group(0))
        position = match.end()
    words.extend(_cut_plain(text[position:]))
    return words


def search_tokens(text: str) -> list[str]:
    """Tokens for the full-text index: normalised, with the sub-words of long words too."""
    clean = normalize(text)
    return [w for w in tokenizer().cut_for_search(clean) if _WORDISH.search(w)]


def keywords(texts: Iterable[str], top_k: int = 10) -> list[tuple[str, float]]:
    """What a thread is about: TF-IDF over the words of all `texts` (jieba's IDF table),
    stop words, emoticons, numbers and single characters left out."""
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(
            w
            for w in cut(normalize(text))
            if len(w) > 1 and not w.isdigit() and not EMOTICON.fullmatch(w)
        )
    stop = _stopwords()
    idf = idf_table()
    total = sum(counts.values()) or 1
    scored = [
        (word, count / total * idf.get(word, idf.median))
        for word, count in counts.items()
        if word not in stop
    ]
    scored.sort(key=lambda item: (-item[1], item[0]))
    return scored[:top_k]


def warm_up(lexicon: Iterable[str] = ()) -> None:
    """Load jieba's dictionary and IDF table now (about a second), so that the first
    keyword extraction of a long-running process does not pay for it."""
    tokenizer(lexicon)
    idf_table()
    _stopwords()


def _cut_plain(text: str) -> list[str]:
    if not text.strip():
        return []
    return [w for w in tokenizer().lcut(text) if _WORDISH.search(w)]


@cache
def _stopwords() -> frozenset[str]:
    source = resources.files("nlp").joinpath("data/stopwords.txt")
    return frozenset(
        line.strip()
        for line in source.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    )
