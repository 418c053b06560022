"""Named read queries that gather the facts the alert rules judge (alerts/rules/).

Every query is scoped to a recent window on an indexed column (posts.created_at,
comments.created_at, post_metrics by post, posts by author), so running the rules after every
poll stays cheap however long the campaign has run. Times in and out are aware datetimes.
The same SQL runs on SQLite and PostgreSQL (backend.py); what differs is the dialect's.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from monitor.models import from_iso, to_utc_iso
from monitor.store.backend import Backend
from monitor.store.campaigns import (
    campaign_topics,
    comment_in_campaign,
    label_in_campaign,
    post_in_campaign,
)
from monitor.store.connection import Queries
from monitor.store.rows import record_of, time_of
from monitor.store.windows import TopicPoint, TopicWindow, TopicWindows

_MAX_IN = 500  # ids per IN (...) list; SQLite allows more, but the statements stay small


@dataclass(frozen=True)
class PostFacts:
    platform: str
    id: str
    author_id: str
    author_name: str
    author_kind: str
    text: str
    created_at: datetime
    url: str | None
    topics: tuple[str, ...]
    likes: int | None = None
    comments: int | None = None
    shares: int | None = None
    reposts: int | None = None
    plays: int | None = None
    ugc_score: float | None = None
    pk: int = 0


@dataclass(frozen=True)
class MetricPoint:
    at: datetime
    plays: int | None
    likes: int | None
    comments: int | None
    shares: int | None
    reposts: int | None

    @property
    def interactions(self) -> int:
        """likes + comments + shares + reposts (a figure the platform did not give counts 0)."""
        return sum(v or 0 for v in (self.likes, self.comments, self.shares, self.reposts))


@dataclass(frozen=True)
class ThreadCounts:
    platform: str
    post_id: str
    scored: int  # comments with a sentiment label
    negative: int
    total: int


@dataclass(frozen=True)
class CommentFacts:
    platform: str
    id: str
    post_id: str
    author_id: str
    text: str
    created_at: datetime
    likes: int | None
    label: str | None


@dataclass(frozen=True)
class SourceFacts:
    name: str
    platform: str
    last_status: str | None
    failures: int
    last_error: str | None
    last_success_at: datetime | None
    last_run_at: datetime | None


# The columns `post_facts` reads, besides the row's pk (a query without one selects 0 AS pk).
POST_FIELDS = (
    "platform, id, author_id, author_name, author_kind, text, created_at, url, topics,"
    " likes, comments, shares, reposts, plays, ugc_score"
)
_POST_COLUMNS = f"pk, {POST_FIELDS}"


def post_facts(row: Mapping[str, Any]) -> PostFacts:
    return record_of(
        PostFacts, row, created_at=time_of(row), topics=tuple(json.loads(row["topics"] or "[]"))
    )


# The columns `comment_facts` reads (from a row whose `label` is the campaign's: the weekly
# digest's export rows; `comment_fields` reads them from the comments table).
COMMENT_FIELDS = "platform, id, post_id, author_id, text, created_at, likes, label"


def comment_fields(campaign: str) -> str:
    """COMMENT_FIELDS of the comments table, the label as `campaign` reads it."""
    label = label_in_campaign(campaign)
    return f"platform, id, post_id, author_id, text, created_at, likes, {label} AS label"


def comment_facts(row: Mapping[str, Any]) -> CommentFacts:
    return CommentFacts(
        platform=row["platform"],
        id=row["id"],
        post_id=row["post_id"],
        author_id=row["author_id"],
        text=row["text"],
        created_at=from_iso(row["created_at"]),
        likes=row["likes"],
        label=row["label"],
    )


# What the module-level reads run on: a query group's seam, or (weekly.py, not ported yet)
# sqlite-utils' Database; both answer `execute(sql, params).fetchone()` alike.
Runner = Database | Backend


def topic_series_keys(db: Runner) -> list[tuple[str, str]]:
    """Every (platform, topic) with readings, in order, one index probe each: a year of
    15-minute readings is 35,000 rows a topic, and DISTINCT or GROUP BY would read them all
    (or not, depending on whether `PRAGMA optimize` has gathered statistics yet)."""
    keys: list[tuple[str, str]] = []
    platform = db.execute("SELECT min(platform) FROM topic_metrics").fetchone()[0]
    while platform is not None:
        topic = db.execute(
            "SELECT min(topic) FROM topic_metrics WHERE platform = ?", (platform,)
        ).fetchone()[0]
        while topic is not None:
            keys.append((platform, topic))
            topic = db.execute(
                "SELECT min(topic) FROM topic_metrics WHERE platform = ? AND topic > ?",
                (platform, topic),
            ).fetchone()[0]
        platform = db.execute(
            "SELECT min(platform) FROM topic_metrics WHERE platform > ?", (platform,)
        ).fetchone()[0]
    return keys


# The columns `thread_counts` reads, over a thread's comments with their campaign's `label`
# (a CASE, not SQLite's sum of a comparison: PostgreSQL has no sum of booleans).
_THREAD_COUNTS = (
    "count(label) AS scored, count(CASE WHEN label = 'negative' THEN 1 END) AS negative,"
    " count(*) AS total"
)


def thread_counts(platform: str, post_id: str, row: Mapping[str, Any]) -> ThreadCounts:
    return ThreadCounts(platform, post_id, row["scored"], int(row["negative"] or 0), row["total"])


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _MAX_IN):
        yield items[start : start + _MAX_IN]


def _latest_reading(db: Runner, platform: str) -> datetime | None:
    """The newest reading of `platform`: posts by (platform, observed_at), topics a probe of
    each series."""
    times = [db.execute("SELECT max(observed_at) FROM posts WHERE platform = ?", (platform,))]
    times += [
        db.execute(
            "SELECT max(observed_at) FROM topic_metrics WHERE platform = ? AND topic = ?",
            (platform, topic),
        )
        for series_platform, topic in topic_series_keys(db)
        if series_platform == platform
    ]
    found = [row[0] for cursor in times if (row := cursor.fetchone()) and row[0]]
    return from_iso(max(found)) if found else None


def latest_reading_iso(db: Runner, platform: str) -> str | None:
    """`_latest_reading` as stored text (team.py's /status)."""
    at = _latest_reading(db, platform)
    return to_utc_iso(at) if at else None


class SignalsQueries(Queries):
    """The rules judge one campaign (campaigns.py): every read of posts, comments and topic
    series keeps to the store's campaign, so its alerts are about its posts, topics and KOLs
    only. Collector health (`source_runs`) is shared: every campaign hears its sources fail."""

    def __init__(self, db: Runner, path: str) -> None:
        super().__init__(db, path)
        self._topic_windows = TopicWindows(self._series_keys)

    def _series_keys(self, db: Runner) -> list[tuple[str, str]]:
        """The topic series of the campaign's topics (every series for campaign '')."""
        keys = topic_series_keys(db)
        wanted = campaign_topics(self.sql, self.campaign)
        return keys if wanted is None else [key for key in keys if key in wanted]

    def _posts(self, post: str = "posts") -> str:
        """The term that keeps `post` rows to the campaign's."""
        return post_in_campaign(self.sql.dialect, self.campaign, post)

    def _comments(self, comment: str = "comments") -> str:
        return comment_in_campaign(self.sql.dialect, self.campaign, comment)

    def _label(self, comment: str = "comments") -> str:
        return label_in_campaign(self.campaign, comment)

    # --- posts and their metric series -------------------------------------------------

    def posts_moving(
        self, *, created_since: datetime, observed_since: datetime, until: datetime
    ) -> list[PostFacts]:
        """Posts created since `created_since` whose counts were read since `observed_since`."""
        rows = self._named(
            f"SELECT {_POST_COLUMNS} FROM posts WHERE created_at >= ? AND created_at <= ?"
            f" AND observed_at >= ? AND {self._posts()} ORDER BY created_at",
            (to_utc_iso(created_since), to_utc_iso(until), to_utc_iso(observed_since)),
        ).fetchall()
        return [post_facts(row) for row in rows]

    def posts_by_keys(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], PostFacts]:
        """(platform, id) → post, for the keys that are stored."""
        by_platform: dict[str, list[str]] = defaultdict(list)
        for platform, post_id in keys:
            by_platform[platform].append(post_id)
        found: dict[tuple[str, str], PostFacts] = {}
        for platform, ids in by_platform.items():
            for chunk in _chunks(sorted(set(ids))):
                rows = self._named(
                    f"SELECT {_POST_COLUMNS} FROM posts WHERE platform = ?"
                    f" AND id IN ({','.join('?' * len(chunk))}) AND {self._posts()}",
                    (platform, *chunk),
                ).fetchall()
                for row in rows:
                    post = post_facts(row)
                    found[(post.platform, post.id)] = post
        return found

    def metric_series(
        self, platform: str, post_ids: Sequence[str], until: datetime
    ) -> dict[str, list[MetricPoint]]:
        """Each post's count readings up to `until`, oldest first."""
        series: dict[str, list[MetricPoint]] = {pid: [] for pid in post_ids}
        for chunk in _chunks(list(dict.fromkeys(post_ids))):
            rows = self.sql.execute(
                "SELECT post_id, observed_at, plays, likes, comments, shares, reposts"
                " FROM post_metrics WHERE platform = ?"
                f" AND post_id IN ({','.join('?' * len(chunk))})"
                " AND observed_at <= ? ORDER BY post_id, observed_at, pk",
                (platform, *chunk, to_utc_iso(until)),
            ).fetchall()
            for post_id, at, plays, likes, comments, shares, reposts in rows:
                series[post_id].append(
                    MetricPoint(from_iso(at), plays, likes, comments, shares, reposts)
                )
        return series

    def author_posts(
        self, platform: str, author_id: str, *, since: datetime, before: datetime, limit: int = 30
    ) -> list[PostFacts]:
        """The author's posts created in [since, before), newest first."""
        rows = self._named(
            f"SELECT {_POST_COLUMNS} FROM posts WHERE platform = ? AND author_id = ?"
            f" AND created_at >= ? AND created_at < ? AND {self._posts()}"
            " ORDER BY created_at DESC LIMIT ?",
            (platform, author_id, to_utc_iso(since), to_utc_iso(before), limit),
        ).fetchall()
        return [post_facts(row) for row in rows]

    def platform_posts(
        self, platform: str, *, since: datetime, before: datetime, limit: int = 200
    ) -> list[PostFacts]:
        """Posts of a platform created in [since, before), newest first (topic baselines)."""
        rows = self._named(
            f"SELECT {_POST_COLUMNS} FROM posts WHERE platform = ? AND created_at >= ?"
            f" AND created_at < ? AND {self._posts()} ORDER BY created_at DESC LIMIT ?",
            (platform, to_utc_iso(since), to_utc_iso(before), limit),
        ).fetchall()
        return [post_facts(row) for row in rows]

    def latest_post_times(self, platform: str, author_ids: Sequence[str]) -> dict[str, datetime]:
        """Newest post time per author (authors without posts are left out)."""
        found: dict[str, datetime] = {}
        for chunk in _chunks(list(author_ids)):
            rows = self.sql.execute(
                "SELECT author_id, max(created_at) FROM posts WHERE platform = ?"
                f" AND author_id IN ({','.join('?' * len(chunk))}) AND {self._posts()}"
                " GROUP BY author_id",
                (platform, *chunk),
            ).fetchall()
            found.update({author: from_iso(at) for author, at in rows})
        return found

    def posts_of_authors(
        self, platform: str, author_ids: Sequence[str], *, since: datetime, until: datetime
    ) -> list[PostFacts]:
        """Posts by any of `author_ids` created in [since, until], oldest first."""
        posts: list[PostFacts] = []
        for chunk in _chunks(list(author_ids)):
            rows = self._named(
                f"SELECT {_POST_COLUMNS} FROM posts WHERE platform = ?"
                f" AND author_id IN ({','.join('?' * len(chunk))})"
                f" AND created_at >= ? AND created_at <= ? AND {self._posts()}"
                " ORDER BY created_at",
                (platform, *chunk, to_utc_iso(since), to_utc_iso(until)),
            ).fetchall()
            posts.extend(post_facts(row) for row in rows)
        return sorted(posts, key=lambda p: p.created_at)

    def first_seen(self, platform: str) -> datetime | None:
        """When the store first saw any post of `platform` (how long it has been watching)."""
        row = self.sql.execute(
            f"SELECT min(first_seen) FROM posts WHERE platform = ? AND {self._posts()}",
            (platform,),
        ).fetchone()
        return from_iso(row[0]) if row and row[0] else None

    def ugc_posts(
        self, *, after_pk: int, created_since: datetime, until: datetime
    ) -> list[PostFacts]:
        """Scored UGC (score > 0) stored after row `after_pk` and created since `created_since`."""
        rows = self._named(
            f"SELECT {_POST_COLUMNS} FROM posts WHERE pk > ? AND ugc_score > 0"
            f" AND created_at >= ? AND created_at <= ? AND {self._posts()}"
            " ORDER BY ugc_score DESC, pk",
            (after_pk, to_utc_iso(created_since), to_utc_iso(until)),
        ).fetchall()
        return [post_facts(row) for row in rows]

    def last_scored_post_pk(self) -> int:
        row = self.sql.execute("SELECT max(pk) FROM posts WHERE ugc_score IS NOT NULL").fetchone()
        return int(row[0] or 0)

    # --- comments ---------------------------------------------------------------------

    def thread_counts(self, *, since: datetime, until: datetime) -> list[ThreadCounts]:
        """Per post: comments made, or first seen, in [since, until] (a thread pingfan reads
        late, after an outage, is still news), how many scored, how many negative."""
        # Two ranges of the time indexes, then the rows by rowid: written as `a OR b`, the
        # planner may walk every comment by (platform, post_id) instead, to skip the GROUP
        # BY's sort, as statistics gathered after a large delete led it to (0.4 s at 250,000).
        # The ORDER BY is the GROUP BY's own sort on SQLite (the same plan); PostgreSQL may
        # group by hashing, in no order.
        rows = self._named(
            f"SELECT platform, post_id, {_THREAD_COUNTS} FROM (SELECT platform, post_id,"
            f" {self._label()} AS label FROM comments WHERE pk IN ("
            " SELECT pk FROM comments WHERE created_at >= :since AND created_at <= :until"
            " UNION ALL"
            " SELECT pk FROM comments WHERE first_seen >= :since AND first_seen <= :until)"
            f" AND {self._comments()}) AS c GROUP BY platform, post_id"
            " ORDER BY platform, post_id",
            {"since": to_utc_iso(since), "until": to_utc_iso(until)},
        ).fetchall()
        return [thread_counts(row["platform"], row["post_id"], row) for row in rows]

    def thread_counts_before(
        self, platform: str, post_ids: Sequence[str], before: datetime
    ) -> dict[str, ThreadCounts]:
        """Each thread's comments created before `before` (its own baseline), by post id; a
        thread with none counts zeros. A range of the thread index per thread, one statement
        per 500 threads."""
        found = {pid: ThreadCounts(platform, pid, 0, 0, 0) for pid in post_ids}
        for chunk in _chunks(list(found)):
            rows = self._named(
                f"SELECT post_id, {_THREAD_COUNTS} FROM (SELECT post_id, {self._label()} AS label"
                " FROM comments WHERE platform = ?"
                f" AND post_id IN ({','.join('?' * len(chunk))}) AND created_at < ?"
                f" AND {self._comments()}) AS c GROUP BY post_id",
                (platform, *chunk, to_utc_iso(before)),
            ).fetchall()
            found.update(
                {row["post_id"]: thread_counts(platform, row["post_id"], row) for row in rows}
            )
        return found

    def thread_comments(
        self,
        platform: str,
        post_id: str,
        *,
        since: datetime,
        until: datetime,
        label: str | None = None,
        limit: int = 200,
    ) -> list[CommentFacts]:
        """The thread's comments made or first seen in [since, until] (only `label` ones if
        given), most liked first."""
        rows = self._named(
            f"SELECT {comment_fields(self.campaign)}"
            " FROM comments WHERE platform = :platform AND post_id = :post"
            " AND ((created_at >= :since AND created_at <= :until)"
            " OR (first_seen >= :since AND first_seen <= :until))"
            f" AND ({self.sql.dialect.typed(':label', 'TEXT')} IS NULL"
            f" OR {self._label()} = :label)"
            f" AND {self._comments()} ORDER BY coalesce(likes, 0) DESC, created_at LIMIT :limit",
            {
                "platform": platform,
                "post": post_id,
                "since": to_utc_iso(since),
                "until": to_utc_iso(until),
                "label": label,
                "limit": limit,
            },
        ).fetchall()
        return [comment_facts(row) for row in rows]

    def liked_comments_with(
        self, words: Sequence[str], *, min_likes: int, since: datetime, until: datetime
    ) -> list[CommentFacts]:
        """Comments created in [since, until] with at least `min_likes` likes whose text holds
        any of `words` (the caller checks exclusions)."""
        if not words:
            return []
        match = " OR ".join(self.sql.dialect.contains("text", "?") for _ in words)
        rows = self._named(
            f"SELECT {comment_fields(self.campaign)}"
            " FROM comments WHERE created_at >= ? AND created_at <= ? AND likes >= ?"
            f" AND ({match}) AND {self._comments()} ORDER BY likes DESC",
            (to_utc_iso(since), to_utc_iso(until), min_likes, *words),
        ).fetchall()
        return [comment_facts(row) for row in rows]

    def recent_messages(
        self, platform: str, *, since: datetime, until: datetime, limit: int = 20_000
    ) -> list[CommentFacts]:
        """Comments and posts of `platform` created in [since, until], oldest first; a post
        appears with its own id as post_id (near-duplicate search over both)."""
        # `+platform`: the window is small, a platform is half of everything; without it
        # SQLite walked every comment of the platform by the (platform, id) key (5 s at 1M).
        platform_term = f"{self.sql.dialect.unindexed('platform')} = ?"
        rows = self._named(
            f"SELECT {comment_fields(self.campaign)}"
            f" FROM comments WHERE {platform_term} AND created_at >= ? AND created_at <= ?"
            f" AND {self._comments()}"
            " UNION ALL SELECT platform, id, id, author_id, text, created_at, likes, NULL"
            f" FROM posts WHERE {platform_term} AND created_at >= ? AND created_at <= ?"
            f" AND {self._posts()}"
            " ORDER BY created_at LIMIT ?",
            (
                platform,
                to_utc_iso(since),
                to_utc_iso(until),
                platform,
                to_utc_iso(since),
                to_utc_iso(until),
                limit,
            ),
        ).fetchall()
        return [comment_facts(row) for row in rows]

    # --- topics and collector health ----------------------------------------------------

    def topic_windows(self, *, since: datetime, until: datetime) -> list[TopicWindow]:
        """Each topic series' readings (views, discussions) in [since, until], oldest first;
        the same object for a series whose window did not change since the last call (a
        round reads only the readings stored since the last one: monitor/store/windows.py)."""
        return self._topic_windows.read(self.sql, since, until)

    def latest_topic_points(self, until: datetime) -> list[TopicPoint]:
        """The newest reading per (platform, topic) up to `until`."""
        points = []
        for platform, topic in self._series_keys(self.sql):
            row = self.sql.execute(
                "SELECT observed_at, views, discussions FROM topic_metrics"
                " WHERE platform = ? AND topic = ? AND observed_at <= ?"
                " ORDER BY observed_at DESC, pk DESC LIMIT 1",
                (platform, topic, to_utc_iso(until)),
            ).fetchone()
            if row is not None:
                points.append(TopicPoint(platform, topic, from_iso(row[0]), row[1], row[2]))
        return points

    def latest_reading_at(self, platform: str) -> datetime | None:
        """The newest time anything of `platform` was read (posts, topic readings)."""
        return _latest_reading(self.sql, platform)

    def source_runs(self) -> list[SourceFacts]:
        """Each collector source's last outcome, as the runtime records them."""
        rows = self._named(
            "SELECT name, platform, last_status, failures, last_error, last_success_at,"
            " last_run_at FROM sources ORDER BY platform, name"
        ).fetchall()
        return [
            SourceFacts(
                name=row["name"],
                platform=row["platform"],
                last_status=row["last_status"],
                failures=int(row["failures"] or 0),
                last_error=row["last_error"],
                last_success_at=from_iso(row["last_success_at"])
                if row["last_success_at"]
                else None,
                last_run_at=from_iso(row["last_run_at"]) if row["last_run_at"] else None,
            )
            for row in rows
        ]
