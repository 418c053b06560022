"""Named queries for the team's chat bot (alerts/bot/): status per platform, topic growth,
posts gaining the most, the KOL table, the next comment to label, acknowledgements and mutes.

Each read is scoped by an indexed column (posts by created_at or (platform, observed_at),
comments by created_at, series by (platform, id, observed_at)) or by the handful of rows it
names, so a command stays cheap however long the campaign has run. `now` is always passed in:
the daemon's clock may be simulated. The bot also uses the alert rules' queries
(`store.signals.thread_counts`, `thread_comments`, `ugc_posts`, `posts_by_keys`) and
`store.outbox.mute`, `unmute`, `mute_alert_subject`, `outbox_alert`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.models import PLATFORMS, from_iso, to_utc_iso
from monitor.store.campaigns import (
    campaign_topics,
    comment_in_campaign,
    label_in_campaign,
    literal,
    post_in_campaign,
)
from monitor.store.connection import Queries
from monitor.store.rows import record_of, time_of
from monitor.store.signals import latest_reading_iso, topic_series_keys

# How /label finds the comment the model is least sure about: the one place that says it.
# (the scored rows, their order): the highest entropy over the three classes first (m040),
# read from its index. A two-class score is stored as three classes too (P(neutral) 0), so
# its entropy orders by P(positive)'s distance from 0.5.
UNCERTAINTY = ("c.entropy IS NOT NULL", "c.entropy DESC, c.pk DESC")

_INTERACTIONS = "coalesce({t}.likes, 0) + coalesce({t}.comments, 0) + coalesce({t}.shares, 0)"
_INTERACTIONS += " + coalesce({t}.reposts, 0)"


def _interactions(table: str) -> str:
    return _INTERACTIONS.format(t=table)


def _time(text: str | None) -> datetime | None:
    return from_iso(text) if text else None


@dataclass(frozen=True)
class PlatformStatus:
    platform: str
    last_success_at: datetime | None  # a source's last good run, else the newest reading
    circuit: str  # closed | open | half_open (closed when never opened)
    circuit_reason: str
    open_until: datetime | None
    posts_today: int  # created since the start of the day in the team's zone
    comments_today: int


@dataclass(frozen=True)
class TopicGrowth:
    platform: str
    topic: str
    at: datetime  # the newest reading up to `now`
    views: int | None
    discussions: int | None
    before_at: datetime | None  # the reading growth is measured from (None: only one reading)
    views_before: int | None

    @property
    def growth(self) -> int | None:
        if self.views is None or self.views_before is None:
            return None
        return self.views - self.views_before


@dataclass(frozen=True)
class TopPost:
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
    shares: int | None  # shares + reposts
    gained: int  # likes + comments + shares + reposts gained in the window


@dataclass(frozen=True)
class KolRow:
    platform: str
    id: str
    uploads: int  # posts created in the window
    plays: int | None  # their plays, None when the platform gave none
    likes: int
    comments: int
    shares: int  # shares + reposts
    followers: int | None  # the newest follower count up to `now`
    # the one growth is measured from: the last at or before `since`, else the first after
    # it and before the newest (None: a single snapshot, no growth to tell)
    followers_before: int | None

    @property
    def interactions(self) -> int:
        return self.likes + self.comments + self.shares

    @property
    def follower_growth(self) -> int | None:
        if self.followers is None or self.followers_before is None:
            return None
        return self.followers - self.followers_before

    @property
    def engagement_rate(self) -> float | None:
        """Mean interactions per upload over followers; None without uploads or followers."""
        if not self.uploads or not self.followers:
            return None
        return self.interactions / self.uploads / self.followers


@dataclass(frozen=True)
class LabelCandidate:
    pk: int
    platform: str
    id: str
    post_id: str
    author_id: str
    text: str
    created_at: datetime
    likes: int | None
    sentiment: float | None  # P(positive) from the model
    p_neutral: float | None  # the other two classes (a two-class score: 0 and 1 - P(positive))
    p_negative: float | None
    label: str | None
    post_text: str | None
    post_url: str | None


@dataclass(frozen=True)
class Ack:
    alert_id: int
    by: str
    by_id: str | None
    at: datetime


@dataclass(frozen=True)
class MuteRow:
    platform: str  # "" when the subject has no platform
    subject_id: str
    until: datetime
    muted_by: str | None
    reason: str | None


_CANDIDATE = """
SELECT c.pk, c.platform, c.id, c.post_id, c.author_id, c.text, c.created_at, c.likes,
    c.sentiment, c.p_neutral, c.p_negative, {label} AS label, p.text AS post_text,
    p.url AS post_url
