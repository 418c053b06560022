"""Named read queries for the weekly digest (alerts/digest/).

Every figure the digest shares with `pingfan export` is an aggregate over the export's own
rows: the queries below wrap `export_select(kind)` (monitor/store/reports.py) for the week's
half-open range [since, until), so the digest's posts, comments, authors, engagement,
sentiment split, topic readings and alerts equal what the export gives for the same week.
Times in and out are aware datetimes; the SQL compares the stored UTC ISO text. The same
SQL runs on SQLite and PostgreSQL (a count of rows that hold a condition is
`count(*) FILTER (WHERE …)`, which both read); SQLite's planner hints (`CROSS JOIN`, `+column`)
come from the dialect.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from monitor.models import from_iso, to_utc_iso
from monitor.store.campaigns import campaign_topics
from monitor.store.connection import Queries
from monitor.store.outbox import ALERT_ACK_JOIN, ALERT_COLUMNS, OutboxAlert, outbox_alert_of
from monitor.store.reports import export_select
from monitor.store.signals import (
    COMMENT_FIELDS,
    POST_FIELDS,
    CommentFacts,
    PostFacts,
    TopicPoint,
    comment_facts,
    post_facts,
    topic_series_keys,
)

DIGEST_KIND = "digest"


@dataclass(frozen=True)
class PostTotals:
    """Posts created in a range, with their counts as stored now (as the export shows them)."""

    platform: str | None  # None: every platform
    posts: int = 0
    ugc_posts: int = 0  # by ordinary users
    kol_posts: int = 0
    official_posts: int = 0
    authors: int = 0
    likes: int = 0
    comments: int = 0  # the platforms' own comment counts of these posts
    shares: int = 0
    reposts: int = 0
    plays: int = 0
    plays_known: int = 0  # posts whose plays the platform gave

    @property
    def engagement(self) -> int:
        return self.likes + self.comments + self.shares + self.reposts


@dataclass(frozen=True)
class CommentTotals:
    """Comments created in a range, by sentiment label."""

    platform: str | None  # None: every platform
    comments: int = 0
    commenters: int = 0
    positive: int = 0
    neutral: int = 0
    negative: int = 0
    unscored: int = 0
    mean_p_negative: float | None = None  # None when no comment has a P(negative)


@dataclass(frozen=True)
class LabelCounts:
    positive: int = 0
    neutral: int = 0
    negative: int = 0
    unscored: int = 0


@dataclass(frozen=True)
class ThreadWeek:
    """One post's comments in a range, with the post."""

    platform: str
    post_id: str
    comments: int
    scored: int
    negative: int
    last_comment_at: datetime
    author_name: str
    author_kind: str
    text: str
    url: str | None
    created_at: datetime


@dataclass(frozen=True)
class HealthEvent:
    """A collector-health alert: a platform blocked ("opened"), recovered, stale or failing."""

    platform: str
    event: str  # opened | recovered | stale | parser | other
    at: datetime


def _range(since: datetime, until: datetime) -> dict[str, Any]:
    return {"since": to_utc_iso(since), "until": to_utc_iso(until)}


