"""Named read queries for the CLI, the demo, the scorer and the collectors: no SQL elsewhere.

What the CLI shows and exports is the store's campaign's (campaigns.py): its posts (its topics,
KOLs, watches), their comments, its topics' series, its KOLs and its posts' authors, its alerts
and labels. Counts of what is collected for every campaign alike (readings, cursors) and what
the scorer and collectors read are not scoped.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from monitor.models import to_utc_iso
from monitor.store.campaigns import (
    account_in_campaign,
    comment_in_campaign,
    label_in_campaign,
    literal,
    post_in_campaign,
    topic_in_campaign,
)
from monitor.store.connection import Queries
from monitor.store.dialect import SQLITE, Dialect

TABLES = (
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

# Each kind's rows from `:since` on, and before `:until` when it is given (the weekly digest
# counts these same rows for one week: alerts/digest/, monitor/store/weekly.py), without the
# ORDER BY, which `export_rows` adds.
_EXPORT_SELECTS: dict[str, str] = {
    "posts": """
        SELECT p.platform, p.id, p.author_id, p.author_name, p.author_kind, p.text,
            p.created_at, p.url, p.topics, p.is_original, p.plays, p.likes, p.comments,
            p.shares, p.reposts,
            (SELECT avg(c.sentiment) FROM comments c
             WHERE c.platform = p.platform AND c.post_id = p.id) AS sentiment,
            p.ugc_score, p.counts_no_longer_reported
        FROM posts p WHERE p.created_at >= :since
            AND (CAST(:until AS TEXT) IS NULL OR p.created_at < :until)""",
    "comments": """
        SELECT platform, id, post_id, parent_id, author_id, text, created_at, likes,
            sentiment, {label} AS label, p_neutral, p_negative
        FROM comments WHERE created_at >= :since
            AND (CAST(:until AS TEXT) IS NULL OR created_at < :until)""",
    "topics": """
        SELECT platform, topic, observed_at, views, discussions
        FROM topic_metrics WHERE observed_at >= :since
            AND (CAST(:until AS TEXT) IS NULL OR observed_at < :until)""",
    "accounts": """
        SELECT platform, id, name, kind, followers, observed_at
        FROM accounts WHERE observed_at >= :since
            AND (CAST(:until AS TEXT) IS NULL OR observed_at < :until)""",
    "alerts": """
        SELECT id, kind, severity, platform, subject_id, title, text, created_at, state,
            dedupe_key
        FROM alerts WHERE created_at >= :since
            AND (CAST(:until AS TEXT) IS NULL OR created_at < :until)""",
}
_EXPORT_ORDER: dict[str, str] = {
    "posts": "p.created_at, p.platform, p.id",
    "comments": "created_at, platform, id",
    "topics": "observed_at, platform, topic",
    "accounts": "platform, id",
    "alerts": "id",
}
EXPORT_KINDS = tuple(_EXPORT_SELECTS)


def export_select(kind: str, campaign: str = "", dialect: Dialect = SQLITE) -> str:
    """The SELECT behind `pingfan export KIND` (no ORDER BY), with `:since` and `:until`
    parameters: the digest's figures for a week are aggregates over exactly these rows. With a
    `campaign`, only that campaign's rows (every row for campaign '')."""
    select = _EXPORT_SELECTS[kind]
    if kind == "comments":  # the label as the campaign reads it
        select = select.replace("{label}", label_in_campaign(campaign, "comments"))
    if not campaign:
        return select
    return f"{select} AND {_export_scope(kind, campaign, dialect)}"


def _export_scope(kind: str, campaign: str, dialect: Dialect) -> str:
    if kind == "posts":
        return post_in_campaign(dialect, campaign, "p")
    if kind == "comments":
        return comment_in_campaign(dialect, campaign, "comments")
    if kind == "topics":
        return topic_in_campaign(campaign, "topic_metrics")
    if kind == "accounts":
        return account_in_campaign(dialect, campaign, "accounts")
    return f"campaign = {literal(campaign)}"  # alerts


