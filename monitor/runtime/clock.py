"""The runtime's clock: real time for `pingfan run`, the simulator's compressed time in the
demo, or a virtual clock in tests. Pacing, cool-downs and schedules all read this one clock."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, timezone-aware."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (same scale as `now`)."""
        ...

    async def sleep(self, seconds: float) -> None: ...

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        """Sleep up to `seconds`, returning early (True) when `event` is set."""
        ...


async def _wait(event: asyncio.Event, real_seconds: float) -> bool:
    try:
        await asyncio.wait_for(event.wait(), timeout=max(real_seconds, 0.0))
    except TimeoutError:
        return event.is_set()
    return True


class WallClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0))

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        return await _wait(event, seconds)


class CompressedClock:
    """`speed` runtime seconds pass per real second, from `start` (the demo's replay)."""

    def __init__(self, start: datetime, speed: float, origin: float | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.start = start
        self.speed = speed
        # The machine's monotonic clock: a simulator process given this origin keeps step.
        self.origin = time.monotonic() if origin is None else origin

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.monotonic())

    def monotonic(self) -> float:
        return (time.monotonic() - self.origin) * self.speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0) / self.speed)

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        return await _wait(event, seconds / self.speed)


class VirtualClock:
    """Time moves only when a task sleeps: a sleep jumps the clock forward at once.

    Deterministic for pacing and cool-down tests: N paced requests "take" exactly the time the
    pacer asked for, without waiting for it."""

    def __init__(self, start: datetime) -> None:
        self._start = start
        self._elapsed = 0.0

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._elapsed)

    def monotonic(self) -> float:
        return self._elapsed

    def advance(self, seconds: float) -> None:
        self._elapsed += max(seconds, 0.0)

    async def sleep(self, seconds: float) -> None:
        self.advance(seconds)
        await asyncio.sleep(0)

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        if not event.is_set():
            await self.sleep(seconds)
        return event.is_set()


async def wait_any(clock: Clock, seconds: float, *events: asyncio.Event) -> None:
    """Until one of `events` is set, or `seconds` of the clock have passed."""
    waiters: list[asyncio.Task[object]] = [asyncio.create_task(event.wait()) for event in events]
    waiters.append(asyncio.create_task(clock.sleep(seconds)))
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in waiters:
            task.cancel()