class WeeklyQueries(Queries):
    """The digest is its campaign's (campaigns.py): its posts, their comments, its topics'
    readings, its alerts. Collector health alerts are its own too; circuits and when a
    platform was last read are everyone's."""

    @property
    def _week_comments(self) -> str:
        """The export's comments in [since, until), with the upper end also as a range of the
        created_at index: the export's `:until IS NULL OR created_at < :until` keeps SQLite
        from using it, so a past week read every comment stored after it too."""
        return f"(SELECT * FROM ({self._export('comments')}) AS export WHERE created_at < :until)"

    @property
    def _week_posts(self) -> str:
        return f"({self._export('posts')}) AS export"

    def _export(self, kind: str) -> str:
        return export_select(kind, self.campaign, self.sql.dialect)

    # --- volume (the export's posts and comments of the week) ------------------------------

    def week_post_totals(self, since: datetime, until: datetime) -> list[PostTotals]:
        """Per platform, then one row (platform None) for all: posts created in the range."""
        select = (
            "SELECT count(*) AS posts, count(*) FILTER (WHERE author_kind = 'user') AS ugc_posts,"
            " count(*) FILTER (WHERE author_kind = 'kol') AS kol_posts,"
            " count(*) FILTER (WHERE author_kind = 'official') AS official_posts,"
            " count(DISTINCT platform || ':' || author_id) AS authors,"
            " sum(coalesce(likes, 0)) AS likes, sum(coalesce(comments, 0)) AS comments,"
            " sum(coalesce(shares, 0)) AS shares, sum(coalesce(reposts, 0)) AS reposts,"
            " sum(coalesce(plays, 0)) AS plays, count(plays) AS plays_known"
            f" FROM {self._week_posts}"
        )
        rows = self._named(
            f"SELECT platform, {select.removeprefix('SELECT ')} GROUP BY platform"
            " ORDER BY platform",
            _range(since, until),
        ).fetchall()
        total = self._named(select, _range(since, until)).fetchone()
        return [_post_totals(row["platform"], row) for row in rows] + [_post_totals(None, total)]

    def week_comment_totals(self, since: datetime, until: datetime) -> list[CommentTotals]:
        """Per platform, then one row (platform None) for all: comments created in the range,
        by label (P(negative) averaged when the store has it)."""
        select = (
            "count(*) AS comments,"
            " count(DISTINCT c.platform || ':' || c.author_id) AS commenters,"
            " count(*) FILTER (WHERE c.label = 'positive') AS positive,"
            " count(*) FILTER (WHERE c.label = 'neutral') AS neutral,"
            " count(*) FILTER (WHERE c.label = 'negative') AS negative,"
            " count(*) FILTER (WHERE c.label IS NULL) AS unscored,"
            " avg(c.p_negative) AS mean_p_negative FROM c"
        )
        # The week's rows are read once, into a temporary table, for both the per-platform
        # rows and the total: each read is a range of the created_at index and a row lookup
        # per comment, the cost that grows with a week's comments.
        rows = self._named(
            "WITH c AS MATERIALIZED (SELECT platform, author_id, label, p_negative"
            f" FROM {self._week_comments} AS week)"
            f" SELECT 0 AS whole, c.platform, {select} GROUP BY c.platform"
            f" UNION ALL SELECT 1, NULL, {select} ORDER BY whole, platform",
            _range(since, until),
        ).fetchall()
        total = rows.pop()
        return [_comment_totals(row["platform"], row) for row in rows] + [
            _comment_totals(None, total)
        ]

    def week_comment_probabilities(
        self, since: datetime, until: datetime
    ) -> list[tuple[float, float, float]]:
        """P(positive), P(neutral), P(negative) of each comment created in the range that a
        model scored (the same comments as week_comment_totals)."""
        rows = self.sql.execute(
            f"SELECT sentiment, p_neutral, p_negative FROM {self._week_comments} AS week"
            " WHERE sentiment IS NOT NULL AND p_neutral IS NOT NULL AND p_negative IS NOT NULL",
            _range(since, until),
        ).fetchall()
        return [(float(a), float(b), float(c)) for a, b, c in rows]

    def daily_labels(self, bounds: Sequence[tuple[datetime, datetime]]) -> list[LabelCounts]:
        """Comments created in each [start, end) of `bounds` (the days of a week), by label."""
        if not bounds:
            return []
        params: dict[str, Any] = {"since": to_utc_iso(bounds[0][0]), "until": None}
        values = []
        for index, (start, end) in enumerate(bounds):
            values.append(f"({index}, :lo{index}, :hi{index})")
            params[f"lo{index}"] = to_utc_iso(start)
            params[f"hi{index}"] = to_utc_iso(end)
        params["until"] = max(params[f"hi{i}"] for i in range(len(bounds)))
        rows = self._named(
            f"WITH days(i, lo, hi) AS (VALUES {', '.join(values)})"
            " SELECT d.i AS day, count(*) FILTER (WHERE e.label = 'positive') AS positive,"
            " count(*) FILTER (WHERE e.label = 'neutral') AS neutral,"
            " count(*) FILTER (WHERE e.label = 'negative') AS negative,"
            " count(*) FILTER (WHERE e.label IS NULL) AS unscored"
            f" FROM days d JOIN {self._week_comments} e"
            " ON e.created_at >= d.lo AND e.created_at < d.hi GROUP BY d.i",
            params,
        ).fetchall()
        found = {
            row["day"]: LabelCounts(
                positive=int(row["positive"] or 0),
                neutral=int(row["neutral"] or 0),
                negative=int(row["negative"] or 0),
                unscored=int(row["unscored"] or 0),
            )
            for row in rows
        }
        return [found.get(index, LabelCounts()) for index in range(len(bounds))]

    def week_comment_texts(
        self, since: datetime, until: datetime, label: str, limit: int = 5000
    ) -> list[str]:
        """Texts of the range's comments labelled `label`, the most liked first."""
        rows = self.sql.execute(
            f"SELECT text FROM {self._week_comments} AS week WHERE label = :label"
            " ORDER BY coalesce(likes, 0) DESC, created_at, id LIMIT :limit",
            {**_range(since, until), "label": label, "limit": limit},
        ).fetchall()
        return [text for (text,) in rows]

    # --- reach ----------------------------------------------------------------------------

    def topic_readings(self, since: datetime, until: datetime) -> list[TopicPoint]:
        """The export's topic readings in the range, oldest first."""
        rows = self.sql.execute(
            f"SELECT platform, topic, observed_at, views, discussions"
            f" FROM ({self._export('topics')}) AS export ORDER BY platform, topic, observed_at",
            _range(since, until),
        ).fetchall()
        return [TopicPoint(p, t, from_iso(at), v, d) for p, t, at, v, d in rows]

    def topic_reading_before(self, moment: datetime) -> list[TopicPoint]:
        """The newest reading per (platform, topic) taken before `moment` (of two at one
        moment, the later row): one index probe per series, not a year of readings."""
        found = []
        topics = campaign_topics(self.sql, self.campaign)
        for platform, topic in topic_series_keys(self.sql):
            if topics is not None and (platform, topic) not in topics:
                continue  # another campaign's topic
            row = self.sql.execute(
                "SELECT observed_at, views, discussions FROM topic_metrics WHERE platform = ?"
                " AND topic = ? AND observed_at < ? ORDER BY observed_at DESC, pk DESC LIMIT 1",
                (platform, topic, to_utc_iso(moment)),
            ).fetchone()
            if row is not None:
                found.append(TopicPoint(platform, topic, from_iso(row[0]), row[1], row[2]))
        return found

    # --- threads, UGC, partners -----------------------------------------------------------

    def week_threads(self, since: datetime, until: datetime, min_scored: int) -> list[ThreadWeek]:
        """Posts with at least `min_scored` scored comments created in the range."""
        rows = self._named(
            # The week's comments counted first, then their posts looked up (CROSS JOIN keeps
            # that order): SQLite otherwise went through every post ever stored.
            "SELECT e.*, p.author_name, p.author_kind, p.text, p.url, p.created_at FROM"
            " (SELECT platform, post_id, count(*) AS comments, count(label) AS scored,"
            " count(*) FILTER (WHERE label = 'negative') AS negative,"
            " max(created_at) AS last_comment_at"
            f" FROM {self._week_comments} AS week GROUP BY platform, post_id"
            " HAVING count(label) >= :min) e"
            f" {self.sql.dialect.ordered_join} posts p"
            " ON p.platform = e.platform AND p.id = e.post_id"
            " ORDER BY e.platform, e.post_id",
            {**_range(since, until), "min": min_scored},
        ).fetchall()
        return [
            ThreadWeek(
                platform=row["platform"],
                post_id=row["post_id"],
                comments=row["comments"],
                scored=row["scored"],
                negative=int(row["negative"] or 0),
                last_comment_at=from_iso(row["last_comment_at"]),
                author_name=row["author_name"],
                author_kind=row["author_kind"],
                text=row["text"],
                url=row["url"],
                created_at=from_iso(row["created_at"]),
            )
            for row in rows
        ]

    def thread_week_comments(
        self, platform: str, post_id: str, since: datetime, until: datetime
    ) -> list[CommentFacts]:
        """One thread's comments created in the range, oldest first."""
        rows = self._named(
            f"SELECT {COMMENT_FIELDS} FROM {self._week_comments} AS week WHERE platform = :platform"
            " AND post_id = :post ORDER BY created_at, id",
            {**_range(since, until), "platform": platform, "post": post_id},
        ).fetchall()
        return [comment_facts(row) for row in rows]

    def week_posts(
        self,
        since: datetime,
        until: datetime,
        *,
        ugc_only: bool = False,
        platform: str | None = None,
        author_ids: Sequence[str] | None = None,
        limit: int = 5000,
    ) -> list[PostFacts]:
        """The export's posts created in the range: UGC only (score > 0, best first), or of
        `author_ids` on `platform`, or all; oldest first unless UGC."""
        where = ["TRUE"]
        params: dict[str, Any] = {**_range(since, until), "limit": limit}
        if ugc_only:
            where.append("ugc_score > 0")
        if platform is not None:
            where.append("platform = :platform")
            params["platform"] = platform
        if author_ids is not None:
            names = []
            for index, author in enumerate(author_ids):
                params[f"a{index}"] = author
                names.append(f":a{index}")
            where.append(f"author_id IN ({', '.join(names) or 'NULL'})")
        order = "ugc_score DESC, created_at, id" if ugc_only else "created_at, platform, id"
        rows = self._named(
            f"SELECT 0 AS pk, {POST_FIELDS} FROM {self._week_posts}"
            f" WHERE {' AND '.join(where)} ORDER BY {order} LIMIT :limit",
            params,
        ).fetchall()
        return [post_facts(row) for row in rows]

    def followers_before(
        self, platform: str, account_ids: Sequence[str], moment: datetime
    ) -> dict[str, tuple[datetime, int]]:
        """Each account's newest follower snapshot taken before `moment`: (when, followers)."""
        found: dict[str, tuple[datetime, int]] = {}
        for account in account_ids:
            row = self._named(
                "SELECT observed_at, followers FROM account_metrics WHERE platform = ?"
                " AND account_id = ? AND observed_at < ? AND followers IS NOT NULL"
                " ORDER BY observed_at DESC, pk DESC LIMIT 1",
                (platform, account, to_utc_iso(moment)),
            ).fetchone()
            if row is not None:
                found[account] = (from_iso(row["observed_at"]), int(row["followers"]))
        return found

    def first_followers_in(
        self, platform: str, account_ids: Sequence[str], since: datetime, until: datetime
    ) -> dict[str, tuple[datetime, int]]:
        """Each account's first follower snapshot taken in [since, until)."""
        found: dict[str, tuple[datetime, int]] = {}
        for account in account_ids:
            row = self._named(
                "SELECT observed_at, followers FROM account_metrics WHERE platform = ?"
                " AND account_id = ? AND observed_at >= ? AND observed_at < ?"
                " AND followers IS NOT NULL ORDER BY observed_at, pk LIMIT 1",
                (platform, account, to_utc_iso(since), to_utc_iso(until)),
            ).fetchone()
            if row is not None:
                found[account] = (from_iso(row["observed_at"]), int(row["followers"]))
        return found

    def account_names(self, platform: str, account_ids: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for account in account_ids:
            row = self.sql.execute(
                "SELECT name FROM accounts WHERE platform = ? AND id = ?", (platform, account)
            ).fetchone()
            if row is not None:
                found[account] = row[0]
        return found

    # --- coordination ---------------------------------------------------------------------

    def week_messages(
        self, platform: str, since: datetime, until: datetime, limit: int = 20_000
    ) -> list[CommentFacts]:
        """Comments and posts of `platform` created in the range, oldest first; a post shows
        its own id as post_id (near-duplicate search over both)."""
        platform_column = self.sql.dialect.unindexed("platform")
        rows = self._named(
            # `+platform`: the week's rows by created_at, not all of a platform's by its key
            f"SELECT {COMMENT_FIELDS} FROM {self._week_comments} AS week"
            f" WHERE {platform_column} = :platform"
            " UNION ALL SELECT platform, id, id, author_id, text, created_at, likes, NULL"
            f" FROM {self._week_posts} WHERE {platform_column} = :platform"
            " ORDER BY created_at LIMIT :limit",
            {**_range(since, until), "platform": platform, "limit": limit},
        ).fetchall()
        return [comment_facts(row) for row in rows]

    # --- alerts and health ----------------------------------------------------------------

    def week_alerts(self, since: datetime, until: datetime) -> list[OutboxAlert]:
        """The export's alerts created in the range, oldest first, without digests, with who
        acknowledged each (the chat bot's `alert_acks`)."""
        rows = self._named(
            f"SELECT {ALERT_COLUMNS} FROM ({self._export('alerts')}) e"
            f" JOIN alerts a ON a.id = e.id {ALERT_ACK_JOIN} WHERE e.kind != :digest ORDER BY e.id",
            {**_range(since, until), "digest": DIGEST_KIND},
        ).fetchall()
        return [outbox_alert_of(row) for row in rows]

    def health_events(self, until: datetime) -> list[HealthEvent]:
        """Every collector-health alert created before `until`, oldest first."""
        rows = self.sql.execute(
            "SELECT platform, dedupe_key, created_at FROM alerts"
            " WHERE kind = 'collector_health' AND created_at < ? AND platform IS NOT NULL"
            " AND campaign = ? ORDER BY created_at, id",
            (to_utc_iso(until), self.campaign),
        ).fetchall()
        events = []
        for platform, key, at in rows:
            parts = key.split(":")
            if key.startswith("collector_health:") and len(parts) > 2:
                event = parts[2] if parts[2] in ("opened", "recovered") else "other"
            else:
                event = parts[0] if parts[0] in ("stale", "parser") else "other"
            events.append(HealthEvent(platform, event, from_iso(at)))
        return events

    def circuit_states(self) -> dict[str, str]:
        """Each platform's circuit now (closed | open | half_open) that the runtime keeps."""
        rows = self.sql.execute("SELECT platform, state FROM circuits").fetchall()
        return {platform: state for platform, state in rows}

    def last_reading_before(self, platform: str, moment: datetime) -> datetime | None:
        """When anything of `platform` was last read before `moment` (posts, topic readings,
        follower snapshots)."""
        at = to_utc_iso(moment)
        times = [
            self.sql.execute(
                # by (platform, observed_at) (m102), not every post reading of the platform
                "SELECT max(observed_at) FROM post_metrics WHERE platform = ? AND observed_at < ?",
                (platform, at),
            ),
            self.sql.execute(
                "SELECT max(observed_at) FROM account_metrics WHERE platform = ?"
                " AND observed_at < ?",
                (platform, at),
            ),
            self.sql.execute(
                "SELECT max(first_seen) FROM posts WHERE platform = ? AND first_seen < ?",
                (platform, at),
            ),
        ]
        times += [
            self.sql.execute(
                "SELECT max(observed_at) FROM topic_metrics WHERE platform = ? AND topic = ?"
                " AND observed_at < ?",
                (platform, topic, at),
            )
            for series_platform, topic in topic_series_keys(self.sql)
            if series_platform == platform
        ]
        found = [row[0] for cursor in times if (row := cursor.fetchone()) and row[0]]
        return from_iso(max(found)) if found else None

    # --- the digest itself ----------------------------------------------------------------

    def data_span(self) -> tuple[datetime, datetime] | None:
        """The first and last moment the store holds posts or comments for."""
        row = self._named(
            # one min() or max() a SELECT: SQLite reads each from the end of the created_at
            # index, but both at once in one SELECT made it scan every comment
            "SELECT min(a) AS first, max(b) AS last FROM (SELECT (SELECT min(created_at)"
            " FROM posts) AS a, (SELECT max(created_at) FROM posts) AS b UNION ALL SELECT"
            " (SELECT min(created_at) FROM comments), (SELECT max(created_at) FROM comments))"
            " AS ends"
        ).fetchone()
        if not row or row["first"] is None:
            return None
        return from_iso(row["first"]), from_iso(row["last"])

    def alert_by_key(self, dedupe_key: str) -> tuple[int, str] | None:
        """(id, state) of the alert with this dedupe key, if the outbox has it."""
        row = self._named(
            "SELECT id, state FROM alerts WHERE campaign = ? AND dedupe_key = ?",
            (self.campaign, dedupe_key),
        ).fetchone()
        return (int(row["id"]), str(row["state"])) if row else None


def _post_totals(platform: str | None, row: Mapping[str, Any]) -> PostTotals:
    return PostTotals(platform, **{name: int(row[name] or 0) for name in _POST_TOTALS})


def _comment_totals(platform: str | None, row: Mapping[str, Any]) -> CommentTotals:
    mean = row["mean_p_negative"]
    return CommentTotals(
        platform,
        **{name: int(row[name] or 0) for name in _COMMENT_TOTALS},
        mean_p_negative=float(mean) if mean is not None else None,
    )


# The counted fields of the totals, each a column of the same name in their queries.
_POST_TOTALS = tuple(f.name for f in fields(PostTotals) if f.name != "platform")
_COMMENT_TOTALS = tuple(
    f.name for f in fields(CommentTotals) if f.name not in ("platform", "mean_p_negative")
)
