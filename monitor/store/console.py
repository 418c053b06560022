"""Named queries of the web console (alerts/web/): accounts and sessions, the overview's
figures, alert history, threads, the UGC board and its marks, KOL uploads.

The query group `store.console`. The console's other reads and writes are the ones the chat
bot uses (`store.team.ack_alert`, `store.outbox.mute_alert_subject`, `store.labels.add_label`,
`store.team.next_label_candidate`, `store.team.kol_table`), so a press in the browser and a
press in the chat leave the same rows; search reads the index as `store.content.text_match`
words the query. Every read is bounded by an
indexed column or a LIMIT; the overview's whole-store figures (export_counts, probability_sums,
comments_by_day) come from `comment_hours` (m100), a summary the store's triggers keep exact.
`now` is passed in (the clock may be simulated). The console serves the config's campaign
(campaigns.py): its alerts, its counts, its threads, its UGC board and its label queue (the
bot's), its UGC marks and its search hits. Its sentiment charts are read from `comment_hours`
while the database holds one campaign (everyone's comments are its comments then), and from
the campaign's own comments once it holds several (`_among_others`). The same SQL runs on
SQLite and PostgreSQL; where they differ (a local day of a stored time, substring and
case-free matching) the dialect says it (dialect.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from monitor.models import from_iso, to_utc_iso
from monitor.store.campaigns import (
    comment_in_campaign,
    label_in_campaign,
    literal,
    post_in_campaign,
)
from monitor.store.connection import Queries
from monitor.store.content import TextMatch
from monitor.store.rows import record_of, time_of

Role = Literal["viewer", "editor"]
ROLES: tuple[Role, ...] = ("viewer", "editor")
UgcMark = Literal["thanked", "featured", "not_suitable"]
UGC_MARKS: tuple[UgcMark, ...] = ("thanked", "featured", "not_suitable")
# The kinds `GET /api/summary` counts exactly as `pingfan export KIND` writes them.
COUNTED_KINDS = ("posts", "comments", "alerts")
# The WHERE of `pingfan export`'s SELECTs (monitor/store/reports.py): the console's counts
# are export's, and a test compares them with `pingfan export` itself.
# A search's time range narrows the index to the range's rows when it holds at most this many
# comments (finding its first and last row reads that many index entries).
NARROW_RANGE = 200_000
# The first moment of a `comment_hours` row, as a stored time.
_HOUR_START = "hour || ':00:00'"
_LATEST = "9"  # after every stored time (an open range's end, so that it bounds an index)
_EXPORT_WHERE = "created_at >= :since AND (CAST(:until AS TEXT) IS NULL OR created_at < :until)"


@dataclass(frozen=True)
class WebUser:
    name: str
    role: Role
    created_at: datetime
    last_visit_at: datetime | None


@dataclass(frozen=True)
class WebSession:
    user: str
    role: Role
    csrf_token: str
    expires_at: datetime
    previous_visit_at: datetime | None  # the visit before this session began


@dataclass(frozen=True)
class ProbabilitySums:
    n: int  # scored comments
    positive: float
    neutral: float
    negative: float


@dataclass(frozen=True)
class TopicReading:
    platform: str
    topic: str
    views: int | None
    discussions: int | None
    observed_at: datetime


@dataclass(frozen=True)
class AlertRow:
    id: int
    kind: str
    severity: str
    platform: str | None
    subject_id: str | None
    title: str
    text: str
    created_at: datetime
    state: str
    acked_by: str | None
    acked_at: datetime | None
    muted_until: datetime | None


@dataclass(frozen=True)
class ThreadRow:
    platform: str
    id: str
    author_kind: str
    text: str
    url: str | None
    created_at: datetime
    comments: int  # stored comments in the window
    recent: int  # of them, in the last day of the window: the growth
    scored: int
    negative_share: float | None  # mean P(negative) of the scored ones


@dataclass(frozen=True)
class PostRow:
    platform: str
    id: str
    author_id: str
    author_name: str
    author_kind: str
    text: str
    url: str | None
    created_at: datetime
    plays: int | None
    likes: int | None
    comments: int | None
    shares: int | None
    reposts: int | None
    ugc_score: float | None


@dataclass(frozen=True)
class CommentRow:
    platform: str
    id: str
    author_id: str
    text: str
    created_at: datetime
    likes: int | None
    label: str | None
    p_negative: float | None


@dataclass(frozen=True)
class MetricReading:
    observed_at: datetime
    plays: int | None
    likes: int | None
    comments: int | None


@dataclass(frozen=True)
class FoundText:
    """A post or comment that a search found; `post_id` is its thread (the post itself, or
    the comment's post) and `pk` the row, by which search pages go on."""

    kind: str  # "posts" or "comments"
    pk: int
    platform: str
    id: str
    post_id: str
    text: str
    created_at: datetime


@dataclass(frozen=True)
class UgcItem:
    post: PostRow
    mark: UgcMark | None
    marked_by: str | None


_POST = (
    "p.platform, p.id, p.author_id, p.author_name, p.author_kind, p.text, p.url, p.created_at,"
    " p.plays, p.likes, p.comments, p.shares, p.reposts, p.ugc_score"
)


def _post(row: dict[str, Any]) -> PostRow:
    return record_of(PostRow, row, created_at=time_of(row))


class ConsoleQueries(Queries):
    def _rows(self, sql: str, params: dict[str, Any] | Sequence[Any] = ()) -> list[dict]:
        return list(self.sql.stream(sql, params))

    # --- accounts and sessions ---------------------------------------------------------

    def add_user(self, name: str, role: Role, password_hash: str, at: datetime) -> bool:
        """A new account; False when the name is taken."""
        with self.sql.atomic():
            cursor = self.sql.execute(
                "INSERT INTO web_users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (name) DO NOTHING",
                (name, role, password_hash, to_utc_iso(at)),
            )
            return cursor.rowcount > 0

    def users(self) -> list[WebUser]:
        rows = self._rows(
            "SELECT name, role, created_at, last_visit_at FROM web_users ORDER BY name"
        )
        return [
            WebUser(r["name"], r["role"], from_iso(r["created_at"]), time_of(r, "last_visit_at"))
            for r in rows
        ]

    def remove_user(self, name: str) -> bool:
        """Delete the account and end its sessions; False when there is none."""
        with self.sql.atomic():
            self.sql.execute("DELETE FROM web_sessions WHERE user_name = ?", (name,))
            return self.sql.execute("DELETE FROM web_users WHERE name = ?", (name,)).rowcount > 0

    def credentials(self, name: str) -> tuple[Role, str] | None:
        """(role, password hash) of account `name`."""
        row = self.sql.execute(
            "SELECT role, password_hash FROM web_users WHERE name = ?", (name,)
        ).fetchone()
        return (row[0], row[1]) if row else None

    def open_session(
        self, token_hash: str, name: str, csrf_token: str, at: datetime, expires_at: datetime
    ) -> None:
        """A session for `name`, remembering the visit before it; expired sessions go."""
        with self.sql.atomic():
            self.sql.execute("DELETE FROM web_sessions WHERE expires_at <= ?", (to_utc_iso(at),))
            self.sql.execute(
                "INSERT INTO web_sessions (token_hash, user_name, csrf_token, created_at,"
                " expires_at, previous_visit_at)"
                " SELECT ?, name, ?, ?, ?, last_visit_at FROM web_users WHERE name = ?",
                (token_hash, csrf_token, to_utc_iso(at), to_utc_iso(expires_at), name),
            )
            self.sql.execute(
                "UPDATE web_users SET last_visit_at = ? WHERE name = ?", (to_utc_iso(at), name)
            )

    def session(self, token_hash: str, now: datetime) -> WebSession | None:
        """The live session with this token hash (its account still there)."""
        rows = self._rows(
            "SELECT s.user_name AS user, u.role, s.csrf_token, s.expires_at, s.previous_visit_at"
            " FROM web_sessions s JOIN web_users u ON u.name = s.user_name"
            " WHERE s.token_hash = ? AND s.expires_at > ?",
            (token_hash, to_utc_iso(now)),
        )
        if not rows:
            return None
        row = rows[0]
        return record_of(
            WebSession,
            row,
            expires_at=time_of(row, "expires_at"),
            previous_visit_at=time_of(row, "previous_visit_at"),
        )

    def close_session(self, token_hash: str) -> None:
        with self.sql.atomic():
            self.sql.execute("DELETE FROM web_sessions WHERE token_hash = ?", (token_hash,))

    def note_visit(self, name: str, at: datetime) -> None:
        with self.sql.atomic():
            self.sql.execute(
                "UPDATE web_users SET last_visit_at = ? WHERE name = ?", (to_utc_iso(at), name)
            )

    # --- the overview ------------------------------------------------------------------

    def export_counts(self) -> dict[str, int]:
        """How many records `pingfan export KIND` (without --since) writes, per kind."""
        if self.campaign:  # the campaign's comments: counted, `comment_hours` is everyone's
            return self._counts({"since": "", "until": None})
        counts = self._counts({"since": "", "until": None}, kinds=("posts", "alerts"))
        # export writes every comment: `comment_hours` (m100) counts them without a scan
        row = self.sql.execute("SELECT coalesce(sum(comments), 0) FROM comment_hours").fetchone()
        return {**counts, "comments": int(row[0])}

    def counts_between(self, since: datetime, until: datetime) -> dict[str, int]:
        """Posts, comments and alerts created in [since, until) (export's rows of that span)."""
        return self._counts({"since": to_utc_iso(since), "until": to_utc_iso(until)})

    def _counts(
        self, bounds: dict[str, Any], kinds: Sequence[str] = COUNTED_KINDS
    ) -> dict[str, int]:
        # export's own WHERE (`_EXPORT_WHERE`), counted from the created_at index alone:
        # counting export's whole SELECT would work out each post's mean sentiment first.
        # The campaign's rows only, as export's (campaigns.py).
        dialect = self.sql.dialect
        scope = {
            "posts": post_in_campaign(dialect, self.campaign, "posts"),
            "comments": comment_in_campaign(dialect, self.campaign, "comments"),
            "alerts": f"campaign = {literal(self.campaign)}",
        }
        return {
            kind: int(
                self.sql.execute(
                    f"SELECT count(*) FROM {kind} WHERE {_EXPORT_WHERE} AND {scope[kind]}",
                    bounds,
                ).fetchone()[0]
            )
            for kind in kinds
        }

    def probability_sums(self, since: datetime | None = None) -> ProbabilitySums:
        """Sums of P(positive), P(neutral), P(negative) over the scored comments created
        since `since` (all of them without it); a two-class score counts as P(negative) =
        1 - P(positive), P(neutral) = 0, as the store keeps it. Whole hours are read from
        `comment_hours` (m100), the part of an hour before them from the comments."""
        if self._among_others():
            return self._campaigns_probability_sums(since)
        columns = ", ".join(
            f"coalesce(sum({c}), 0)" for c in ("scored", "positive", "neutral", "negative")
        )
        if since is None:
            row = self.sql.execute(f"SELECT {columns} FROM comment_hours").fetchone()
        else:
            whole = _next_hour(since)
            row = self.sql.execute(
                f"SELECT {columns} FROM (SELECT scored, positive, neutral, negative"
                " FROM comment_hours WHERE hour >= :whole UNION ALL"
                " SELECT 1, sentiment, coalesce(p_neutral, 0), coalesce(p_negative, 1 - sentiment)"
                " FROM comments WHERE created_at >= :since AND created_at < :whole_at"
                " AND sentiment IS NOT NULL) AS parts",
                {
                    "whole": _hour_key(whole),
                    "whole_at": to_utc_iso(whole),
                    "since": to_utc_iso(since),
                },
            ).fetchone()
        return ProbabilitySums(int(row[0]), float(row[1]), float(row[2]), float(row[3]))

    def _campaigns_probability_sums(self, since: datetime | None) -> ProbabilitySums:
        """`probability_sums` of the campaign's own comments (a scan of them since `since`)."""
        row = self.sql.execute(
            "SELECT count(*), coalesce(sum(sentiment), 0), coalesce(sum(coalesce(p_neutral, 0)),"
            " 0), coalesce(sum(coalesce(p_negative, 1 - sentiment)), 0) FROM comments"
            " WHERE sentiment IS NOT NULL AND created_at >= ?"
            f" AND {comment_in_campaign(self.sql.dialect, self.campaign, 'comments')}",
            (to_utc_iso(since) if since else "",),
        ).fetchone()
        return ProbabilitySums(int(row[0]), float(row[1]), float(row[2]), float(row[3]))

    def _among_others(self) -> bool:
        """Whether other campaigns share the database with this one: then `comment_hours`,
        which counts every comment, is not this campaign's figure."""
        if not self.campaign:
            return False
        row = self.sql.execute("SELECT count(*) FROM campaigns WHERE id != ?", (self.campaign,))
        return int(row.fetchone()[0]) > 0

    def latest_topic_readings(self, until: datetime) -> list[TopicReading]:
        """The newest reading per (platform, topic) up to `until`: each series found by one
        seek in its index, and its newest reading by another (a GROUP BY read a year of
        15-minute readings)."""
        readings = []
        series = self._next_topic_series("", None)
        while series is not None:
            newest = self.sql.execute(
                "SELECT views, discussions, observed_at FROM topic_metrics"
                " WHERE platform = ? AND topic = ? AND observed_at <= ?"
                " ORDER BY observed_at DESC LIMIT 1",
                (*series, to_utc_iso(until)),
            ).fetchone()
            if newest is not None:
                readings.append(TopicReading(*series, newest[0], newest[1], from_iso(newest[2])))
            series = self._next_topic_series(*series)
        return readings

    def _next_topic_series(self, platform: str, topic: str | None) -> tuple[str, str] | None:
        """The (platform, topic) after this one in the index: the platform's next topic, or
        the next platform's first (a row-value comparison would walk the series' rows)."""
        row = None
        if topic is not None:
            row = self.sql.execute(
                "SELECT platform, topic FROM topic_metrics WHERE platform = ? AND topic > ?"
                " ORDER BY topic LIMIT 1",
                (platform, topic),
            ).fetchone()
        if row is None:
            row = self.sql.execute(
                "SELECT platform, topic FROM topic_metrics WHERE platform > ?"
                " ORDER BY platform, topic LIMIT 1",
                (platform,),
            ).fetchone()
        return (row[0], row[1]) if row else None

    def topic_views_by_day(
        self, platform: str, topic: str, *, since: datetime, until: datetime, offset_hours: int
    ) -> list[tuple[str, int]]:
        """(local day, the day's last views reading) of one topic in [since, until): one
        index seek a day (grouping read every 15-minute reading; views only grow, so the last
        reading is the day's highest)."""
        shift = timedelta(hours=offset_hours)
        points = []
        day = (since.astimezone(UTC) + shift).date()
        while (start := datetime(day.year, day.month, day.day, tzinfo=UTC) - shift) < until:
            row = self.sql.execute(
                "SELECT views FROM topic_metrics WHERE platform = ? AND topic = ?"
                " AND observed_at >= ? AND observed_at < ? AND views IS NOT NULL"
                " ORDER BY observed_at DESC LIMIT 1",
                (
                    platform,
                    topic,
                    to_utc_iso(max(start, since)),
                    to_utc_iso(min(start + timedelta(days=1), until)),
                ),
            ).fetchone()
            if row is not None:
                points.append((day.isoformat(), int(row[0])))
            day += timedelta(days=1)
        return points

    def comments_by_day(
        self, *, since: datetime, until: datetime, offset_hours: int
    ) -> list[tuple[str, int]]:
        """(local day, comments created that day) in [since, until): whole hours from
        `comment_hours` (m100), the parts of an hour at either end from the comments."""
        shift = f"{offset_hours:+d} hours"
        day_of = self.sql.dialect.local_date  # the local day of a stored UTC time
        if self._among_others():  # the campaign's own comments, a scan of the range
            rows = self.sql.execute(
                f"SELECT {day_of('created_at', ':shift')} AS day, count(*) FROM comments"
                " WHERE created_at >= :since AND created_at < :until"
                f" AND {comment_in_campaign(self.sql.dialect, self.campaign, 'comments')}"
                " GROUP BY day ORDER BY day",
                {"shift": shift, "since": to_utc_iso(since), "until": to_utc_iso(until)},
            ).fetchall()
            return [(str(day), int(n)) for day, n in rows]
        first, last = _next_hour(since), _hour_start(until)
        if first >= last:  # less than one whole hour: the comments themselves
            first = last = until
        rows = self.sql.execute(
            "SELECT day, sum(n) FROM ("
            f" SELECT {day_of(_HOUR_START, ':shift')} AS day, comments AS n"
            " FROM comment_hours WHERE hour >= :first AND hour < :last"
            f" UNION ALL SELECT {day_of('created_at', ':shift')}, 1 FROM comments"
            " WHERE created_at >= :since AND created_at < :first_at"
            f" UNION ALL SELECT {day_of('created_at', ':shift')}, 1 FROM comments"
            " WHERE created_at >= :last_at AND created_at < :until) AS parts"
            " GROUP BY day HAVING sum(n) > 0 ORDER BY day",
            {
                "shift": shift,
                "first": _hour_key(first),
                "last": _hour_key(last),
                "since": to_utc_iso(since),
                "first_at": to_utc_iso(first),
                "last_at": to_utc_iso(last),
                "until": to_utc_iso(until),
            },
        ).fetchall()
        return [(str(day), int(n)) for day, n in rows]

    # --- alerts -------------------------------------------------------------------------

    def alerts(
        self,
        now: datetime,
        *,
        kind: str | None = None,
        severity: str | None = None,
        platform: str | None = None,
        acked: bool | None = None,
        subject_id: str | None = None,
        after_id: int = 0,
        limit: int = 100,
    ) -> list[AlertRow]:
        """The newest alerts first, filtered; `after_id` keeps only newer ones (live updates)."""
        rows = self._rows(
            "SELECT a.id, a.kind, a.severity, a.platform, a.subject_id, a.title, a.text,"
            " a.created_at, a.state, k.acked_by, k.acked_at, m.until AS muted_until"
            " FROM alerts a LEFT JOIN alert_acks k ON k.alert_id = a.id"
            " LEFT JOIN mutes m ON m.campaign = a.campaign"
            " AND m.platform = coalesce(a.platform, '')"
            " AND m.subject_id = a.subject_id AND m.until > :now"
            " WHERE a.campaign = :campaign"
            " AND a.id > :after AND (CAST(:kind AS TEXT) IS NULL OR a.kind = :kind)"
            " AND (CAST(:severity AS TEXT) IS NULL OR a.severity = :severity)"
            " AND (CAST(:platform AS TEXT) IS NULL OR a.platform = :platform)"
            " AND (CAST(:acked AS INTEGER) IS NULL"
            " OR (CASE WHEN k.alert_id IS NULL THEN 0 ELSE 1 END) = :acked)"
            " AND (CAST(:subject AS TEXT) IS NULL OR a.subject_id = :subject)"
            " ORDER BY a.id DESC LIMIT :limit",
            {
                "campaign": self.campaign,
                "now": to_utc_iso(now),
                "after": after_id,
                "kind": kind,
                "severity": severity,
                "platform": platform,
                "acked": acked,
                "subject": subject_id,
                "limit": limit,
            },
        )
        return [_alert_row(r) for r in rows]

    def alerts_about(self, platform: str, subject_id: str, now: datetime) -> list[AlertRow]:
        return self.alerts(now, platform=platform, subject_id=subject_id, limit=500)

    def newest_alert_id(self) -> int:
        return int(
            self.sql.execute(
                "SELECT coalesce(max(id), 0) FROM alerts WHERE campaign = ?", (self.campaign,)
            ).fetchone()[0]
        )

    def content_mark(self) -> tuple[int, int]:
        """(newest post row, newest comment row): it moves when anything new is stored."""
        row = self.sql.execute(
            "SELECT (SELECT coalesce(max(pk), 0) FROM posts),"
            " (SELECT coalesce(max(pk), 0) FROM comments)"
        ).fetchone()
        return int(row[0]), int(row[1])

    def alert_kinds(self) -> list[str]:
        rows = self.sql.execute(
            "SELECT DISTINCT kind FROM alerts WHERE campaign = ? ORDER BY kind", (self.campaign,)
        ).fetchall()
        return [k for (k,) in rows]

    # --- threads ------------------------------------------------------------------------

    def threads(
        self,
        *,
        since: datetime,
        until: datetime,
        recent_since: datetime,
        platform: str | None = None,
        author_kind: str | None = None,
        limit: int = 50,
    ) -> list[ThreadRow]:
        """Posts by the comments they drew in [since, until): the most negative share first,
        then the most comments since `recent_since` (the growth)."""
        rows = self._rows(
            "WITH c AS (SELECT platform, post_id, count(*) AS n,"
            " count(*) FILTER (WHERE created_at >= :recent) AS recent,"
            " count(sentiment) AS scored,"
            " avg(coalesce(p_negative, 1 - sentiment)) AS negative FROM comments"
            " WHERE created_at >= :since AND created_at < :until"
            " AND (CAST(:platform AS TEXT) IS NULL OR platform = :platform)"
            " GROUP BY platform, post_id)"
            " SELECT p.platform, p.id, p.author_kind, p.text, p.url, p.created_at,"
            " c.n, c.recent, c.scored, c.negative FROM c"
            " JOIN posts p ON p.platform = c.platform AND p.id = c.post_id"
            " WHERE (CAST(:kind AS TEXT) IS NULL OR p.author_kind = :kind)"
            f" AND {post_in_campaign(self.sql.dialect, self.campaign, 'p')}"
            " ORDER BY c.negative IS NULL, c.negative DESC, c.recent DESC, c.n DESC,"
            " p.platform, p.id"
            " LIMIT :limit",
            {
                "since": to_utc_iso(since),
                "until": to_utc_iso(until),
                "recent": to_utc_iso(recent_since),
                "platform": platform,
                "kind": author_kind,
                "limit": limit,
            },
        )
        return [
            ThreadRow(
                platform=r["platform"],
                id=r["id"],
                author_kind=r["author_kind"],
                text=r["text"],
                url=r["url"],
                created_at=from_iso(r["created_at"]),
                comments=int(r["n"]),
                recent=int(r["recent"] or 0),
                scored=int(r["scored"]),
                negative_share=r["negative"],
            )
            for r in rows
        ]

    def post(self, platform: str, post_id: str) -> PostRow | None:
        rows = self._rows(
            f"SELECT {_POST} FROM posts p WHERE p.platform = ? AND p.id = ?", (platform, post_id)
        )
        return _post(rows[0]) if rows else None

    def post_readings(self, platform: str, post_id: str, limit: int = 500) -> list[MetricReading]:
        """A post's count readings, oldest first (the newest `limit`)."""
        rows = self.sql.execute(
            "SELECT observed_at, plays, likes, comments FROM (SELECT * FROM post_metrics"
            " WHERE platform = ? AND post_id = ? ORDER BY observed_at DESC LIMIT ?) AS newest"
            " ORDER BY observed_at",
            (platform, post_id, limit),
        ).fetchall()
        return [MetricReading(from_iso(at), pl, li, co) for at, pl, li, co in rows]

    def post_comments(
        self, platform: str, post_id: str, limit: int = 200, upto: str | None = None
    ) -> list[CommentRow]:
        """A thread's comments, newest first; with `upto` (a comment's id), that comment and
        the ones made before it."""
        rows = self._rows(
            "SELECT platform, id, author_id, text, created_at, likes,"
            f" {label_in_campaign(self.campaign)} AS label,"  # its team's label over the model's
            " coalesce(p_negative, 1 - sentiment) AS p_negative FROM comments"
            " WHERE platform = :platform AND post_id = :post"
            " AND (CAST(:upto AS TEXT) IS NULL OR created_at <= (SELECT created_at FROM comments"
            " WHERE platform = :platform AND id = :upto AND post_id = :post))"
            " ORDER BY created_at DESC LIMIT :limit",
            {"platform": platform, "post": post_id, "upto": upto, "limit": limit},
        )
        return [
            CommentRow(
                r["platform"],
                r["id"],
                r["author_id"],
                r["text"],
                from_iso(r["created_at"]),
                r["likes"],
                r["label"],
                r["p_negative"],
            )
            for r in rows
        ]

    def newest_comment_of(self, platform: str, post_id: str) -> str | None:
        """The id of a thread's newest comment (what its keywords are kept by)."""
        row = self.sql.execute(
            "SELECT id FROM comments WHERE platform = ? AND post_id = ?"
            " ORDER BY created_at DESC LIMIT 1",
            (platform, post_id),
        ).fetchone()
        return row[0] if row else None

    def posts_of_author(self, platform: str, author_id: str, limit: int = 20) -> list[PostRow]:
        rows = self._rows(
            f"SELECT {_POST} FROM posts p WHERE p.platform = ? AND p.author_id = ?"
            " ORDER BY p.created_at DESC LIMIT ?",
            (platform, author_id, limit),
        )
        return [_post(r) for r in rows]

    def posts_by_keys(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], PostRow]:
        found = {}
        for platform, post_id in dict.fromkeys(keys):
            post = self.post(platform, post_id)
            if post is not None:
                found[(platform, post_id)] = post
        return found

    # --- search ------------------------------------------------------------------------

    def search_newest(
        self,
        match: TextMatch,
        kind: str,
        *,
        platform: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        before: int | None = None,
        limit: int = 50,
    ) -> list[FoundText]:
        """Posts or comments that `match` finds (`store.content.text_match`), the newest stored
        first, from row `before` on (a page), filtered by platform and creation time. The
        index is read newest first and stops at `limit`: ranking every match (a common word is
        in a sixth of all comments) cost seconds. A time range narrows the index's rows to the
        range's own first and last row when the range is not a large part of the store."""
        if kind not in ("posts", "comments"):
            raise ValueError("kind must be 'posts' or 'comments'")
        low, high = self._rows_created_between(kind, since, until)
        like = "".join(
            f" AND t.text {self.sql.dialect.like_nocase} :like{n} ESCAPE '\\'"
            for n in range(len(match.like))
        )
        thread = "t.id" if kind == "posts" else "t.post_id"
        in_campaign = post_in_campaign if kind == "posts" else comment_in_campaign
        filters = (
            f"{like} AND (CAST(:platform AS TEXT) IS NULL OR t.platform = :platform)"
            " AND t.created_at >= :since AND t.created_at < :until"
            f" AND {in_campaign(self.sql.dialect, self.campaign, 't')}"  # its hits only
        )
        if match.fts is not None:
            source = (
                f"{kind}_fts f JOIN {kind} t ON t.pk = f.rowid WHERE {kind}_fts MATCH :fts"
                " AND f.rowid < :before AND f.rowid BETWEEN :low AND :high"
            )
            order = "f.rowid"
        else:
            source = f"{kind} t WHERE t.pk < :before AND t.pk BETWEEN :low AND :high"
            order = "t.pk"
        rows = self._rows(
            f"SELECT t.pk, t.platform, t.id, {thread} AS post_id, t.text, t.created_at"
            f" FROM {source}{filters} ORDER BY {order} DESC LIMIT :limit",
            {
                "fts": match.fts,
                **{f"like{n}": pattern for n, pattern in enumerate(match.like)},
                "platform": platform,
                "since": to_utc_iso(since) if since else "",
                "until": to_utc_iso(until) if until else _LATEST,
                "before": before if before is not None else 2**63 - 1,
                "low": low,
                "high": high,
                "limit": limit,
            },
        )
        return [
            FoundText(kind, r["pk"], r["platform"], r["id"], r["post_id"], r["text"], time_of(r))
            for r in rows
        ]

    def _rows_created_between(
        self, kind: str, since: datetime | None, until: datetime | None
    ) -> tuple[int, int]:
        """The first and last row (pk) created in [since, until), read from the created_at
        index when the range holds at most `NARROW_RANGE` comments (`comment_hours`); else,
        or without a range, every row."""
        everything = (0, 2**63 - 1)
        if since is None and until is None:
            return everything
        bounds = {
            "since": to_utc_iso(since) if since else "",
            "until": to_utc_iso(until) if until else _LATEST,
        }
        if kind == "comments":
            size = self.sql.execute(
                "SELECT coalesce(sum(comments), 0) FROM comment_hours"
                " WHERE hour >= substr(:since, 1, 13) AND hour <= :until",
                bounds,
            ).fetchone()[0]
            if size > NARROW_RANGE:
                return everything
        low, high = self.sql.execute(
            f"SELECT min(pk), max(pk) FROM {kind}"
            " WHERE created_at >= :since AND created_at < :until",
            bounds,
        ).fetchone()
        return (low, high) if low is not None else (1, 0)  # (1, 0): nothing

    # --- the UGC board ------------------------------------------------------------------

    def ugc_board(
        self, *, min_score: float, cues: Sequence[str] = (), limit: int = 50, offset: int = 0
    ) -> list[UgcItem]:
        """Users' posts whose UGC score reaches `min_score` or whose text holds one of `cues`
        (nomination words: the caller checks them), and posts the team marked, with the mark;
        the best score first, a page of `limit` from `offset` on. Read in the order of the
        score's index, so that a page stops early (a UNION sorted every candidate)."""
        cue_match = " OR ".join(self.sql.dialect.contains("p.text", "?") for _ in cues) or "FALSE"
        rows = self._rows(
            f"SELECT {_POST}, m.mark, m.marked_by FROM posts p"
            " LEFT JOIN ugc_marks m ON m.campaign = ? AND m.platform = p.platform"
            " AND m.post_id = p.id"
            f" WHERE (p.ugc_score >= ? OR (p.author_kind = 'user' AND ({cue_match}))"
            " OR m.mark IS NOT NULL)"
            f" AND {post_in_campaign(self.sql.dialect, self.campaign, 'p')}"
            " ORDER BY p.ugc_score DESC NULLS LAST, p.pk DESC LIMIT ? OFFSET ?",
            (self.campaign, min_score, *cues, limit, offset),
        )
        return [UgcItem(_post(r), r["mark"], r["marked_by"]) for r in rows]

    def mark_ugc(
        self, platform: str, post_id: str, mark: UgcMark | None, *, by: str, at: datetime
    ) -> bool:
        """Set (or with None clear) the team's mark on a post; False when no such post."""
        if mark is not None and mark not in UGC_MARKS:
            raise ValueError(f"mark must be one of {', '.join(UGC_MARKS)}, not {mark!r}")
        with self.sql.atomic():
            exists = self.sql.execute(
                "SELECT 1 FROM posts WHERE platform = ? AND id = ?", (platform, post_id)
            ).fetchone()
            if exists is None:
                return False
            if mark is None:
                self.sql.execute(
                    "DELETE FROM ugc_marks WHERE campaign = ? AND platform = ? AND post_id = ?",
                    (self.campaign, platform, post_id),
                )
            else:
                self.sql.execute(
                    "INSERT INTO ugc_marks (campaign, platform, post_id, mark, marked_by,"
                    " marked_at) VALUES (?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (campaign, platform, post_id) DO UPDATE SET"
                    " mark = excluded.mark, marked_by = excluded.marked_by,"
                    " marked_at = excluded.marked_at",
                    (self.campaign, platform, post_id, mark, by, to_utc_iso(at)),
                )
        return True

    def ugc_mark(self, platform: str, post_id: str) -> UgcMark | None:
        row = self.sql.execute(
            "SELECT mark FROM ugc_marks WHERE campaign = ? AND platform = ? AND post_id = ?",
            (self.campaign, platform, post_id),
        ).fetchone()
        return row[0] if row else None


def _hour_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _next_hour(moment: datetime) -> datetime:
    """The first whole UTC hour at or after `moment`."""
    start = _hour_start(moment)
    return start if start == moment else start + timedelta(hours=1)


def _hour_key(moment: datetime) -> str:
    """`comment_hours.hour` of a whole UTC hour: the first 13 characters of its time."""
    return to_utc_iso(moment)[:13]


def _alert_row(r: dict[str, Any]) -> AlertRow:
    return record_of(
        AlertRow,
        r,
        id=int(r["id"]),
        created_at=time_of(r),
        acked_at=time_of(r, "acked_at"),
        muted_until=time_of(r, "muted_until"),
    )
