"""Frozen records that flow from the parsers to the store and onwards.

Counts are `int | None`: None means the platform did not give the figure, never zero.
Times are timezone-aware datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

Platform = Literal["weibo", "douyin"]
AuthorKind = Literal["kol", "official", "user"]
PLATFORMS: tuple[Platform, ...] = ("weibo", "douyin")

# Why collection of a platform paused: it blocked us, our login expired, or it does not answer
# (the runner reports it; the health alert says it).
PauseCause = Literal["blocked", "cookie", "unreachable"]


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_utc_iso(moment: datetime) -> str:
    """The one storage form of a time: UTC ISO-8601 with an explicit offset."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: pingfan stores aware times only")
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def from_iso(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset")
    return moment


@dataclass(frozen=True)
class Account:
    platform: Platform
    id: str
    name: str
    observed_at: datetime
    followers: int | None = None
    following: int | None = None
    posts_count: int | None = None
    verified: bool | None = None
    kind: AuthorKind = "user"


@dataclass(frozen=True)
class Post:
    platform: Platform
    id: str
    author_id: str
    author_name: str
    text: str
    created_at: datetime
    observed_at: datetime
    url: str | None = None
    topics: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    is_original: bool = True
    media: Literal["video", "image", "none"] | None = None
    plays: int | None = None
    likes: int | None = None
    comments: int | None = None
    shares: int | None = None
    reposts: int | None = None
    author_kind: AuthorKind = "user"
    # A count shown as "100万+" is only a lower bound; the parser says so here.
    counts_are_lower_bounds: bool = False
    # The platform no longer reports this post's counts (the Douyin Open Platform, for a video
    # over 30 days old): its counts are unknown now, never zero.
    counts_no_longer_reported: bool = False


@dataclass(frozen=True)
class Comment:
    platform: Platform
    id: str
    post_id: str
    author_id: str
    text: str
    created_at: datetime
    observed_at: datetime
    parent_id: str | None = None
    likes: int | None = None


@dataclass(frozen=True)
class TopicStats:
    platform: Platform
    topic: str
    observed_at: datetime
    views: int | None = None
    discussions: int | None = None


@dataclass(frozen=True)
class Cursor:
    """Where a source stopped reading; saved in the same transaction as the rows it covers."""

    source: str
    key: str
    value: str


@dataclass(frozen=True)
class AlertRecord:
    """One alert for the outbox; the dedupe key makes a second enqueue of the same event a no-op."""

    kind: str
    severity: Literal["info", "warning", "critical"]
    title: str
    text: str
    dedupe_key: str
    created_at: datetime
    platform: Platform | None = None
    subject_id: str | None = None


MemberKind = Literal["topic", "kol", "watch"]


@dataclass(frozen=True)
class CampaignMember:
    """What makes a stored post one of a campaign's: it is under one of its topics (`key` the
    topic's name), by one of the accounts it follows, its KOLs and its official accounts
    (`kol`, `key` the account id), or watched by it (`key` the watched link, which the
    `watched` table resolves to a post id)."""

    kind: MemberKind
    platform: Platform
    key: str


@dataclass(frozen=True)
class Campaign:
    """One campaign as its config describes it (monitor/campaign.py): its id, the name the
    team reads, and its members."""

    id: str
    name: str
    members: tuple[CampaignMember, ...] = ()
