"""What a weekly digest says, as plain frozen records: built from the store by `build.py`,
written out by `documents.py` (Markdown, HTML) and `charts.py`, summed up for chat by
`chat.py`. Texts that came from users (comments, posts, names) are kept as they were written;
each renderer escapes them for its own format, and authors are masked here already."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from alerts.digest.weeks import IsoWeek
from nlp.shares import Shares

Outcome = Literal["calmed", "cooling", "ongoing"]


@dataclass(frozen=True)
class ReachPoint:
    at: datetime
    views: int


@dataclass(frozen=True)
class Reach:
    """A topic's reads (Weibo) or challenge views (Douyin) over the week."""

    platform: str
    topic: str
    views: int | None  # the last reading before the week's end
    views_at_start: int | None  # the last reading before the week (None: none was taken)
    gained: int | None
    gained_previous: int | None  # in the week before (None: not measurable)
    discussions: int | None
    discussions_gained: int | None
    read_at: datetime | None
    readings: int  # readings taken during the week
    from_first_reading: bool  # no reading before the week: growth from the first one in it
    next_mark: int | None  # the first campaign mark not yet passed
    progress: float | None  # views / next_mark
    marks_passed: tuple[int, ...]  # marks passed during the week
    series: tuple[ReachPoint, ...] = ()  # the start, then each day's last reading


@dataclass(frozen=True)
class Volume:
    posts: int = 0
    ugc_posts: int = 0
    kol_posts: int = 0
    official_posts: int = 0
    authors: int = 0
    comments: int = 0  # comments created in the week (stored rows)
    commenters: int = 0
    likes: int = 0
    post_comments: int = 0  # the platforms' comment counts of the week's posts
    shares: int = 0  # shares + reposts
    engagement: int = 0  # likes + comments + shares + reposts of the week's posts
    plays: int | None = None  # where the platform gives plays


@dataclass(frozen=True)
class VolumeColumn:
    platform: str | None  # None: all platforms
    current: Volume
    previous: Volume


@dataclass(frozen=True)
class Split:
    positive: int = 0
    neutral: int = 0
    negative: int = 0
    unscored: int = 0
    mean_p_negative: float | None = None
    # Shares as the mean of calibrated probabilities, with a 90% interval (nlp.shares); None
    # when no comment of the week carries three-way probabilities.
    shares: Shares | None = None

    @property
    def scored(self) -> int:
        return self.positive + self.neutral + self.negative

    def share(self, label: str) -> float | None:
        if not self.scored:
            return None
        return float(getattr(self, label)) / self.scored


@dataclass(frozen=True)
class Day:
    day: date
    split: Split


@dataclass(frozen=True)
class Term:
    word: str
    weight: float


@dataclass(frozen=True)
class Sentiment:
    current: Split
    previous: Split
    days: tuple[Day, ...]
    positive_terms: tuple[Term, ...]
    negative_terms: tuple[Term, ...]


@dataclass(frozen=True)
class Quote:
    author: str  # masked
    text: str  # as written; renderers make it inert
    likes: int | None
    at: datetime


@dataclass(frozen=True)
class AlertRef:
    id: int
    at: datetime
    state: str
    acked_by: str | None
    acked_at: datetime | None


@dataclass(frozen=True)
class Thread:
    platform: str
    post_id: str
    url: str | None
    author: str  # a partner's or the organiser's name, else masked
    text: str
    posted_at: datetime
    comments: int
    scored: int
    negative: int
    share: float
    lower: float  # 95% Wilson lower bound of the negative share
    peak_day: date | None
    peak_share: float | None
    outcome: Outcome
    last_comment_at: datetime
    final_scored: int  # scored comments in the week's last 24 hours
    final_share: float | None
    terms: tuple[str, ...]
    samples: tuple[Quote, ...]
    alert: AlertRef | None


@dataclass(frozen=True)
class UgcItem:
    platform: str
    post_id: str
    url: str | None
    author: str  # masked
    text: str
    score: float
    nomination: str | None  # "环卫工人 刘阿姨"
    interactions: int
    posted_at: datetime


@dataclass(frozen=True)
class KolRow:
    name: str
    platform: str
    account_id: str
    uploads: int
    plays: int | None  # None: the platform gave no plays for these uploads
    likes: int
    comments: int
    shares: int
    engagement: int
    rate: float | None  # engagement / uploads / followers
    followers: int | None  # the last snapshot before the week's end
    growth: int | None
    growth_from_first: bool  # no snapshot before the week: growth from the first in it


