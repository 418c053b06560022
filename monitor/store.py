"""SQLite storage: one file, WAL, schema through migrations, used from one thread.

Records arrive already parsed (frozen models); the store neither parses nor normalises.
Every `save_*` call is one transaction, and a cursor passed with it commits in that same
transaction, so a crash can never leave a cursor ahead of the rows it covers.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from monitor.errors import StoreError
from monitor.migrations import migrations
from monitor.models import (
    Account,
    AlertRecord,
    Comment,
    Cursor,
    Post,
    TopicStats,
    to_utc_iso,
    utc_now,
)
from nlp.segment import search_tokens

Tokenize = Callable[[str], Iterable[str]]

# Latest counts are kept when a newer reading lacks them (None = not given, not zero).
_POST_UPSERT = """
INSERT INTO posts (platform, id, author_id, author_name, author_kind, text, created_at, url,
    topics, mentions, is_original, media, plays, likes, comments, shares, reposts,
    counts_are_lower_bounds, first_seen, observed_at)
VALUES (:platform, :id, :author_id, :author_name, :author_kind, :text, :created_at, :url,
    :topics, :mentions, :is_original, :media, :plays, :likes, :comments, :shares, :reposts,
    :counts_are_lower_bounds, :observed_at, :observed_at)
ON CONFLICT (platform, id) DO UPDATE SET
    author_name = excluded.author_name,
    author_kind = excluded.author_kind,
    text = excluded.text,
    url = coalesce(excluded.url, url),
    topics = excluded.topics,
    mentions = excluded.mentions,
    media = coalesce(excluded.media, media),
    plays = coalesce(excluded.plays, plays),
    likes = coalesce(excluded.likes, likes),
    comments = coalesce(excluded.comments, comments),
    shares = coalesce(excluded.shares, shares),
    reposts = coalesce(excluded.reposts, reposts),
    counts_are_lower_bounds = excluded.counts_are_lower_bounds,
    observed_at = max(observed_at, excluded.observed_at)
RETURNING pk
"""

_COMMENT_UPSERT = """
INSERT INTO comments (platform, id, post_id, parent_id, author_id, text, created_at, likes,
    first_seen, observed_at)
VALUES (:platform, :id, :post_id, :parent_id, :author_id, :text, :created_at, :likes,
    :observed_at, :observed_at)
ON CONFLICT (platform, id) DO UPDATE SET
    text = excluded.text,
    likes = coalesce(excluded.likes, likes),
    observed_at = max(observed_at, excluded.observed_at)
RETURNING pk
"""

_ACCOUNT_UPSERT = """
INSERT INTO accounts (platform, id, name, kind, verified, followers, first_seen, observed_at)
VALUES (:platform, :id, :name, :kind, :verified, :followers, :observed_at, :observed_at)
ON CONFLICT (platform, id) DO UPDATE SET
    name = excluded.name,
    kind = excluded.kind,
    verified = coalesce(excluded.verified, verified),
    followers = coalesce(excluded.followers, followers),
    observed_at = max(observed_at, excluded.observed_at)
