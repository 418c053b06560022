"""Posts and comments with their cursors, sentiment and UGC scores, full-text search.

Records arrive already parsed (frozen models); the store neither parses nor normalises.
Every `save_*` call is one transaction of set-based statements (`executemany`, no Python round
trip per row), and a cursor passed with it commits in that same transaction, so a crash can
never leave a cursor ahead of the rows it covers.

Full-text index: `posts_fts` and `comments_fts`, FTS5 tables whose rowid is the row's `pk`, in
the shape of one of two tokenizers, recorded in `meta`:

- `trigram` (the default): SQLite's own trigram tokenizer over the raw text, so indexing is
  done inside SQLite. Search is substring search; a query word of one or two characters is a
  `LIKE '%word%'` scan of the table instead.
- `jieba`: jieba search tokens computed in Python by the tokenizer handed in when the store is
  opened (`SearchTokens`; nlp/search_tokens.py makes it from the built-in campaign words plus
  the configured lexicon, never the process-wide jieba that scoring extends as it goes).

Triggers keep the index in step, the same in both shapes: a new or edited row is queued in
`<table>_fts_pending`, an edited or deleted one leaves the index at once, and the save that
wrote the rows indexes the queue before it commits (trigram: one INSERT … SELECT; jieba: tokens
from Python). Indexing the queue in one statement is 2 to 3 times faster than an FTS5 insert per
row from a trigger (benchmarks/store_writes.py), and a queue keyed by pk copes with a record
that appears twice in one batch.

On PostgreSQL, pg_trgm's GIN index on `text` serves the same search (content_postgres.py).

The same tokenizer indexes and searches. When the configured one differs from the one that
built the index (or, for jieba, the lexicon changed), opening the store rebuilds the index.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, Literal, Protocol, cast

from sqlite_utils import Database

from monitor.errors import StoreError
from monitor.models import Comment, Cursor, Post, to_utc_iso, utc_now
from monitor.store.backend import Backend
from monitor.store.connection import Queries
from monitor.store.dialect import Dialect
from monitor.store.housekeeping import purge_labels, purge_one_batch

log = logging.getLogger(__name__)

FtsTokenizer = Literal["trigram", "jieba"]
FTS_TOKENIZERS: tuple[FtsTokenizer, ...] = ("trigram", "jieba")
DEFAULT_FTS_TOKENIZER: FtsTokenizer = "trigram"  # faster, and finds what jieba finds: fts.py
_INDEXED = ("posts", "comments")  # the tables whose `text` is searchable
_SHORTEST_TRIGRAM_QUERY = 3  # shorter words cannot use a trigram index: LIKE instead
_JIEBA_CHUNK = 2000  # rows tokenized per round while rebuilding a jieba index
_COUNTS = ("plays", "likes", "comments", "shares", "reposts")
# The transaction-level advisory lock comment writers take on PostgreSQL (a key of its own,
# beside the migrations' (postgres.py) and the outbox's (outbox.py)).
_COMMENT_WRITES_LOCK = 7_204_519_341


# Latest counts are kept when a newer reading lacks them (None = not given, not zero), unless
# the platform said it no longer reports them: then they are unknown (the metric points keep
# the last readings). One text per dialect (dialect.py), made once.
@lru_cache(maxsize=2)
def _post_upsert(d: Dialect) -> str:
    def count(name: str) -> str:
        return (
            f"{name} = CASE WHEN excluded.counts_no_longer_reported = 0"
            f" THEN coalesce(excluded.{name}, posts.{name}) END"
        )

    counts = ",\n    ".join(count(name) for name in _COUNTS)
    return f"""
INSERT INTO posts (platform, id, author_id, author_name, author_kind, text, created_at, url,
    topics, mentions, is_original, media, plays, likes, comments, shares, reposts,
    counts_are_lower_bounds, counts_no_longer_reported, first_seen, observed_at)
VALUES (:platform, :id, :author_id, :author_name, :author_kind, :text, :created_at, :url,
    :topics, :mentions, :is_original, :media, :plays, :likes, :comments, :shares, :reposts,
    :counts_are_lower_bounds, :counts_no_longer_reported, :observed_at, :observed_at)
ON CONFLICT (platform, id) DO UPDATE SET
    author_name = excluded.author_name,
    author_kind = excluded.author_kind,
    text = excluded.text,
    url = coalesce(excluded.url, posts.url),
    topics = excluded.topics,
    mentions = excluded.mentions,
    media = coalesce(excluded.media, posts.media),
    {counts},
    counts_are_lower_bounds = excluded.counts_are_lower_bounds,
    counts_no_longer_reported = excluded.counts_no_longer_reported,
    observed_at = {d.greatest("posts.observed_at", "excluded.observed_at")}
