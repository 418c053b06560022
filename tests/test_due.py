"""Which threads' comments are due (pure), and the order a run visits them in."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from monitor.collectors.due import due_threads, visit_due_threads
from monitor.config import ScheduleConfig
from monitor.runtime.clock import VirtualClock
from monitor.runtime.fetch import source_scope
from monitor.store import Store
from tests.support.factories import post

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


class Platform:
    """Threads as a walker sees them: `pages` left to read each, the due ones planned in
    insertion order (most urgent first); a visit reads one page and takes a minute. A post
    in `listed_later` is saved (listed) after that many visits, as a listing source would."""

    def __init__(self, clock: VirtualClock, **pages: int) -> None:
        self.clock = clock
        self.store = Store.open(":memory:")
        self.pages = dict(pages)
        self.visited: list[str] = []
        self.plans = 0
        self.listed_later: dict[str, tuple[int, int]] = {}  # id -> (after visits, pages)

    def plan(self) -> list[tuple[str, int]]:
        self.plans += 1
        return [(post_id, 0) for post_id, left in self.pages.items() if left]

    async def visit(self, post_id: str, listed: int) -> tuple[int, bool]:
        self.visited.append(post_id)
        self.pages[post_id] -= 1
        await self.clock.sleep(60)
        for new_id, (after, pages) in list(self.listed_later.items()):
            if len(self.visited) == after:
                self.pages = {new_id: pages, **self.pages}  # the new one is the most urgent
                self.store.content.save_posts([post(str(1000 + len(self.pages)))])
        return 1, self.pages[post_id] > 0

    async def run(self, deadline: float | None = None) -> int:
        with source_scope(deadline):
            return await visit_due_threads(self.plan, self.visit, self.clock, self.store)


async def test_a_thread_listed_during_a_run_goes_ahead_of_the_cold_ones_still_waiting() -> None:
    platform = Platform(VirtualClock(NOW), cold1=1, cold2=1, cold3=1, cold4=1)
    platform.listed_later["staged"] = (1, 1)  # listed while the run reads cold1
    assert await platform.run() == 5
    assert platform.visited == ["cold1", "staged", "cold2", "cold3", "cold4"]
    assert platform.plans == 2, "planned at the start and once after the listing, no more"


async def test_a_long_walk_waits_behind_threads_not_yet_visited_in_the_run() -> None:
    platform = Platform(VirtualClock(NOW), long=3, a=1, b=2)
    platform.listed_later["new"] = (2, 1)
    await platform.run()
    assert platform.visited == ["long", "a", "new", "b", "long", "b", "long"]


async def test_a_thread_whose_turn_ended_is_not_visited_again_in_the_run() -> None:
    platform = Platform(VirtualClock(NOW), x=5, y=5)
    visited: list[str] = []

    async def stalls(post_id: str, listed: int) -> tuple[int, bool]:
        visited.append(post_id)
        platform.store.content.save_posts([post()])  # a re-plan lists it again; the run leaves it
        return 0, False

    assert await visit_due_threads(platform.plan, stalls, platform.clock, platform.store) == 0
    assert visited == ["x", "y"]


async def test_the_run_stops_when_its_time_is_up() -> None:
    platform = Platform(VirtualClock(NOW), a=10, b=10)
    await platform.run(deadline=platform.clock.monotonic() + 180)
    assert platform.visited == ["a", "b", "a"]  # three one-minute visits fit in three minutes
