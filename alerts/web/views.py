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
    shares: Shares | None  # the campaign's: every scored comment in the store
    week_shares: Shares | None  # of the comments created in the last 7 days
    since_visit: dict[str, int] | None  # created since the person's previous visit


class ResultCache:
    """Results of a heavy read (the threads table, a thread's keywords), per key, until
    something new is stored (`mark`) or for `max_age` seconds."""

    def __init__(
        self,
        max_age: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 256,
    ):
        self.max_age = max_age
        self.clock = clock
        self.max_entries = max_entries
        self._entries: dict[Any, tuple[Any, float, Any]] = {}

    def get(self, key: Any, mark: Any, compute: Callable[[], Any]) -> Any:
        entry = self._entries.get(key)
        if entry is not None and entry[0] == mark and self.clock() - entry[1] < self.max_age:
            return entry[2]
        if len(self._entries) >= self.max_entries:  # filters made up by the hundred
            self._entries.clear()
        value = compute()
        self._entries[key] = (mark, self.clock(), value)
        return value


def gather_summary(
    queries: ConsoleQueries, now: datetime, previous_visit: datetime | None = None
) -> Summary:
    """The overview's figures. The whole-store ones come from `comment_hours` (m100), kept
    by the store as comments come, are scored and go: no read of every comment."""
    until = now + timedelta(microseconds=1)
    return Summary(
        totals=queries.export_counts(),
        week=queries.counts_between(now - WEEK, until),
        topics=tuple(queries.latest_topic_readings(now)),
        shares=_shares(queries.probability_sums()),
        week_shares=_shares(queries.probability_sums(now - WEEK)),
        since_visit=queries.counts_between(previous_visit, until) if previous_visit else None,
    )


def _shares(sums: ProbabilitySums) -> Shares | None:
    return shares_from_sums(sums.n, (sums.positive, sums.neutral, sums.negative))


def summary_json(summary: Summary) -> dict[str, Any]:
    """The body of `GET /api/summary`: `sentiment` is the campaign's (every scored comment
    stored), `sentiment_week` the last 7 days'."""
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
        "sentiment": _shares_json(summary.shares),
        "sentiment_week": _shares_json(summary.week_shares, days=WEEK.days),
    }


def _shares_json(shares: Shares | None, days: int | None = None) -> dict[str, Any] | None:
    if shares is None:
        return None
    return {
        **({"days": days} if days else {}),
        "n": shares.n,
        **{
            share.label: {
                "share": round(share.estimate, 4),
                "low": round(share.low, 4),
                "high": round(share.high, 4),
            }
            for share in shares
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