"""


@dataclass(frozen=True)
class SearchHit:
    kind: str
    platform: str
    id: str
    text: str
    created_at: str


default_tokenize: Tokenize = search_tokens


class Store:
    """The only code that touches the database."""

    def __init__(self, db: Database, tokenize: Tokenize = default_tokenize) -> None:
        self.db = db
        self._tokenize = tokenize

    @classmethod
    def open(cls, path: str | Path, *, tokenize: Tokenize = default_tokenize) -> Store:
        """Open (creating if needed) and migrate the database at `path` (":memory:" works)."""
        try:
            if str(path) == ":memory:":
                db = Database(memory=True)
            else:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                db = Database(Path(path))
                db.enable_wal()
                db.execute("PRAGMA synchronous = NORMAL")
            db.execute("PRAGMA busy_timeout = 5000")
            migrations.apply(db)
        except (sqlite3.Error, OSError) as err:
            raise StoreError(f"cannot open database {path}: {err}") from err
        return cls(db, tokenize)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writes ------------------------------------------------------------------------

    def save_posts(self, posts: Iterable[Post], cursor: Cursor | None = None) -> int:
        """Upsert posts by (platform, id); append a metric point when a count changed."""
        count = 0
        with self.db.atomic():
            for post in posts:
                row = _post_row(post)
                before = self.db.execute(
                    "SELECT plays, likes, comments, shares, reposts FROM posts"
                    " WHERE platform = ? AND id = ?",
                    (post.platform, post.id),
                ).fetchone()
                pk = self.db.execute(_POST_UPSERT, row).fetchone()[0]
                reading = tuple(row[k] for k in ("plays", "likes", "comments", "shares", "reposts"))
                if before is None or tuple(before) != reading:
                    # A point only when something moved: re-reading a page adds no rows.
                    self.db.execute(
                        "INSERT INTO post_metrics (platform, post_id, observed_at, plays, likes,"
                        " comments, shares, reposts) VALUES (:platform, :id, :observed_at,"
                        " :plays, :likes, :comments, :shares, :reposts)",
                        row,
                    )
                self._index("posts_fts", pk, post.text)
                count += 1
            if cursor is not None:
                self._put_cursor(cursor)
        return count

    def save_comments(self, comments: Iterable[Comment], cursor: Cursor | None = None) -> int:
        count = 0
        with self.db.atomic():
            for comment in comments:
                row = {
                    "platform": comment.platform,
                    "id": comment.id,
                    "post_id": comment.post_id,
                    "parent_id": comment.parent_id,
                    "author_id": comment.author_id,
                    "text": comment.text,
                    "created_at": to_utc_iso(comment.created_at),
                    "likes": comment.likes,
                    "observed_at": to_utc_iso(comment.observed_at),
                }
                pk = self.db.execute(_COMMENT_UPSERT, row).fetchone()[0]
                self._index("comments_fts", pk, comment.text)
                count += 1
            if cursor is not None:
                self._put_cursor(cursor)
        return count

    def save_accounts(self, accounts: Iterable[Account]) -> int:
        """Upsert accounts; append a follower snapshot when the figures changed."""
        count = 0
        with self.db.atomic():
            for account in accounts:
                row = {
                    "platform": account.platform,
                    "id": account.id,
                    "name": account.name,
                    "kind": account.kind,
                    "verified": account.verified,
                    "followers": account.followers,
                    "following": account.following,
                    "posts_count": account.posts_count,
                    "observed_at": to_utc_iso(account.observed_at),
                }
                self.db.execute(_ACCOUNT_UPSERT, row)
                last = self.db.execute(
                    "SELECT followers, following, posts_count FROM account_metrics"
                    " WHERE platform = ? AND account_id = ? ORDER BY pk DESC LIMIT 1",
                    (account.platform, account.id),
                ).fetchone()
                if last is None or tuple(last) != (
                    account.followers,
                    account.following,
                    account.posts_count,
                ):
                    self.db.execute(
                        "INSERT INTO account_metrics (platform, account_id, observed_at,"
                        " followers, following, posts_count) VALUES (:platform, :id,"
                        " :observed_at, :followers, :following, :posts_count)",
                        row,
                    )
                count += 1
        return count

    def save_topic_stats(self, stats: Iterable[TopicStats]) -> int:
        count = 0
        with self.db.atomic():
            for item in stats:
                last = self.db.execute(
                    "SELECT views, discussions FROM topic_metrics WHERE platform = ? AND topic = ?"
                    " ORDER BY pk DESC LIMIT 1",
                    (item.platform, item.topic),
                ).fetchone()
                if last is not None and tuple(last) == (item.views, item.discussions):
                    continue  # unchanged since the last reading
                self.db.execute(
                    "INSERT INTO topic_metrics (platform, topic, observed_at, views, discussions)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (
                        item.platform,
                        item.topic,
                        to_utc_iso(item.observed_at),
                        item.views,
                        item.discussions,
                    ),
                )
                count += 1
        return count

    def set_comment_scores(self, scores: Iterable[tuple[str, str, float, str, str]]) -> None:
        """(platform, comment id, P(positive), label, model version) for scored comments."""
        with self.db.atomic():
            # A label the team gave stays; the model's score is still recorded beside it.
            self.db.conn.executemany(
                "UPDATE comments SET sentiment = ?,"
                " label = CASE WHEN model_version = 'team' THEN label ELSE ? END,"
                " model_version = CASE WHEN model_version = 'team' THEN 'team' ELSE ? END"
                " WHERE platform = ? AND id = ?",
                [(s, lab, ver, plat, cid) for plat, cid, s, lab, ver in scores],
            )

    def set_ugc_scores(self, scores: Iterable[tuple[str, str, float]]) -> None:
        """(platform, post id, UGC score)."""
        with self.db.atomic():
            self.db.conn.executemany(
                "UPDATE posts SET ugc_score = ? WHERE platform = ? AND id = ?",
                [(score, plat, pid) for plat, pid, score in scores],
            )

    def enqueue_alert(self, alert: AlertRecord) -> bool:
        """Put an alert in the outbox; False if its dedupe key is already there."""
        with self.db.atomic():
            cursor = self.db.execute(
                "INSERT INTO alerts (dedupe_key, kind, severity, platform, subject_id, title,"
                " text, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (dedupe_key) DO NOTHING",
                (
                    alert.dedupe_key,
                    alert.kind,
                    alert.severity,
                    alert.platform,
                    alert.subject_id,
                    alert.title,
                    alert.text,
                    to_utc_iso(alert.created_at),
                    to_utc_iso(alert.created_at),
                ),
            )
            return cursor.rowcount == 1

    def add_label(
        self,
        text: str,
        label: str,
        *,
        platform: str | None = None,
        comment_id: str | None = None,
        given_by: str | None = None,
        given_at: datetime | None = None,
    ) -> None:
        """Store a sentiment label the team gave; the comment's own label follows it."""
        if label not in ("positive", "neutral", "negative"):
            raise ValueError(f"label must be positive, neutral or negative, not {label!r}")
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO labels (platform, comment_id, text, label, given_by, given_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (platform, comment_id, text, label, given_by, to_utc_iso(given_at or utc_now())),
            )
            if platform and comment_id:
                self.db.execute(
                    "UPDATE comments SET label = ?, model_version = 'team'"
                    " WHERE platform = ? AND id = ?",
                    (label, platform, comment_id),
                )

    def purge_expired_comments(self, retention_days: int, now: datetime | None = None) -> int:
        """Delete comments older than the retention limit (0 keeps all); returns how many."""
        if retention_days <= 0:
            return 0
        cutoff = to_utc_iso((now or utc_now()) - timedelta(days=retention_days))
        with self.db.atomic():
            self.db.execute(
                "DELETE FROM comments_fts WHERE rowid IN"
                " (SELECT pk FROM comments WHERE created_at < ?)",
                (cutoff,),
            )
            return self.db.execute("DELETE FROM comments WHERE created_at < ?", (cutoff,)).rowcount

    # --- reads -------------------------------------------------------------------------

    def cursor(self, source: str, key: str) -> str | None:
        row = self.db.execute(
            "SELECT value FROM cursors WHERE source = ? AND key = ?", (source, key)
        ).fetchone()
        return row[0] if row else None

    def query(self, sql: str, params: Iterable[Any] | dict[str, Any] = ()) -> Iterator[dict]:
        """Rows as dicts, streamed (for exports and reports)."""
        cursor = self.db.execute(sql, params if isinstance(params, dict) else list(params))
        names = [column[0] for column in cursor.description]
        for row in cursor:
            yield dict(zip(names, row, strict=True))

    def table_counts(self) -> dict[str, int]:
        tables = (
            "accounts",
            "account_metrics",
            "posts",
            "post_metrics",
            "comments",
            "topic_metrics",
            "cursors",
            "alerts",
            "labels",
        )
        return {t: self.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}

    def search(self, query: str, *, kind: str = "posts", limit: int = 20) -> list[SearchHit]:
        """Full-text search over post or comment text; Chinese works through jieba tokens."""
        if kind not in ("posts", "comments"):
            raise ValueError("kind must be 'posts' or 'comments'")
        terms = [t for t in dict.fromkeys(self._tokenize(query)) if t.strip()]
        if not terms:
            return []
        # Each term quoted as an FTS5 string, so user input can never be read as FTS syntax.
        match = " ".join('"' + term.replace('"', '""') + '"' for term in terms)
        rows = self.db.execute(
            f"SELECT t.platform, t.id, t.text, t.created_at FROM {kind}_fts f"
            f" JOIN {kind} t ON t.pk = f.rowid WHERE {kind}_fts MATCH ?"
            " ORDER BY f.rank LIMIT ?",
            (match, limit),
        ).fetchall()
        return [SearchHit(kind, p, i, text, created) for p, i, text, created in rows]

    # --- helpers -----------------------------------------------------------------------

    def _put_cursor(self, cursor: Cursor) -> None:
        self.db.execute(
            "INSERT INTO cursors (source, key, value, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (source, key) DO UPDATE SET value = excluded.value,"
            " updated_at = excluded.updated_at",
            (cursor.source, cursor.key, cursor.value, to_utc_iso(utc_now())),
        )

    def _index(self, table: str, rowid: int, text: str) -> None:
        tokens = " ".join(t for t in self._tokenize(text) if t.strip())
        self.db.execute(f"DELETE FROM {table} WHERE rowid = ?", (rowid,))
        self.db.execute(f"INSERT INTO {table} (rowid, tokens) VALUES (?, ?)", (rowid, tokens))


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
        "topics": json.dumps(list(post.topics), ensure_ascii=False),
        "mentions": json.dumps(list(post.mentions), ensure_ascii=False),
        "is_original": post.is_original,
        "media": post.media,
        "plays": post.plays,
        "likes": post.likes,
        "comments": post.comments,
        "shares": post.shares,
        "reposts": post.reposts,
        "counts_are_lower_bounds": post.counts_are_lower_bounds,
        "observed_at": to_utc_iso(post.observed_at),
    }
