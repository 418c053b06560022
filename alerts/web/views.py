"""What the overview and `GET /api/summary` show, read first and then shaped by pure functions.

`gather_summary` reads the store; `summary_json` and the formatting helpers are pure.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from monitor.store.console import ConsoleQueries, ProbabilitySums, TopicReading
from nlp.shares import Shares, shares_from_sums

WEEK = timedelta(days=7)
CHART_SPAN = timedelta(days=30)


@dataclass(frozen=True)
class Summary:
    totals: dict[str, int]  # posts, comments, alerts: what `pingfan export` counts
    week: dict[str, int]  # the same, created in the last 7 days
    topics: tuple[TopicReading, ...]
    shares: Shares | None  # of the comments of the last 7 days
    since_visit: dict[str, int] | None  # created since the person's previous visit


@dataclass(frozen=True)
class Heavy:
    """The overview's figures that read every comment: kept for a while (`FiguresCache`)."""

    totals: dict[str, int]
    sums: ProbabilitySums
    comments_by_day: tuple[tuple[str, int], ...]


class FiguresCache:
    """The whole-store figures, recomputed when something new is stored (a new post, comment
    or alert) or after `max_age` seconds (comments scored in place do not move the mark):
    reading a million comments on every page view would cost about a second each time."""

    def __init__(self, max_age: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.max_age = max_age
        self.clock = clock
        self._key: tuple[Any, ...] | None = None
        self._at = 0.0
        self._heavy: Heavy | None = None

    def get(self, queries: ConsoleQueries, now: datetime, offset_hours: int) -> Heavy:
        key = (queries.content_mark(), queries.newest_alert_id(), now.date(), offset_hours)
        fresh = self.clock() - self._at < self.max_age
        if self._heavy is None or key != self._key or not fresh:
            self._heavy = Heavy(
                totals=queries.export_counts(),
                sums=queries.probability_sums(now - WEEK),
                comments_by_day=tuple(
                    queries.comments_by_day(
                        since=now - CHART_SPAN, until=now, offset_hours=offset_hours
                    )
                ),
            )
            self._key, self._at = key, self.clock()
        return self._heavy


class ResultCache:
    """Results of a heavy read (the threads table), per key, until something new is stored
    (`mark`) or for `max_age` seconds."""

    def __init__(self, max_age: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.max_age = max_age
        self.clock = clock
        self._entries: dict[Any, tuple[Any, float, Any]] = {}

    def get(self, key: Any, mark: Any, compute: Callable[[], Any]) -> Any:
        entry = self._entries.get(key)
        if entry is not None and entry[0] == mark and self.clock() - entry[1] < self.max_age:
            return entry[2]
        if len(self._entries) > 256:  # filters made up by the hundred
            self._entries.clear()
        value = compute()
        self._entries[key] = (mark, self.clock(), value)
        return value


def gather_summary(
    queries: ConsoleQueries,
    now: datetime,
    previous_visit: datetime | None = None,
    *,
    heavy: Heavy,
) -> Summary:
    sums = heavy.sums
    return Summary(
        totals=heavy.totals,
        week=queries.counts_between(now - WEEK, now + timedelta(microseconds=1)),
        topics=tuple(queries.latest_topic_readings(now)),
        shares=shares_from_sums(sums.n, (sums.positive, sums.neutral, sums.negative)),
        since_visit=(
            queries.counts_between(previous_visit, now + timedelta(microseconds=1))
            if previous_visit
            else None
        ),
    )


def summary_json(summary: Summary) -> dict[str, Any]:
    """The body of `GET /api/summary`."""
    shares = summary.shares
    return {
        **summary.totals,
        "week": summary.week,
        "topics": [
            {
                "platform": t.platform,
                "topic": t.topic,
                "views": t.views,
                "discussions": t.discussions,
                "observed_at": t.observed_at.isoformat(),
            }
            for t in summary.topics
        ],
        "sentiment": None
        if shares is None
        else {
            "days": WEEK.days,  # the comments of the last 7 days
            "n": shares.n,
            **{
                share.label: {
                    "share": round(share.estimate, 4),
                    "low": round(share.low, 4),
                    "high": round(share.high, 4),
                }
                for share in shares
            },
        },
    }


def local_time(moment: datetime | None, zone: str) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def number(value: float | int | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def utc_offset_hours(zone: str, at: datetime) -> int:
    offset = at.astimezone(ZoneInfo(zone)).utcoffset()
    return int(offset.total_seconds() // 3600) if offset else 0
