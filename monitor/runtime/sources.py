"""A source: one named, scheduled unit of collection (a topic's posts, a KOL's timeline, the
comments that are due...). Its due time and last outcome are rows in the store, so the
scheduler asks the store what is due and a restart resumes where the last process stopped."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

# held: not run by this `collect --once`, as another worker runs it now (PostgreSQL)
Status = Literal["ok", "blocked", "failed", "skipped", "held"]


@dataclass(frozen=True)
class Source:
    name: str  # "weibo:timeline:1000000001": platform first, unique
    platform: str
    interval: float  # seconds between runs
    run: Callable[[], Awaitable[int]] = field(compare=False)  # returns rows stored
    # The most a run may take (retries included) before it is cut short.
    budget: float = 600.0
    # Sources made due at once when a run of this one stores rows: new posts and grown
    # counts are read for comments now, not after the comment source's own interval.
    wakes: tuple[str, ...] = ()
    # Several workers may run it at once, each leasing the parts it works on (the comment
    # walk: one thread each); any other source runs in one worker at a time.
    shared: bool = False


class SourceList:
    """One collector's sources in pass order, each named `<platform>:<name>` and allowed its
    interval for a run. A source that lists posts wakes the platform's comment source."""

    def __init__(self, platform: str, comments: str) -> None:
        self.platform = platform
        self.comments = comments  # the full name of the comment source
        self.sources: list[Source] = []

    def add(
        self,
        name: str,
        interval: float,
        run: Callable[[], Awaitable[int]],
        *,
        lists_posts: bool = False,
    ) -> None:
        wakes = (self.comments,) if lists_posts else ()
        full_name = f"{self.platform}:{name}"
        shared = full_name == self.comments  # its threads are leased one by one (due.py)
        self.sources.append(
            Source(
                full_name, self.platform, interval, run, budget=interval, wakes=wakes,
                shared=shared,
            )
        )  # fmt: skip


@dataclass(frozen=True)
class StepResult:
    name: str
    status: Status
    rows: int = 0
    requests: int = 0
    detail: str = ""
    # A run cut at its time budget with work left: "312 threads left; the next pass resumes".
    left: str = ""

    @property
    def partial(self) -> bool:
        return bool(self.left)

    @property
    def shown_status(self) -> str:
        """The status as logs and summaries say it: `partial` for an ok run that was cut."""
        return "partial" if self.status == "ok" and self.partial else self.status


def left_text(left: tuple[int, str] | None) -> str:
    if left is None:
        return ""
    count, what = left
    return f"{count:,} {what} left; the next pass resumes"


@dataclass
class PassReport:
    platform: str
    steps: list[StepResult] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        return any(step.status == "blocked" for step in self.steps)

    @property
    def requests(self) -> int:
        return sum(step.requests for step in self.steps)

    @property
    def partial(self) -> list[StepResult]:
        """Runs cut at their time budget with work left."""
        return [step for step in self.steps if step.shown_status == "partial"]

    def rows(self) -> int:
        return sum(step.rows for step in self.steps)

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for step in self.steps:
            counts[step.shown_status] = counts.get(step.shown_status, 0) + 1
        parts = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        return (
            f"{self.platform}: {len(self.steps)} sources ({parts}), {self.rows()} rows, "
            f"{self.requests} requests"
        )
