"""Even pacing: a platform's requests are spaced `60 / requests_per_minute` seconds apart.

A token bucket that starts full lets a whole minute's budget out at once, which is exactly
the burst pattern platforms block. This is the generic cell rate algorithm instead: each
request reserves the next slot on a shared timeline, at most `burst` requests may go out back
to back, and a little random jitter is added on top so the spacing does not look mechanical.
One pacer per platform is shared by all of its sources and lives as long as the process.
"""

from __future__ import annotations

import random

from monitor.runtime.clock import Clock


class Pacer:
    def __init__(
        self,
        requests_per_minute: float,
        clock: Clock,
        *,
        burst: int = 1,
        jitter: float = 0.1,
        rng: random.Random | None = None,
    ) -> None:
        if requests_per_minute <= 0:
            raise ValueError("requests_per_minute must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.interval = 60.0 / requests_per_minute
        self.burst = burst
        self.jitter = jitter
        self.requests = 0
        self._clock = clock
        self._rng = rng or random.Random()
        self._next_slot: float | None = None  # theoretical time of the next request

    def reserve(self) -> float:
        """Reserve the next slot; returns how long to wait for it (no waiting here)."""
        now = self._clock.monotonic()
        slot = now if self._next_slot is None else max(self._next_slot, now)
        allowed_at = slot - (self.burst - 1) * self.interval
        self._next_slot = slot + self.interval
        self.requests += 1
        delay = max(allowed_at - now, 0.0)
        if delay > 0 and self.jitter:
            delay += self._rng.uniform(0, self.jitter * self.interval)
        return delay

    async def take(self) -> float:
        """Reserve the next slot: how long to wait for it (a shared budget asks the
        database here, runtime/leases.py)."""
        return self.reserve()

    async def wait(self) -> None:
        delay = await self.take()
        if delay > 0:
            await self._clock.sleep(delay)
