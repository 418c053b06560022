"""What each rule found, as facts: frozen records with no words in them.

A rule returns one of these inside its `Finding`; alerts/wording.py turns it into the alert's
title and text in the configured language, once, when the alert enters the outbox. Stored
records (a post, a comment) are carried as the store gave them: masking and quoting are the
wording's business.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from monitor.config import CoordinationRule, NegativeThreadRule, TrendingRule, UgcRule
from monitor.store.signals import CommentFacts, PostFacts
from nlp.dedup import CoordinationSuspect
from nlp.ugc import Nomination


@dataclass(frozen=True)
class StaleFacts:
    platform: str
    last_reading_at: datetime
    stale_seconds: float
    stale_after: float


@dataclass(frozen=True)
class ParserFacts:
    platform: str
    source: str
    failures: int
    last_error: str | None
    threshold: int


@dataclass(frozen=True)
class ShareVerdict:
    scored: int
    negative: int
    share: float
    lower: float
    by_share: bool
    by_rise: bool
    before_scored: int = 0
    before_share: float = 0.0


@dataclass(frozen=True)
class SensitiveHit:
    """A sensitive word in a liked comment, or in a partner's (or watched) post."""

    word: str
    comment: CommentFacts | None = None
    post: PostFacts | None = None


@dataclass(frozen=True)
class NegativeThreadFacts:
    post: PostFacts
    verdict: ShareVerdict
    hits: tuple[SensitiveHit, ...]
    terms: tuple[str, ...]
    samples: tuple[CommentFacts, ...]  # the representative comments, most liked first
    rule: NegativeThreadRule


@dataclass(frozen=True)
class Baseline:
    basis: str  # author | topic | none
    value: float
    count: int
    z: float | None = None


@dataclass(frozen=True)
class TrendingFacts:
    post: PostFacts
    previous_rate: float  # interactions per hour over the two last intervals
    last_rate: float
    gained: float  # interactions gained in the window
    plays_rate: float | None  # plays per hour over the last interval, when the platform gives them
    baseline: Baseline
    ratio: float
    terms: tuple[str, ...]
    samples: tuple[CommentFacts, ...]
    rule: TrendingRule


@dataclass(frozen=True)
class TopicTrendingFacts:
    platform: str
    topic: str
    previous_rate: float
    last_rate: float
    median_before: float
    z: float
    views: int
    rule: TrendingRule


@dataclass(frozen=True)
class MilestoneFacts:
    platform: str
    topic: str
    views: int
    read_at: datetime
    mark: int
    marks: tuple[int, ...]  # every configured mark


@dataclass(frozen=True)
class KolUploadFacts:
    name: str  # the partner's name from the config
    post: PostFacts


@dataclass(frozen=True)
class KolSilentFacts:
    name: str
    days: int
    last_post_at: datetime | None
    watching_since: datetime
    silent_after: float


@dataclass(frozen=True)
class UgcItemFacts:
    post: PostFacts
    nomination: Nomination | None
    url: str | None


@dataclass(frozen=True)
class UgcFacts:
    items: tuple[UgcItemFacts, ...]  # the ones shown
    total: int  # every post worth it, shown or not
    rule: UgcRule


@dataclass(frozen=True)
class CoordinationFacts:
    suspect: CoordinationSuspect
    rule: CoordinationRule


Facts = (
    StaleFacts
    | ParserFacts
    | NegativeThreadFacts
    | TrendingFacts
    | TopicTrendingFacts
    | MilestoneFacts
    | KolUploadFacts
    | KolSilentFacts
    | UgcFacts
    | CoordinationFacts
)