"""


# A metric point for a new post, or when a count the reading gives differs from the stored one
# (a count not given is not a move). Runs before the upsert of the same rows.
@lru_cache(maxsize=2)
def _post_point(d: Dialect) -> str:
    given = ", ".join(d.typed(f":{name}", "BIGINT") for name in _COUNTS)
    unmoved = " AND ".join(d.same(name, f"coalesce(:{name}, {name})") for name in _COUNTS)
    return f"""
INSERT INTO post_metrics (platform, post_id, observed_at, plays, likes, comments, shares, reposts)
SELECT :platform, :id, :observed_at, {given}
WHERE NOT EXISTS (
    SELECT 1 FROM posts WHERE platform = :platform AND id = :id AND {unmoved}
)
"""


@lru_cache(maxsize=2)
def _comment_upsert(d: Dialect) -> str:
    return f"""
INSERT INTO comments (platform, id, post_id, parent_id, author_id, text, created_at, likes,
    first_seen, observed_at)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)
ON CONFLICT (platform, id) DO UPDATE SET
    text = excluded.text,
    likes = coalesce(excluded.likes, comments.likes),
    observed_at = {d.greatest("comments.observed_at", "excluded.observed_at")}
"""


@dataclass(frozen=True)
class SearchHit:
    kind: str
    platform: str
    id: str
    text: str
    created_at: str


@dataclass(frozen=True)
class TextMatch:
    """A query as the full-text index reads it: an FTS5 MATCH of its words (None when every
    word is too short for the trigram index) and LIKE patterns the text must hold as well."""

    fts: str | None
    like: tuple[str, ...]


class SearchTokens(Protocol):
    """The jieba-shaped index's tokenizer, handed in by whoever opens the store (the store
    imports nothing from nlp/; nlp/search_tokens.py makes the default)."""

    lexicon: tuple[str, ...]  # the words it was made with, recorded beside the index
    fingerprint: str  # names the tokenizer and its words: a change rebuilds the index

    def __call__(self, text: str) -> list[str]: ...


# Makes the tokenizer for a lexicon: the configured one, or the one that built the index.
SearchTokensFactory = Callable[[Iterable[str]], SearchTokens]


class ContentQueries(Queries):
    def __init__(self, db: Database | Backend, path: str) -> None:
        super().__init__(db, path)
        self._fts_tokenizer: FtsTokenizer = DEFAULT_FTS_TOKENIZER
        self._jieba: SearchTokens | None = None
        # Bumped by every save of posts (listed, or counts refreshed), in this process: a
        # comment run re-plans when it moves.
        self.posts_version = 0

    # -- writes --------------------------------------------------------------------------------

    def save_posts(self, posts: Iterable[Post], cursor: Cursor | None = None) -> int:
        """Upsert posts by (platform, id); append a metric point when a count moved."""
        rows = [_post_row(post) for post in posts]
        dialect = self.sql.dialect
        with self.sql.atomic():
            # A post read twice in one batch: the second reading is compared with the first.
            for readings in _repeats_apart(rows, lambda row: (row["platform"], row["id"])):
                self.sql.executemany(_post_point(dialect), readings)
                self.sql.executemany(_post_upsert(dialect), readings)
            self._index_pending("posts")
            if cursor is not None:
                self._put_cursor(cursor)
        self.posts_version += 1
        return len(rows)

    def save_comments(self, comments: Iterable[Comment], cursor: Cursor | None = None) -> int:
        """Upsert comments by (platform, id); a likes count not given keeps the known one."""
        rows = [comment_columns(c) for c in comments]
        with self.sql.atomic():
            self._take_turns_with_comment_writers()
            self.sql.executemany(_comment_upsert(self.sql.dialect), rows)
            self._index_pending("comments")
            if cursor is not None:
                self._put_cursor(cursor)
        return len(rows)

    def set_comment_scores(
        self,
        scores: Iterable[
            tuple[str, str, float, str, str] | tuple[str, str, float, str, str, float, float]
        ],
    ) -> None:
        """(platform, comment id, P(positive), label, model version[, P(neutral),
        P(negative)]) for scored comments. Without the last two (a two-class model),
        P(negative) is 1 - P(positive) and P(neutral) 0. The model's entropy over the three
        classes is stored beside them, for finding the comments it is least sure about."""
        rows = [(*score_columns(score), score[0], score[1]) for score in scores]
        with self.sql.atomic():
            self._take_turns_with_comment_writers()
            # A label the team gave stays; the model's scores are still recorded beside it.
            self.sql.executemany(
                "UPDATE comments SET sentiment = ?, p_neutral = ?, p_negative = ?, entropy = ?,"
                " label = CASE WHEN model_version = 'team' THEN label ELSE ? END,"
                " model_version = CASE WHEN model_version = 'team' THEN 'team' ELSE ? END"
                " WHERE platform = ? AND id = ?",
                rows,
            )

    def _take_turns_with_comment_writers(self) -> None:
        """On PostgreSQL, wait for other workers' comment writes to commit. Every write of a
        comment adds to its hour's totals (`comment_hours`, p002's trigger), rows that every
        writer shares: one worker storing comments while another scores them, each touching
        the same hours in its own order, would deadlock. The lock is held until the commit."""
        if self.sql.dialect.name == "postgresql":
            self.sql.execute("SELECT pg_advisory_xact_lock(?)", (_COMMENT_WRITES_LOCK,))

    def set_ugc_scores(self, scores: Iterable[tuple[str, str, float]]) -> None:
        """(platform, post id, UGC score)."""
        with self.sql.atomic():
            self.sql.executemany(
                "UPDATE posts SET ugc_score = ? WHERE platform = ? AND id = ?",
                [(score, plat, pid) for plat, pid, score in scores],
            )

    def purge_expired_comments(self, retention_days: int, now: datetime | None = None) -> int:
        """Delete comments older than the retention limit (0 keeps all), their full-text rows
        and the team labels that copied their words; returns how many comments went. In
        batches on this connection (the daemon runs the same batches off its event loop:
        housekeeping.purge_comments)."""
        if retention_days <= 0:
            return 0
        cutoff = to_utc_iso((now or utc_now()) - timedelta(days=retention_days))
        purge_labels(self.db.conn, cutoff)
        total = 0
        while deleted := purge_one_batch(self.db.conn, cutoff):
            total += deleted
        return total

    def cursor(self, source: str, key: str) -> str | None:
        row = self.sql.execute(
            "SELECT value FROM cursors WHERE source = ? AND key = ?", (source, key)
        ).fetchone()
        return row[0] if row else None

    def _put_cursor(self, cursor: Cursor) -> None:
        self.sql.execute(
            "INSERT INTO cursors (source, key, value, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (source, key) DO UPDATE SET value = excluded.value,"
            " updated_at = excluded.updated_at",
            (cursor.source, cursor.key, cursor.value, to_utc_iso(utc_now())),
        )

    # -- full-text search ----------------------------------------------------------------------

    @property
    def fts_tokenizer(self) -> FtsTokenizer:
        """The tokenizer that built the full-text index, and that searches it."""
        return self._fts_tokenizer

    def search(self, query: str, *, kind: str = "posts", limit: int = 20) -> list[SearchHit]:
        """Posts or comments whose text holds every word of `query` (words: split on spaces
        for trigram, jieba tokens for jieba); best match first (newest first when every word
        is shorter than three characters, trigram only)."""
        if kind not in _INDEXED:
            raise ValueError("kind must be 'posts' or 'comments'")
        match = self.text_match(query)
        if match is None:
            return []
        like = "".join(" AND t.text LIKE ? ESCAPE '\\'" for _ in match.like)
        if match.fts is not None:
            sql = (
                f"SELECT t.platform, t.id, t.text, t.created_at FROM {kind}_fts f"
                f" JOIN {kind} t ON t.pk = f.rowid WHERE {kind}_fts MATCH ?{like}"
                " ORDER BY f.rank LIMIT ?"
            )
            params: list[Any] = [match.fts, *match.like, limit]
        else:
            sql = (
                f"SELECT t.platform, t.id, t.text, t.created_at FROM {kind} t WHERE 1{like}"
                " ORDER BY t.created_at DESC, t.pk DESC LIMIT ?"
            )
            params = [*match.like, limit]
        return [_hit(kind, row) for row in self._named(sql, params).fetchall()]

    def text_match(self, query: str) -> TextMatch | None:
        """How the index finds `query` (see `search`); None when it has no word. The web
        console pages its newest matches with it (console.py)."""
        if self._jieba is not None:
            terms = [t for t in dict.fromkeys(self._jieba(query)) if t.strip()]
            return TextMatch(_fts_phrases(terms), ()) if terms else None
        words = list(dict.fromkeys(query.split()))
        if not words:
            return None
        long = [w for w in words if len(w) >= _SHORTEST_TRIGRAM_QUERY]
        short = [w for w in words if len(w) < _SHORTEST_TRIGRAM_QUERY]
        return TextMatch(
            _fts_phrases(long) if long else None,
            tuple("%" + _escape_like(w) + "%" for w in short),
        )

    def reindex(self) -> int:
        """Rebuild the full-text index with the current tokenizer; returns the rows indexed."""
        with self.db.atomic():
            total = 0
            for table in _INDEXED:
                for statement in _fts_schema(table, self._fts_tokenizer):
                    self.db.execute(statement)
                self.db.execute(f"INSERT INTO {table}_fts_pending (pk) SELECT pk FROM {table}")
                self._index_pending(table)
                total += self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            settings = {
                "fts_tokenizer": self._fts_tokenizer,
                "fts_fingerprint": self._jieba.fingerprint if self._jieba else "",
                "fts_lexicon": json.dumps(
                    list(self._jieba.lexicon) if self._jieba else [], ensure_ascii=False
                ),
            }
            self.db.conn.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                settings.items(),
            )
        return total

    def open_index(
        self,
        tokenizer: str | None,
        lexicon: Iterable[str] | None,
        search_tokens: SearchTokensFactory | None,
    ) -> None:
        """Use `tokenizer` (None: the one that built the index; trigram for a new database)
        and, for jieba, `lexicon` (None: the stored one) with tokens from `search_tokens`;
        rebuild the index if they changed."""
        stored = dict(self.db.execute("SELECT key, value FROM meta").fetchall())
        built_with = stored.get("fts_tokenizer")
        wanted = tokenizer or built_with or DEFAULT_FTS_TOKENIZER
        if wanted not in FTS_TOKENIZERS:
            raise ValueError(f"fts_tokenizer must be one of {', '.join(FTS_TOKENIZERS)}")
        self._fts_tokenizer = cast(FtsTokenizer, wanted)
        if wanted == "jieba":
            if lexicon is None:
                lexicon = json.loads(stored["fts_lexicon"]) if built_with == "jieba" else ()
            if search_tokens is None:
                raise StoreError(
                    f"the full-text index of {self.path} is in jieba's shape: open the store "
                    "with its search tokens (nlp.search_tokens.jieba_search_tokens)"
                )
            self._jieba = search_tokens(lexicon)
        else:
            self._jieba = None
        fingerprint = self._jieba.fingerprint if self._jieba else ""
        if (built_with, stored.get("fts_fingerprint")) == (wanted, fingerprint):
            return
        start = time.perf_counter()
        rows = self.reindex()
        lexicon_note = f" (lexicon {fingerprint})" if fingerprint else ""
        log.log(
            logging.INFO if built_with or rows else logging.DEBUG,
            "full-text index rebuilt with the %s tokenizer%s, was %s: %d rows in %.1f s",
            wanted,
            lexicon_note,
            built_with or "none",
            rows,
            time.perf_counter() - start,
        )

    def _index_pending(self, table: str) -> None:
        """Index the rows the triggers queued: trigram in one statement inside SQLite, jieba
        with tokens from Python."""
        if self._jieba is None:
            self.db.execute(
                f"INSERT INTO {table}_fts (rowid, text) SELECT t.pk, t.text"
                f" FROM {table}_fts_pending p JOIN {table} t ON t.pk = p.pk"
            )
            self.db.execute(f"DELETE FROM {table}_fts_pending")
            return
        tokens = self._jieba
        while True:
            rows = self.db.execute(
                f"SELECT p.pk, t.text FROM {table}_fts_pending p JOIN {table} t ON t.pk = p.pk"
                " ORDER BY p.pk LIMIT ?",
                (_JIEBA_CHUNK,),
            ).fetchall()
            if not rows:
                self.db.execute(f"DELETE FROM {table}_fts_pending")
                return
            self.db.conn.executemany(
                f"INSERT INTO {table}_fts (rowid, tokens) VALUES (?, ?)",
                [(pk, " ".join(tokens(text))) for pk, text in rows],
            )
            self.db.execute(f"DELETE FROM {table}_fts_pending WHERE pk <= ?", (rows[-1][0],))


def comment_columns(c: Comment) -> tuple[Any, ...]:
    """(platform, id, post id, parent id, author id, text, created at, likes, observed at):
    the columns `save_comments` stores for one comment."""
    return (
        c.platform,
        c.id,
        c.post_id,
        c.parent_id,
        c.author_id,
        c.text,
        to_utc_iso(c.created_at),
        c.likes,
        to_utc_iso(c.observed_at),
    )


def score_columns(
    score: tuple[str, str, float, str, str] | tuple[str, str, float, str, str, float, float],
) -> tuple[float, float, float, float, str, str]:
    """(P(positive), P(neutral), P(negative), entropy, label, model version): the columns
    `set_comment_scores` stores for one score."""
    _plat, _cid, positive, label, version = score[:5]
    neutral, negative = (score[5], score[6]) if len(score) == 7 else (0.0, 1 - positive)
    entropy = -sum(p * math.log2(p) for p in (positive, neutral, negative) if p > 0)
    return positive, neutral, negative, round(entropy, 4), label, version


def _fts_schema(table: str, tokenizer: FtsTokenizer) -> list[str]:
    """Statements that drop `table`'s full-text index, whatever its shape, and create it empty
    in the shape of `tokenizer`, with the triggers that keep it in step with `table`: a new or
    edited row is queued in `<table>_fts_pending` (the save that wrote it indexes it before
    it commits), an edited or deleted one leaves the index at once."""
    fts = f"{table}_fts"
    column = "text, tokenize='trigram'" if tokenizer == "trigram" else "tokens"
    # Not INSERT OR IGNORE: in a trigger, the outer statement's conflict policy would win.
    queue = (
        f"INSERT INTO {fts}_pending (pk) SELECT new.pk"
        f" WHERE NOT EXISTS (SELECT 1 FROM {fts}_pending WHERE pk = new.pk);"
    )
    forget = f"DELETE FROM {fts} WHERE rowid = old.pk;"
    return [
        f"DROP TRIGGER IF EXISTS {fts}_insert",
        f"DROP TRIGGER IF EXISTS {fts}_update",
        f"DROP TRIGGER IF EXISTS {fts}_delete",
        f"DROP TABLE IF EXISTS {fts}",
        f"DROP TABLE IF EXISTS {fts}_pending",
        f"CREATE VIRTUAL TABLE {fts} USING fts5 ({column})",  # rowid = {table}.pk
        f"CREATE TABLE {fts}_pending (pk INTEGER PRIMARY KEY)",
        f"CREATE TRIGGER {fts}_insert AFTER INSERT ON {table} BEGIN {queue} END",
        f"CREATE TRIGGER {fts}_update AFTER UPDATE OF text ON {table}"
        f" WHEN old.text IS NOT new.text BEGIN {forget} {queue} END",
        f"CREATE TRIGGER {fts}_delete AFTER DELETE ON {table} BEGIN {forget}"
        f" DELETE FROM {fts}_pending WHERE pk = old.pk; END",
    ]


def _hit(kind: str, row: Mapping[str, Any]) -> SearchHit:
    return SearchHit(kind, row["platform"], row["id"], row["text"], row["created_at"])


def _fts_phrases(words: Iterable[str]) -> str:
    """Each word an FTS5 string (all must match), so user input is never read as FTS syntax."""
    return " ".join('"' + word.replace('"', '""') + '"' for word in words)


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _repeats_apart(rows: Sequence[dict[str, Any]], key: Any) -> list[list[dict[str, Any]]]:
    """`rows` in rounds, in order, no key twice in a round: the first reading of each key, then
    the second, and so on (a page rarely lists a record twice, so this is one round)."""
    seen: dict[Any, int] = {}
    rounds: list[list[dict[str, Any]]] = []
    for row in rows:
        k = key(row)
        n = seen.get(k, 0)
        seen[k] = n + 1
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(row)
    return rounds


@lru_cache(maxsize=4096)
def _json_list(items: tuple[str, ...]) -> str:
    """A JSON array (cached: a campaign's posts carry the same few topics again and again)."""
    return json.dumps(list(items), ensure_ascii=False)


def _post_row(post: Post) -> dict[str, Any]:
    return {
        "platform": post.platform,
        "id": post.id,
        "author_id": post.author_id,
        "author_name": post.author_name,
        "author_kind": post.author_kind,
        "text": post.text,
        "created_at": to_utc_iso(post.created_at),
        "url": post.url,
        "topics": _json_list(tuple(post.topics)),
        "mentions": _json_list(tuple(post.mentions)),
        "is_original": post.is_original,
        "media": post.media,
        "plays": post.plays,
        "likes": post.likes,
        "comments": post.comments,
        "shares": post.shares,
        "reposts": post.reposts,
        "counts_are_lower_bounds": post.counts_are_lower_bounds,
        "counts_no_longer_reported": post.counts_no_longer_reported,
        "observed_at": to_utc_iso(post.observed_at),
    }