FROM comments c LEFT JOIN posts p ON p.platform = c.platform AND p.id = c.post_id
WHERE {where}
ORDER BY {order} LIMIT {limit}
"""
# Not yet labelled or skipped by this campaign's team, and under one of its posts: a label
# given in another campaign neither hides a comment from this queue nor fills it.
_UNLABELLED = (
    "{scored} AND {in_campaign}"
    " AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.campaign = {campaign}"
    " AND l.platform = c.platform AND l.comment_id = c.id)"
    " AND NOT EXISTS (SELECT 1 FROM label_skips s WHERE s.campaign = {campaign}"
    " AND s.platform = c.platform AND s.comment_id = c.id)"
)

_TOP_POSTS = f"""
SELECT p.platform, p.id, p.author_id, p.author_name, p.author_kind, p.text, p.url,
    p.created_at, p.plays, p.likes, p.comments,
    coalesce(p.shares, 0) + coalesce(p.reposts, 0) AS shares,
    {_interactions("p")} - CASE WHEN p.created_at >= :since THEN 0 ELSE coalesce(
        (SELECT {_interactions("m")} FROM post_metrics m
         WHERE m.platform = p.platform AND m.post_id = p.id AND m.observed_at <= :since
         ORDER BY m.observed_at DESC, m.pk DESC LIMIT 1),
        (SELECT {_interactions("m")} FROM post_metrics m
         WHERE m.platform = p.platform AND m.post_id = p.id AND m.observed_at > :since
         ORDER BY m.observed_at, m.pk LIMIT 1)) END AS gained
