"""Simulated time for the simulator: a replay at `speed` times real time (`pingfan sim`), the
time a demo's simulated clock keeps (`FollowingClock`), or a clock tests set by hand."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class ReplayClock:
    """Starts at `start` when created and runs `speed` times faster than real time."""

    def __init__(self, start: datetime, speed: float = 1.0, origin: float | None = None) -> None:
        """`origin`: the `time.monotonic()` at which `start` was (default: now). The monotonic
        clock is the machine's, so another process given the same origin keeps the same time."""
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.start = start
        self.speed = speed
        self._origin = time.monotonic() if origin is None else origin

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self._origin) * self.speed)


class Elapsed(Protocol):
    value: float


class FollowingClock:
    """Reads the seconds since `start` that another process's simulated clock keeps in shared
    memory (a `multiprocessing.Value("d")`): the demo's daemon and simulator see one time,
    and it moves only while no request is in flight."""

    def __init__(self, start: datetime, elapsed: Elapsed) -> None:
        self.start = start
        self._elapsed = elapsed

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self._elapsed.value)


class ManualClock:
    """Moves only when told to: what deterministic tests use."""

    def __init__(self, start: datetime) -> None:
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now