@dataclass(frozen=True)
class WatchedItem:
    """A post or video watched by link ([[watch]], `pingfan watch add`): 本次活动视频."""

    platform: str
    post_id: str
    url: str | None  # the link it is watched by
    note: str
    collected: bool  # False: not read yet (a short link waiting, or the post is gone)
    author: str
    text: str
    posted_at: datetime | None
    plays: int | None
    likes: int | None
    comments: int | None
    shares: int | None
    gained: int | None  # likes + comments + shares + reposts gained in the week
    scored: int  # the week's comments with a sentiment label
    negative: int

    @property
    def negative_share(self) -> float | None:
        return self.negative / self.scored if self.scored else None


@dataclass(frozen=True)
class AlertItem:
    id: int
    at: datetime
    kind: str
    severity: str
    title: str
    platform: str | None
    state: str
    url: str | None
    acked_by: str | None
    acked_at: datetime | None


@dataclass(frozen=True)
class CoordinationLead:
    platform: str
    accounts: int
    messages: int
    first_at: datetime
    last_at: datetime
    sample: str
    authors: tuple[str, ...]  # masked


@dataclass(frozen=True)
class Health:
    platform: str
    enabled: bool
    downtime: float  # seconds inside the week
    outages: int
    down_at_end: bool
    stale_alerts: int
    parser_alerts: int
    last_reading_at: datetime | None


@dataclass(frozen=True)
class Digest:
    week: IsoWeek
    start: datetime
    end: datetime
    timezone: str
    language: str
    campaign: str  # "#平凡大连人"
    generated_at: datetime
    partial: bool  # the week was not over when the digest was made
    has_data: bool
    data_span: tuple[datetime, datetime] | None
    reach: tuple[Reach, ...] = ()
    volume: tuple[VolumeColumn, ...] = ()
    sentiment: Sentiment = field(default_factory=lambda: Sentiment(Split(), Split(), (), (), ()))
    threads: tuple[Thread, ...] = ()
    thread_rule: tuple[int, float] = (20, 0.5)  # min scored comments, Wilson lower bound
    ugc: tuple[UgcItem, ...] = ()
    kols: tuple[KolRow, ...] = ()
    watched: tuple[WatchedItem, ...] = ()
    alerts: tuple[AlertItem, ...] = ()
    acks_recorded: bool = False
    coordination: tuple[CoordinationLead, ...] = ()
    health: tuple[Health, ...] = ()
    marks: tuple[int, ...] = ()
    # The sentiment model in use and its three-way macro-F1 on real text (the footer).
    model_version: str | None = None
    model_f1: float | None = None

    @property
    def total(self) -> VolumeColumn | None:
        return next((column for column in self.volume if column.platform is None), None)

    def facts(self) -> dict[str, Any]:
        """The headline numbers, JSON-ready: the outbox evidence and the chat summaries."""
        total = self.total
        current = total.current if total else Volume()
        previous = total.previous if total else Volume()
        split = self.sentiment.current
        return {
            "week": str(self.week),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "has_data": self.has_data,
            "partial": self.partial,
            "reach": [
                {
                    "platform": r.platform,
                    "topic": r.topic,
                    "views": r.views,
                    "gained": r.gained,
                    "readings": r.readings,
                    "read_at": r.read_at.isoformat() if r.read_at else None,
                    "gained_previous": r.gained_previous,
                    "next_mark": r.next_mark,
                    "marks_passed": list(r.marks_passed),
                }
                for r in self.reach
            ],
            "posts": current.posts,
            "posts_previous": previous.posts,
            "comments": current.comments,
            "comments_previous": previous.comments,
            "authors": current.authors,
            "engagement": current.engagement,
            "sentiment": {
                "positive": split.positive,
                "neutral": split.neutral,
                "negative": split.negative,
                "unscored": split.unscored,
                "negative_share_previous": self.sentiment.previous.share("negative"),
                "negative_mean_previous": self.sentiment.previous.shares.negative.estimate
                if self.sentiment.previous.shares
                else None,
                "shares": {
                    share.label: [share.estimate, share.low, share.high] for share in split.shares
                }
                if split.shares
                else None,
            },
            "negative_terms": [term.word for term in self.sentiment.negative_terms[:5]],
            "threads": len(self.threads),
            "threads_calmed": sum(1 for t in self.threads if t.outcome == "calmed"),
            "ugc": len(self.ugc),
            "nominations": sum(1 for u in self.ugc if u.nomination),
            "alerts": len(self.alerts),
            "alerts_acked": sum(1 for a in self.alerts if a.acked_at is not None),
            "acks_recorded": self.acks_recorded,
            "coordination": len(self.coordination),
            "watched": len(self.watched),
            "downtime": {h.platform: round(h.downtime) for h in self.health if h.enabled},
        }


@dataclass(frozen=True)
class Chart:
    """One chart of the digest, drawn (charts.py) as self-contained SVG."""

    name: str  # reach | sentiment | kols
    title: str
    svg: str