class ReportsQueries(Queries):
    def table_counts(self) -> dict[str, int]:
        """Rows per table; posts, comments, alerts and labels as the campaign counts them."""
        scope = {
            "posts": post_in_campaign(self.sql.dialect, self.campaign, "posts"),
            "comments": comment_in_campaign(self.sql.dialect, self.campaign, "comments"),
            "alerts": f"campaign = {literal(self.campaign)}",
            "labels": f"campaign = {literal(self.campaign)}",
        }
        return {
            table: self.sql.execute(
                f"SELECT count(*) FROM {table} WHERE {scope.get(table, '1 = 1')}"
            ).fetchone()[0]
            for table in TABLES
        }

    def export_rows(
        self, kind: str, since: str | None = None, until: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Rows for `pingfan export KIND`, from `since` (UTC ISO) on and, when given, before
        `until`, streamed."""
        if kind not in _EXPORT_SELECTS:
            raise ValueError(f"unknown export kind {kind!r}; use one of {', '.join(EXPORT_KINDS)}")
        select = export_select(kind, self.campaign, self.sql.dialect)
        return self.query(
            f"{select} ORDER BY {_EXPORT_ORDER[kind]}", {"since": since or "", "until": until}
        )

    def latest_topic_readings(self, platform: str | None = None) -> list[dict[str, Any]]:
        """The newest views/discussions reading per (platform, topic)."""
        return list(
            self.query(
                "SELECT m.platform, m.topic, m.views, m.discussions, m.observed_at"
                " FROM topic_metrics m WHERE m.pk IN (SELECT max(pk) FROM topic_metrics"
                " GROUP BY platform, topic)"
                " AND (CAST(:platform AS TEXT) IS NULL OR m.platform = :platform)"
                f" AND {topic_in_campaign(self.campaign, 'm')}"
                " ORDER BY m.platform, m.topic",
                {"platform": platform},
            )
        )

    def alert_states(self) -> dict[str, int]:
        rows = self.sql.execute(
            "SELECT state, count(*) FROM alerts WHERE campaign = ? GROUP BY state",
            (self.campaign,),
        ).fetchall()
        return {state: n for state, n in rows}

    def label_counts(self) -> dict[str | None, int]:
        """How many comments carry each sentiment label (None: not scored yet)."""
        rows = self.sql.execute(
            f"SELECT label, count(*) FROM (SELECT {label_in_campaign(self.campaign)} AS label"
            f" FROM comments WHERE {comment_in_campaign(self.sql.dialect, self.campaign)})"
            " AS c GROUP BY label"
        ).fetchall()
        return {label: n for label, n in rows}

    def comment_probabilities(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> list[tuple[float, float, float]]:
        """P(positive), P(neutral), P(negative) of each comment a model scored, created in
        [since, until) (either end open when None)."""
        # Only the ends given are in the statement: `? IS NULL OR created_at >= ?` would keep
        # SQLite from the created_at index, and read every comment ever stored.
        where, params = "", list[str]()
        if since is not None:
            where, params = where + " AND created_at >= ?", [*params, to_utc_iso(since)]
        if until is not None:
            where, params = where + " AND created_at < ?", [*params, to_utc_iso(until)]
        rows = self.sql.execute(
            "SELECT sentiment, p_neutral, p_negative FROM comments"
            " WHERE p_negative IS NOT NULL AND p_neutral IS NOT NULL AND sentiment IS NOT NULL"
            f" AND {comment_in_campaign(self.sql.dialect, self.campaign, 'comments')}" + where,
            params,
        ).fetchall()
        return [(float(a), float(b), float(c)) for a, b, c in rows]

    def most_negative_threads(self, min_comments: int = 20, limit: int = 3) -> list[dict]:
        """Posts with at least `min_comments` comments, by share of negative comments."""
        return list(
            self.query(
                "SELECT p.platform, p.id, p.text, count(*) AS n,"
                " avg(CASE WHEN c.label = 'negative' THEN 1.0 WHEN c.label IS NOT NULL"
                " THEN 0.0 END) AS share"
                f" FROM (SELECT platform, post_id, {label_in_campaign(self.campaign)} AS label"
                " FROM comments) c JOIN posts p ON p.platform = c.platform AND p.id = c.post_id"
                # by the post's key: PostgreSQL then knows its other columns are one per group
                " GROUP BY p.pk HAVING count(*) >= ? ORDER BY share DESC, p.id LIMIT ?",
                (min_comments, limit),
            )
        )

    def uncertain_comments(self, limit: int) -> list[dict[str, Any]]:
        """Scored comments of the campaign's posts the model is least sure about (highest
        entropy first) that its team has not labelled: candidates for `pingfan nlp label`."""
        return list(
            self.query(
                "SELECT platform, id, post_id, text, created_at, sentiment, p_neutral,"
                " p_negative, entropy FROM comments"
                " WHERE entropy IS NOT NULL AND NOT EXISTS (SELECT 1 FROM labels l"
                " WHERE l.campaign = ? AND l.platform = comments.platform"
                " AND l.comment_id = comments.id)"
                f" AND {comment_in_campaign(self.sql.dialect, self.campaign, 'comments')}"
                " AND trim(text) != '' ORDER BY entropy DESC, pk LIMIT ?",
                (self.campaign, limit),
            )
        )

    def comment_texts_for_adaptation(self, limit: int) -> list[str]:
        """The newest stored comments' texts that the team has not labelled."""
        rows = self.sql.execute(
            "SELECT text FROM comments WHERE coalesce(model_version, '') != 'team'"
            " AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.campaign = ?"
            " AND l.platform = comments.platform AND l.comment_id = comments.id)"
            " ORDER BY created_at DESC LIMIT ?",
            (self.campaign, limit),
        ).fetchall()
        return [text for (text,) in rows]

    def sentiment_split(self, platform: str | None = None) -> dict[str, float]:
        """Share of each label among scored comments (of one platform, or all)."""
        rows = self.sql.execute(
            f"SELECT label, count(*) FROM (SELECT {label_in_campaign(self.campaign)} AS label"
            " FROM comments WHERE CAST(:platform AS TEXT) IS NULL OR platform = :platform) AS c"
            " WHERE label IS NOT NULL GROUP BY label",
            {"platform": platform},
        ).fetchall()
        total = sum(n for _, n in rows)
        return {label: n / total for label, n in rows} if total else {}

    def comment_texts(self, platform: str, post_id: str) -> list[str]:
        rows = self.sql.execute(
            "SELECT text FROM comments WHERE platform = ? AND post_id = ? ORDER BY created_at",
            (platform, post_id),
        ).fetchall()
        return [text for (text,) in rows]

    def top_ugc(self, limit: int = 5) -> list[dict[str, Any]]:
        return list(
            self.query(
                "SELECT platform, id, author_name, text, url, ugc_score FROM posts"
                " WHERE ugc_score > 0 ORDER BY ugc_score DESC, id LIMIT ?",
                (limit,),
            )
        )

    def comments_for_dedup(self) -> Iterator[dict[str, Any]]:
        return self.query("SELECT id, author_id, text, created_at FROM comments ORDER BY pk")

    def unscored_comments(self, limit: int) -> list[dict[str, Any]]:
        return list(
            self.query(
                "SELECT platform, id, text FROM comments WHERE sentiment IS NULL LIMIT ?", (limit,)
            )
        )

    def posts_without_ugc_score(self, limit: int) -> list[dict[str, Any]]:
        return list(
            self.query(
                "SELECT platform, id, text, author_kind, is_original, media, likes, comments,"
                " shares, reposts, topics FROM posts WHERE ugc_score IS NULL LIMIT ?",
                (limit,),
            )
        )

    def comment_poll_state(self, platform: str, source: str) -> list[dict[str, Any]]:
        """Per post of `platform` that may have comments: its listed count, age and the
        comment cursor (value, updated_at) of `source`, newest posts first."""
        return list(
            self.query(
                # -1: the platform no longer reports the count (douyin_comments.COUNT_UNKNOWN)
                "SELECT p.id, CASE WHEN p.counts_no_longer_reported = 0 THEN p.comments ELSE -1 END"
                " AS comments,"
                " p.created_at, p.observed_at, c.value, c.updated_at"
                " FROM posts p LEFT JOIN cursors c ON c.source = ? AND c.key = p.id"
                " WHERE p.platform = ? AND coalesce(p.comments, 1) > 0"
                " ORDER BY p.created_at DESC",
                (source, platform),
            )
        )

    def posts_to_refresh(
        self, platform: str, *, created_after: datetime, observed_before: datetime, limit: int
    ) -> list[str]:
        """Ids of posts younger than `created_after` whose counts were last read before
        `observed_before`, the longest unread first."""
        rows = self.sql.execute(
            "SELECT id FROM posts WHERE platform = ? AND created_at >= ? AND observed_at < ?"
            " ORDER BY observed_at LIMIT ?",
            (platform, to_utc_iso(created_after), to_utc_iso(observed_before), limit),
        ).fetchall()
        return [post_id for (post_id,) in rows]

    def threads_turning_negative(
        self, platform: str, *, since: datetime, min_recent: int = 5, rise: float = 0.15
    ) -> set[str]:
        """Posts whose comments since `since` are markedly more negative than the thread's
        previous three days: they count as hot however old the post is."""
        rows = self.sql.execute(
            "SELECT post_id FROM comments WHERE platform = :platform AND label IS NOT NULL"
            " AND created_at >= :baseline GROUP BY post_id"
            " HAVING sum(CASE WHEN created_at >= :since THEN 1 ELSE 0 END) >= :min_recent"
            " AND avg(CASE WHEN created_at >= :since THEN"
            " (CASE WHEN label = 'negative' THEN 1.0 ELSE 0.0 END) END)"
            " - avg(CASE WHEN label = 'negative' THEN 1.0 ELSE 0.0 END) > :rise",
            {
                "platform": platform,
                "since": to_utc_iso(since),
                "baseline": to_utc_iso(since - timedelta(days=3)),
                "min_recent": min_recent,
                "rise": rise,
            },
        ).fetchall()
        return {post_id for (post_id,) in rows}

    def alert_kinds(self) -> dict[str, int]:
        """How many alerts of each kind the outbox holds."""
        rows = self.sql.execute(
            "SELECT kind, count(*) FROM alerts WHERE campaign = ? GROUP BY kind"
            " ORDER BY count(*) DESC, kind",
            (self.campaign,),
        ).fetchall()
        return {kind: n for kind, n in rows}

    def comments_per_day(self) -> dict[str, int]:
        """Comments by UTC day of their creation ("2019-08-16" → count)."""
        rows = self.sql.execute(
            "SELECT substr(created_at, 1, 10), count(*) FROM comments GROUP BY 1 ORDER BY 1"
        ).fetchall()
        return {day: n for day, n in rows}

    def alerts_of_kind(self, kind: str) -> list[dict[str, Any]]:
        """Alerts of one kind, oldest first: subject, title, when."""
        return list(
            self.query(
                "SELECT platform, subject_id, title, created_at FROM alerts WHERE kind = ?"
                " AND campaign = ? ORDER BY id",
                (kind, self.campaign),
            )
        )
