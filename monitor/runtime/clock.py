"""The runtime's clock: real time for `pingfan run`, simulated time that waits for the work
in the demo and tests, or a virtual clock for unit tests. Pacing, cool-downs and schedules
all read this one clock."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import heapq
import itertools
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class Clock(Protocol):
    # Where jitter comes from: None for the OS's entropy; a seeded generator under simulation,
    # so the same scenario makes the same requests at the same moments.
    rng: random.Random | None

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
    rng: random.Random | None = None

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0))

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        return await _wait(event, seconds)


class VirtualClock:
    """Time moves only when a task sleeps: a sleep jumps the clock forward at once.

    Deterministic for pacing and cool-down tests: N paced requests "take" exactly the time the
    pacer asked for, without waiting for it."""

    rng: random.Random | None = None

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


class ElapsedCell(Protocol):
    """Where simulated time is kept: a plain holder, or a `multiprocessing.Value("d")` that
    the simulator's process reads (the demo)."""

    value: float


class _Cell:
    def __init__(self) -> None:
        self.value = 0.0


_inside_outside: contextvars.ContextVar[bool] = contextvars.ContextVar("outside", default=False)
QUIET_ROUNDS = 2  # loop iterations with nothing to run before the clock may move or deliver


class SimulatedClock:
    """Simulated time that waits for the work: what the demo and the tests run on.

    A sleep never waits for the wall. The clock jumps to the earliest sleeper's deadline only
    when the event loop has nothing else to do: no callback is ready to run and no outside
    operation is pending. Outside operations are what the loop cannot see finish by itself:
    each HTTP request (the fetchers wrap it in `outside()`), and every `run_in_executor` job
    (threads, `asyncio.to_thread`, the scoring worker), which `async with clock:` routes
    through `outside()` for the loop it runs on.

    Outside operations run side by side (the simulator, the scoring worker and the daemon
    each keep a core busy), but each one's outcome is handed back only when the loop has
    nothing else to run, one at a time, in the order the operations began. So what the
    daemon sees, and when, does not depend on which answer the machine happened to finish
    first: the same scenario and seed give the same requests, rows and alerts at the same
    simulated moments, on an idle machine or a busy one; only the wall time differs.
    (FoundationDB's deterministic simulation is the model; trio's autojump clock a small
    version of it.)
    """

    def __init__(
        self, start: datetime, *, seed: int = 0, elapsed: ElapsedCell | None = None
    ) -> None:
        self._start = start
        self._elapsed: ElapsedCell = elapsed if elapsed is not None else _Cell()
        self._elapsed.value = 0.0
        self.rng: random.Random | None = random.Random(seed)
        self._timers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        # Outside operations by the order they began: None while under way, then the future
        # that lets the operation's task go on once its turn comes.
        self._pending: dict[int, asyncio.Future[None] | None] = {}
        self._changed: asyncio.Event | None = None
        self._keeper: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- the Clock protocol ---------------------------------------------------------------

    def now(self) -> datetime:
        return self._start + timedelta(seconds=self._elapsed.value)

    def monotonic(self) -> float:
        return self._elapsed.value

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        await self._timer(seconds)

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        if event.is_set():
            return True
        timer = self._timer(max(seconds, 0.0))
        waiter: asyncio.Future[Any] = asyncio.ensure_future(event.wait())
        try:
            await asyncio.wait([timer, waiter], return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            waiter.cancel()
        return event.is_set()

    # --- running ------------------------------------------------------------------------

    async def __aenter__(self) -> SimulatedClock:
        loop = asyncio.get_running_loop()
        if self._loop is not None:
            raise RuntimeError("this SimulatedClock is already running")
        self._loop = loop
        self._changed = asyncio.Event()
        # Every executor job (to_thread, the scoring worker, aiohttp's DNS lookups) becomes an
        # outside operation, so none is forgotten at a call site.
        setattr(loop, "run_in_executor", self._in_executor(loop.run_in_executor))  # noqa: B010
        self._keeper = loop.create_task(self._keep(loop), name="simulated-clock")
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._loop is not None and self._keeper is not None
        self._keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._keeper
        del self._loop.run_in_executor  # back to the class's own method
        self._loop = None
        # Stopped: operations still waiting for their turn go on, later ones pass through.
        self._changed = None
        for turn in self._pending.values():
            if turn is not None and not turn.done():
                turn.set_result(None)

    @asynccontextmanager
    async def outside(self) -> AsyncIterator[None]:
        """The body waits on something outside the loop (an HTTP answer, another thread or
        process): the clock holds still until then, and the task goes on only at its turn.
        Nested uses in one task (and the tasks it starts meanwhile) count once."""
        if self._changed is None or _inside_outside.get():
            yield
            return
        ticket = next(self._order)
        self._pending[ticket] = None
        token = _inside_outside.set(True)
        try:
            yield
        except asyncio.CancelledError:
            del self._pending[ticket]  # stopping: nobody waits for this outcome
            self._poke()
            raise
        except BaseException:
            await self._turn(ticket)
            raise
        else:
            await self._turn(ticket)
        finally:
            _inside_outside.reset(token)

    async def _turn(self, ticket: int) -> None:
        if self._changed is None:  # the clock stopped while the operation was under way
            self._pending.pop(ticket, None)
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending[ticket] = turn
        self._poke()
        try:
            await turn
        finally:
            self._pending.pop(ticket, None)
            self._poke()

    def _poke(self) -> None:
        """Wake the keeper: an operation began, ended or left."""
        if self._changed is not None:
            self._changed.set()

    def _in_executor(self, submit: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
        def run_in_executor(executor: Any, func: Callable[..., T], *args: Any) -> Awaitable[T]:
            async def job() -> T:
                async with self.outside():
                    result: T = await submit(executor, func, *args)
                    return result

            return asyncio.ensure_future(job())

        return run_in_executor

    def _timer(self, seconds: float) -> asyncio.Future[None]:
        if self._changed is None:
            raise RuntimeError("a SimulatedClock must be running (async with clock:) to sleep")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        deadline = self._elapsed.value + seconds
        heapq.heappush(self._timers, (deadline, next(self._order), future))
        self._changed.set()
        return future

    def _next_deadline(self) -> float | None:
        while self._timers and self._timers[0][2].done():
            heapq.heappop(self._timers)  # a sleeper that was cancelled
        return self._timers[0][0] if self._timers else None

    async def _keep(self, loop: asyncio.AbstractEventLoop) -> None:
        """Hands back outcomes and moves the clock when, and only when, the loop has nothing
        else to run."""
        assert self._changed is not None
        # CPython's queue of callbacks ready to run: the one sign that other work is pending.
        ready = getattr(loop, "_ready", None)
        if ready is None:
            raise RuntimeError("SimulatedClock needs CPython's asyncio event loop")
        quiet = 0
        while True:
            first = min(self._pending) if self._pending else None
            if (first is not None and self._pending[first] is None) or (
                first is None and self._next_deadline() is None
            ):
                # The earliest operation is still under way, or there is nothing to wait for.
                self._changed.clear()
                await self._changed.wait()
                quiet = 0
                continue
            await asyncio.sleep(0)
            if ready:
                quiet = 0
                continue
            quiet += 1
            if quiet < QUIET_ROUNDS:
                continue
            quiet = 0
            first = min(self._pending) if self._pending else None
            if first is None:
                self._advance()
                continue
            turn = self._pending[first]
            if turn is not None and not turn.done():
                turn.set_result(None)

    def _advance(self) -> None:
        deadline = self._next_deadline()
        if deadline is None:
            return
        self._elapsed.value = max(self._elapsed.value, deadline)
        while self._timers and self._timers[0][0] <= self._elapsed.value:
            _, _, future = heapq.heappop(self._timers)
            if not future.done():
                future.set_result(None)


@asynccontextmanager
async def outside(clock: Clock) -> AsyncIterator[None]:
    """`clock.outside()` where the clock is simulated; nothing at all on the wall's."""
    if isinstance(clock, SimulatedClock):
        async with clock.outside():
            yield
    else:
        yield
