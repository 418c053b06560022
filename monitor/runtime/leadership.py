"""Leadership in the daemon: of several workers sharing one PostgreSQL database, one leads. It
runs the daemon's stages (the alert rules after each scoring round), the digest's schedule
and the chat bot; the others keep collecting, scoring and dispatching the outbox (claimed
per delivery, alerts/dispatch.py). The lock itself, and why it is an advisory lock, is
monitor/store/leadership.py's.

`watch` checks the lock every `every` runtime seconds: a follower tries to take it (so it
takes over within one period of the leader's connection closing), the leader checks its
session still lives and steps down when it does not. On SQLite the process always leads and
nothing is watched. A new leader's rules go on from the stored rule state (the outbox's
`rule_state`), so what the old leader raised is not raised again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from monitor.runtime.clock import Clock
from monitor.store.leadership import LeaderLock, SoleProcess

log = logging.getLogger(__name__)

CHECK_EVERY = 10.0  # runtime seconds between two looks at the lock

# A task that runs while this worker leads, until the event is set (it stopped leading, or
# the daemon stops).
LeaderTask = Callable[[asyncio.Event], Awaitable[None]]


class Leadership:
    def __init__(
        self,
        lock: LeaderLock | None = None,
        clock: Clock | None = None,
        *,
        every: float = CHECK_EVERY,
    ) -> None:
        self.lock = lock or SoleProcess()
        self.clock = clock
        self.every = every
        self.leading = self.lock.always
        self._changed = asyncio.Event()

    async def check(self) -> bool:
        """Take or keep the lock; True while this worker leads. The lock's connection is
        async: a server slow or unreachable (seconds to fail) holds up only this task."""
        if self.lock.always:
            return True
        held = await self.lock.hold()
        if held != self.leading:
            self.leading = held
            if held:
                log.info("leading: this worker runs the alert rules and the digest")
            else:
                log.warning("no longer leading: another worker runs the rules and the digest")
            changed, self._changed = self._changed, asyncio.Event()
            changed.set()
        return held

    async def watch(self, stop: asyncio.Event) -> None:
        """Until `stop`: check the lock every `every` runtime seconds. Nothing to watch when
        the process always leads."""
        if self.lock.always:
            return
        assert self.clock is not None, "a shared lock is watched on the daemon's clock"
        while not stop.is_set():
            await self.check()
            await self.clock.wait(stop, self.every)

    async def while_leading(self, stop: asyncio.Event, task: LeaderTask) -> None:
        """Run `task(until)` each time this worker leads, until `stop`; `until` is set when
        it stops leading (or on `stop`), and the task is expected to return then. A task that
        returns on its own (nothing to do) is not started again."""
        while not stop.is_set():
            if not self.leading:
                await _first(stop, self._changed)
                continue
            until = asyncio.Event()
            relay = asyncio.create_task(self._relay(stop, until))
            try:
                await task(until)
            finally:
                relay.cancel()
            if not until.is_set():
                return

    async def _relay(self, stop: asyncio.Event, until: asyncio.Event) -> None:
        while self.leading and not stop.is_set():
            await _first(stop, self._changed)
        until.set()

    async def close(self) -> None:
        self.leading = self.lock.always
        await self.lock.close()


async def _first(*events: asyncio.Event) -> None:
    """Until one of `events` is set."""
    waiters = [asyncio.create_task(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
