"""Search tokens for the store's full-text index in its jieba shape, handed to the store.

The store (monitor/store/) imports nothing from nlp/: whoever opens it passes
`jieba_search_tokens`, and the store calls it with the lexicon the index is built with.
The tokenizer is jieba's on a dictionary of its own (the built-in campaign words plus the
configured lexicon), never the process-wide one that scoring extends as it goes, so the
index and its searches never change under the store's feet.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from functools import lru_cache

from nlp.dictionary import CompactTokenizer, jieba
from nlp.segment import CAMPAIGN_LEXICON, campaign_tokenizer
from nlp.text import normalize

_WORDISH = re.compile(r"[\w\u4e00-\u9fff\[\]]")


class JiebaSearchTokens:
    """Search tokens of `lexicon` plus the campaign words: normalised text, sub-words of
    long words too, punctuation dropped. `fingerprint` names the tokenizer and its words (a
    change rebuilds the index)."""

    def __init__(self, lexicon: Iterable[str] = ()) -> None:
        self.lexicon: tuple[str, ...] = tuple(sorted({w.strip() for w in lexicon if w.strip()}))
        described = json.dumps(
            ["jieba", jieba.__version__, CAMPAIGN_LEXICON, self.lexicon], ensure_ascii=False
        )
        self.fingerprint = hashlib.sha256(described.encode()).hexdigest()[:16]

    def __call__(self, text: str) -> list[str]:
        cut = _jieba_tokenizer(self.lexicon).cut_for_search
        return [w for w in cut(normalize(text)) if _WORDISH.search(w)]


def jieba_search_tokens(lexicon: Iterable[str]) -> JiebaSearchTokens:
    """The default `search_tokens` for `Store.open`: jieba tokens of `lexicon`."""
    return JiebaSearchTokens(lexicon)


@lru_cache(maxsize=2)  # on the shared compact dictionary: small each
def _jieba_tokenizer(lexicon: tuple[str, ...]) -> CompactTokenizer:
    return campaign_tokenizer(lexicon)
