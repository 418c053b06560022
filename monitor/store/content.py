"""Posts and comments with their cursors, sentiment and UGC scores, full-text search.

Records arrive already parsed (frozen models); the store neither parses nor normalises.
Every `save_*` call is one transaction, and a cursor passed with it commits in that same
transaction, so a crash can never leave a cursor ahead of the rows it covers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from monitor.models import Comment, Cursor, Post, to_utc_iso, utc_now
from monitor.store.connection import StoreBase

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


@dataclass(frozen=True)
class SearchHit:
    kind: str
    platform: str
    id: str
    text: str
    created_at: str


class ContentStore(StoreBase):
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

    def cursor(self, source: str, key: str) -> str | None:
        row = self.db.execute(
            "SELECT value FROM cursors WHERE source = ? AND key = ?", (source, key)
        ).fetchone()
        return row[0] if row else None

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