FROM posts p
WHERE p.platform = :platform AND p.observed_at >= :since AND p.observed_at <= :now
"""


class TeamQueries(Queries):
    # --- /status ----------------------------------------------------------------------

    def platform_status(
        self, platforms: Sequence[str], *, day_start: datetime, now: datetime
    ) -> list[PlatformStatus]:
        found = []
        today = (
            f"WHERE {self.sql.dialect.unindexed('platform')} = ? AND created_at >= ?"
            " AND created_at <= ?"
        )
        for platform in platforms:
            success = self.sql.execute(
                "SELECT max(last_success_at) FROM sources WHERE platform = ?", (platform,)
            ).fetchone()[0]
            if success is None:  # no runtime record (collect --once): the newest reading
                success = latest_reading_iso(self.sql, platform)
            circuit = self._named(
                "SELECT state, reason, open_until FROM circuits WHERE platform = ?", (platform,)
            ).fetchone()
            span = (platform, to_utc_iso(day_start), to_utc_iso(now))
            # `+platform`: today's rows by created_at; by the platform's key SQLite counted
            # through every comment the platform ever had (60 ms at 1M comments)
            posts = self.sql.execute(
                f"SELECT count(*) FROM posts {today} AND {self._post_scope('posts')}", span
            ).fetchone()[0]
            comments = self.sql.execute(
                f"SELECT count(*) FROM comments {today} AND {self._comment_scope('comments')}",
                span,
            ).fetchone()[0]
            found.append(
                PlatformStatus(
                    platform=platform,
                    last_success_at=_time(success),
                    circuit=circuit["state"] if circuit else "closed",
                    circuit_reason=(circuit["reason"] or "") if circuit else "",
                    open_until=_time(circuit["open_until"]) if circuit else None,
                    posts_today=int(posts),
                    comments_today=int(comments),
                )
            )
        return found

    def topic_growth(self, *, since: datetime, now: datetime) -> list[TopicGrowth]:
        """Per (platform, topic): the newest reading up to `now`, and the growth of its views
        since `since` (from the last reading at or before `since`, else the first after it)."""
        pairs = topic_series_keys(self.sql)
        topics = campaign_topics(self.sql, self.campaign)  # the campaign's own
        if topics is not None:
            pairs = [pair for pair in pairs if pair in topics]
        found = []
        for platform, topic in pairs:
            latest = self._named(
                "SELECT observed_at, views, discussions FROM topic_metrics WHERE platform = ?"
                " AND topic = ? AND observed_at <= ? ORDER BY observed_at DESC, pk DESC LIMIT 1",
                (platform, topic, to_utc_iso(now)),
            ).fetchone()
            if latest is None:
                continue
            before = (
                self._named(
                    "SELECT observed_at, views FROM topic_metrics WHERE platform = ? AND topic = ?"
                    " AND observed_at <= ? AND views IS NOT NULL"
                    " ORDER BY observed_at DESC, pk DESC LIMIT 1",
                    (platform, topic, to_utc_iso(since)),
                ).fetchone()
                or self._named(
                    "SELECT observed_at, views FROM topic_metrics WHERE platform = ? AND topic = ?"
                    " AND observed_at > ? AND observed_at < ? AND views IS NOT NULL"
                    " ORDER BY observed_at, pk LIMIT 1",
                    (platform, topic, to_utc_iso(since), latest["observed_at"]),
                ).fetchone()
            )
            found.append(
                TopicGrowth(
                    platform=platform,
                    topic=topic,
                    at=from_iso(latest["observed_at"]),
                    views=latest["views"],
                    discussions=latest["discussions"],
                    before_at=_time(before["observed_at"]) if before else None,
                    views_before=before["views"] if before else None,
                )
            )
        return found

    # --- /top -------------------------------------------------------------------------

    def top_posts(
        self, platforms: Sequence[str], *, since: datetime, now: datetime, limit: int = 10
    ) -> list[TopPost]:
        """Posts read in [since, now] by the interactions they gained since `since` (a post
        created before `since` and first read after it counts from its first reading)."""
        posts = []
        for platform in platforms:
            rows = self._named(
                f"{_TOP_POSTS} AND {self._post_scope('p')}",
                {"platform": platform, "since": to_utc_iso(since), "now": to_utc_iso(now)},
            ).fetchall()
            posts += [
                record_of(TopPost, row, created_at=time_of(row), gained=int(row["gained"] or 0))
                for row in rows
                if (row["gained"] or 0) > 0
            ]
        posts.sort(key=lambda p: (-p.gained, p.created_at, p.platform, p.id))
        return posts[:limit]

    # --- /kol -------------------------------------------------------------------------

    def kol_table(
        self, kols: Sequence[tuple[str, str]], *, since: datetime, now: datetime
    ) -> list[KolRow]:
        """Per (platform, account id), in the order given: uploads created in [since, now]
        with their counts, and the follower count now and at `since`."""
        found = []
        window = (to_utc_iso(since), to_utc_iso(now))
        for platform, account in kols:
            uploads = self._named(
                "SELECT count(*) AS uploads, sum(plays) AS plays, count(plays) AS with_plays,"
                " sum(coalesce(likes, 0)) AS likes, sum(coalesce(comments, 0)) AS comments,"
                " sum(coalesce(shares, 0) + coalesce(reposts, 0)) AS shares"
                " FROM posts WHERE platform = ? AND author_id = ? AND created_at >= ?"
                " AND created_at <= ?",
                (platform, account, *window),
            ).fetchone()
            latest = self._followers(platform, account, at_or_before=window[1])
            before = self._followers(platform, account, at_or_before=window[0])
            if before is None and latest is not None:
                before = self._followers(platform, account, after=window[0], before=latest[1])
            found.append(
                KolRow(
                    platform=platform,
                    id=account,
                    uploads=int(uploads["uploads"]),
                    plays=int(uploads["plays"]) if uploads["with_plays"] else None,
                    likes=int(uploads["likes"] or 0),
                    comments=int(uploads["comments"] or 0),
                    shares=int(uploads["shares"] or 0),
                    followers=latest[0] if latest else None,
                    followers_before=before[0] if before else None,
                )
            )
        return found

    def _followers(
        self,
        platform: str,
        account: str,
        *,
        at_or_before: str | None = None,
        after: str | None = None,
        before: str | None = None,
    ) -> tuple[int, str] | None:
        """(followers, observed_at) of the last snapshot at or before `at_or_before`, or of
        the first one in (after, before)."""
        if at_or_before is not None:
            row = self._named(
                "SELECT followers, observed_at FROM account_metrics WHERE platform = ?"
                " AND account_id = ? AND observed_at <= ? AND followers IS NOT NULL"
                " ORDER BY observed_at DESC, pk DESC LIMIT 1",
                (platform, account, at_or_before),
            ).fetchone()
        else:
            row = self._named(
                "SELECT followers, observed_at FROM account_metrics WHERE platform = ?"
                " AND account_id = ? AND observed_at > ? AND observed_at < ?"
                " AND followers IS NOT NULL ORDER BY observed_at, pk LIMIT 1",
                (platform, account, after, before),
            ).fetchone()
        return (int(row["followers"]), str(row["observed_at"])) if row else None

    # --- /label -----------------------------------------------------------------------

    def next_label_candidate(self) -> LabelCandidate | None:
        """The scored comment the model is least sure about (`UNCERTAINTY`) that no one has
        labelled or skipped yet."""
        row = self._named(self.label_queue_sql()).fetchone()
        return _candidate(row) if row else None

    def label_candidates(self, limit: int) -> list[LabelCandidate]:
        """The first `limit` comments of the /label queue (`next_label_candidate` is the
        first), for a chooser that weighs diversity as well (alerts.bot.label_choice)."""
        sql = _candidate_sql(self._unlabelled(), self.campaign, limit)
        return [_candidate(row) for row in self._named(sql)]

    def label_queue_sql(self) -> str:
        """The statement behind `next_label_candidate` (its plan reads an index)."""
        return _candidate_sql(self._unlabelled(), self.campaign)

    def _unlabelled(self) -> str:
        return _UNLABELLED.format(
            scored=UNCERTAINTY[0],
            in_campaign=self._comment_scope("c"),
            campaign=literal(self.campaign),
        )

    def _post_scope(self, post: str) -> str:
        return post_in_campaign(self.sql.dialect, self.campaign, post)

    def _comment_scope(self, comment: str) -> str:
        return comment_in_campaign(self.sql.dialect, self.campaign, comment)

    def label_candidate(self, pk: int) -> LabelCandidate | None:
        """The comment stored as row `pk` (a /label button names it), labelled or not."""
        row = self._named(_candidate_sql("c.pk = ?", self.campaign), (pk,)).fetchone()
        return _candidate(row) if row else None

    def stored_comment(self, platform: str, comment_id: str) -> LabelCandidate | None:
        row = self._named(
            _candidate_sql("c.platform = ? AND c.id = ?", self.campaign), (platform, comment_id)
        ).fetchone()
        return _candidate(row) if row else None

    def skip_label(self, platform: str, comment_id: str, *, by: str, at: datetime) -> None:
        """Nobody is asked about this comment again."""
        with self.sql.atomic():
            self.sql.execute(
                "INSERT INTO label_skips (campaign, platform, comment_id, skipped_by,"
                " skipped_at) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (campaign, platform, comment_id) DO NOTHING",
                (self.campaign, platform, comment_id, by, to_utc_iso(at)),
            )

    def team_label_count(self) -> int:
        return int(
            self.sql.execute(
                "SELECT count(*) FROM labels WHERE campaign = ?", (self.campaign,)
            ).fetchone()[0]
        )

    # --- acknowledgements and mutes ----------------------------------------------------

    def ack_alert(self, alert_id: int, *, by: str, by_id: str | None, at: datetime) -> Ack | None:
        """Record who acknowledged alert `alert_id`; the first acknowledgement stays. Returns
        the acknowledgement on record, or None when there is no such alert."""
        with self.sql.atomic():
            self.sql.execute(
                "INSERT INTO alert_acks (alert_id, acked_by, acked_by_id, acked_at)"
                " SELECT ?1, ?2, ?3, ?4"
                " WHERE EXISTS (SELECT 1 FROM alerts WHERE id = ?1 AND campaign = ?5)"
                " ON CONFLICT (alert_id) DO NOTHING",
                (alert_id, by, by_id, to_utc_iso(at), self.campaign),
            )
        return self.alert_ack(alert_id)

    def alert_ack(self, alert_id: int) -> Ack | None:
        row = self._named(
            "SELECT alert_id, acked_by, acked_by_id, acked_at FROM alert_acks WHERE alert_id = ?"
            " AND EXISTS (SELECT 1 FROM alerts WHERE id = alert_id AND campaign = ?)",
            (alert_id, self.campaign),
        ).fetchone()
        if row is None:
            return None
        return Ack(row["alert_id"], row["acked_by"], row["acked_by_id"], from_iso(row["acked_at"]))

    def mutes_at(self, now: datetime) -> list[MuteRow]:
        """Mutes still running at `now`, the soonest to end first."""
        rows = self.sql.execute(
            "SELECT platform, subject_id, until, muted_by, reason FROM mutes"
            " WHERE campaign = ? AND until > ? ORDER BY until, platform, subject_id",
            (self.campaign, to_utc_iso(now)),
        ).fetchall()
        return [MuteRow(p, s, from_iso(until), by, reason) for p, s, until, by, reason in rows]

    def subject_platforms(self, subject_id: str) -> list[str]:
        """The platforms on which `subject_id` names a stored post or account, or a mute."""
        # `platform IN (...)` lets each lookup use its table's (platform, id) key
        known = ", ".join("?" * len(PLATFORMS))
        rows = self.sql.execute(
            f"SELECT platform FROM posts WHERE platform IN ({known}) AND id = ?"
            f" UNION SELECT platform FROM accounts WHERE platform IN ({known}) AND id = ?"
            f" UNION SELECT platform FROM mutes WHERE campaign = {literal(self.campaign)}"
            f" AND platform IN ({known}) AND subject_id = ? ORDER BY 1",
            (*PLATFORMS, subject_id) * 3,
        ).fetchall()
        return [platform for (platform,) in rows]


def _candidate_sql(where: str, campaign: str, limit: int = 1) -> str:
    """A comment as `campaign` reads it (its team's label over the model's)."""
    label = label_in_campaign(campaign, "c")
    return _CANDIDATE.format(where=where, order=UNCERTAINTY[1], limit=int(limit), label=label)


def _candidate(row: Mapping[str, Any]) -> LabelCandidate:
    return record_of(LabelCandidate, row, created_at=time_of(row))
