"""Which threads' comments are due (pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from monitor.collectors.due import due_threads
from monitor.config import ScheduleConfig

NOW = datetime(2019, 8, 16, 12, tzinfo=UTC)
HOUR = timedelta(hours=1)


def row(post_id: str, *, listed: int = 10, read: timedelta | None = None, age: timedelta = HOUR,
        **state: object) -> dict:  # fmt: skip
    if read is not None:
        state = {"newest": 1, "count": listed, "read_at": (NOW - read).isoformat(), **state}
    return {
        "id": post_id,
        "comments": listed,
        "created_at": (NOW - age).isoformat(),
        "observed_at": NOW.isoformat(),
        "value": json.dumps(state) if state else None,
    }


def test_unfinished_and_unread_walks_come_first_then_the_longest_unread() -> None:
    schedule = ScheduleConfig(comments_hot=300, comments_cold=7200, hot_window=172800)
    rows = [
        row("hot-stale", read=2 * HOUR),
        row("cut", resume={"max_id": 5, "max_id_type": 1, "newest": 9}),
        row("hot-fresh", read=timedelta(minutes=1)),
        row("never"),
        row("hot-older", read=3 * HOUR),
        row("cold-old", read=1 * HOUR, age=timedelta(days=5)),
        row("cold-due", read=3 * HOUR, age=timedelta(days=5)),
        row("grew", listed=12, read=timedelta(minutes=1), count=10),
    ]
    due = [post_id for post_id, _ in due_threads(rows, NOW, NOW, schedule, rising=set())]
    assert due[:2] == ["cut", "never"]
    # moving threads first: the one with new comments listed, then the longest unread
    assert due[2:] == ["grew", "hot-older", "hot-stale", "cold-due"]


def test_a_turning_thread_then_the_fastest_growing_come_first_among_the_moving() -> None:
    schedule = ScheduleConfig(comments_hot=3 * 3600, comments_cold=86400, hot_window=86400)
    rows = [
        row("stale-and-slow", listed=12, read=20 * HOUR, age=timedelta(days=3), count=10),
        row("hot-quiet", read=4 * HOUR),
        row("fast", listed=80, read=4 * HOUR, count=18),
        row("turning", listed=30, read=3 * HOUR, count=25),
    ]
    due = [post_id for post_id, _ in due_threads(rows, NOW, NOW, schedule, rising={"turning"})]
    assert due == ["turning", "fast", "stale-and-slow", "hot-quiet"]


def test_a_rising_negative_share_makes_an_old_thread_hot() -> None:
    schedule = ScheduleConfig(comments_hot=300, comments_cold=7200, hot_window=172800)
    rows = [row("old", read=HOUR, age=timedelta(days=9))]
    assert due_threads(rows, NOW, NOW, schedule, rising=set()) == []
    assert due_threads(rows, NOW, NOW, schedule, rising={"old"}) == [("old", 10)]
