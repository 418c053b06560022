"""What the overview and `GET /api/summary` show, read first and then shaped by pure functions.

`gather_summary` reads the store; `summary_json` and the formatting helpers are pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from monitor.store.console import ConsoleQueries, ProbabilitySums, TopicReading
from nlp.shares import Shares, shares_from_sums

WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Summary:
    totals: dict[str, int]  # posts, comments, alerts: what `pingfan export` counts
    week: dict[str, int]  # the same, created in the last 7 days
    topics: tuple[TopicReading, ...]
    shares: Shares | None
    since_visit: dict[str, int] | None  # created since the person's previous visit


def gather_summary(
    queries: ConsoleQueries, now: datetime, previous_visit: datetime | None = None
) -> Summary:
    sums: ProbabilitySums = queries.probability_sums()
    return Summary(
        totals=queries.export_counts(),
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
