"""Posts and comments on PostgreSQL: the same writes as content.py, and search through
pg_trgm's GIN index on `text` instead of FTS5 tables.

The server keeps that index itself: nothing is queued or rebuilt, and jieba's index shape is
SQLite only. A query finds what SQLite's trigram index finds: every word a case-insensitive
substring of the text (the GIN index serves a word of three characters or more; a shorter
one scans, as it does on SQLite).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from monitor.errors import StoreError
from monitor.models import to_utc_iso, utc_now
from monitor.store.content import (
    _INDEXED,
    _SHORTEST_TRIGRAM_QUERY,
    ContentQueries,
    SearchHit,
    SearchTokensFactory,
    TextMatch,
    _escape_like,
    _hit,
)
from monitor.store.housekeeping import purge_on_server


class PostgresContentQueries(ContentQueries):
    def search(self, query: str, *, kind: str = "posts", limit: int = 20) -> list[SearchHit]:
        """Posts or comments whose text holds every word of `query` (split on spaces); most
        similar text first (pg_trgm's similarity, where SQLite ranks by bm25), newest first
        among equals and when every word is shorter than three characters (as on SQLite)."""
        if kind not in _INDEXED:
            raise ValueError("kind must be 'posts' or 'comments'")
        words = list(dict.fromkeys(query.split()))
        if not words:
            return []
        like = " AND ".join("t.text ILIKE ? ESCAPE '\\'" for _ in words)
        patterns = ["%" + _escape_like(w) + "%" for w in words]
        if any(len(w) >= _SHORTEST_TRIGRAM_QUERY for w in words):
            order = "similarity(t.text, ?) DESC, t.created_at DESC, t.pk DESC"
            params: list[Any] = [*patterns, " ".join(words), limit]
        else:
            order = "t.created_at DESC, t.pk DESC"
            params = [*patterns, limit]
        sql = (
            f"SELECT t.platform, t.id, t.text, t.created_at FROM {kind} t WHERE {like}"
            f" ORDER BY {order} LIMIT ?"
        )
        return [_hit(kind, row) for row in self.sql.named(sql, params)]

    def text_match(self, query: str) -> TextMatch | None:
        """Every word of `query` as a pattern the text must hold (the console matches them
        without regard to case, through the trigram index, as `search` does); None when it
        has no word."""
        words = list(dict.fromkeys(query.split()))
        if not words:
            return None
        return TextMatch(None, tuple("%" + _escape_like(w) + "%" for w in words))

    def purge_expired_comments(self, retention_days: int, now: datetime | None = None) -> int:
        """As on SQLite: comments older than the retention limit (0 keeps all) and the team
        labels that copied their words, in batches; returns how many comments went."""
        if retention_days <= 0:
            return 0
        cutoff = to_utc_iso((now or utc_now()) - timedelta(days=retention_days))
        return purge_on_server(self.sql, cutoff)

    def reindex(self) -> int:
        """Nothing to rebuild (the server keeps the index); returns the rows it covers."""
        return sum(
            self.sql.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in _INDEXED
        )

    def open_index(
        self,
        tokenizer: str | None,
        lexicon: Iterable[str] | None,
        search_tokens: SearchTokensFactory | None,
    ) -> None:
        """Only the trigram shape exists here."""
        if tokenizer not in (None, "trigram"):
            raise StoreError(
                f"database {self.path}: PostgreSQL searches with pg_trgm's trigram index; "
                'set [storage] fts_tokenizer = "trigram" (jieba is SQLite only)'
            )
        self._fts_tokenizer, self._jieba = "trigram", None

    def _index_pending(self, table: str) -> None:
        """The server indexes each row as it is written."""
