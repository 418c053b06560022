"""The simulated clock moves only when nothing else can happen first: a sleeper wakes at its
simulated deadline, never before work that was already under way (an HTTP answer, a thread,
a busy task) has finished, however long that work takes on the wall."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from monitor.runtime.clock import SimulatedClock, outside

T0 = datetime(2019, 7, 1, tzinfo=UTC)


async def test_sleepers_wake_in_deadline_order_at_their_simulated_moment() -> None:
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.monotonic()))

    async with SimulatedClock(T0) as clock:
        # A simulated week: were it the wall's, pytest-timeout would end the test.
        await asyncio.gather(
            sleeper("day", 86_400), sleeper("hour", 3600), sleeper("week", 7 * 86_400)
        )
    assert woke == [("hour", 3600.0), ("day", 86_400.0), ("week", 604_800.0)]
    assert clock.now() == T0 + timedelta(days=7)


async def test_time_holds_still_while_an_outside_operation_is_in_flight() -> None:
    events: list[str] = []

    async def request() -> None:
        async with clock.outside():
            await asyncio.sleep(0.2)  # a slow server, on the wall's time
            events.append(f"answered at {clock.monotonic():.0f}")

    async def poller() -> None:
        await asyncio.sleep(0)  # the request is under way first
        await clock.sleep(60)
        events.append(f"next poll at {clock.monotonic():.0f}")

    async with SimulatedClock(T0) as clock:
        await asyncio.gather(request(), poller())
    assert events == ["answered at 0", "next poll at 60"]


async def test_a_thread_or_a_worker_process_holds_the_clock_without_being_told() -> None:
    events: list[str] = []

    def slow_work() -> str:
        time.sleep(0.2)
        return "scored"

    async def worker() -> None:
        events.append(f"{await asyncio.to_thread(slow_work)} at {clock.monotonic():.0f}")

    async def poller() -> None:
        await asyncio.sleep(0)
        await clock.sleep(60)
        events.append(f"next poll at {clock.monotonic():.0f}")

    async with SimulatedClock(T0) as clock:
        await asyncio.gather(worker(), poller())
    assert events == ["scored at 0", "next poll at 60"]


async def test_a_busy_task_holds_the_clock_until_it_waits() -> None:
    events: list[str] = []

    async def busy() -> None:
        for _ in range(500):  # CPU work in small steps, as rules and parsers do
            await asyncio.sleep(0)
        events.append(f"rules done at {clock.monotonic():.0f}")

    async def poller() -> None:
        await clock.sleep(1)
        events.append(f"poll at {clock.monotonic():.0f}")

    async with SimulatedClock(T0) as clock:
        await asyncio.gather(poller(), busy())
    assert events == ["rules done at 0", "poll at 1"]


async def test_outcomes_are_handed_back_in_the_order_the_operations_began() -> None:
    finished: list[str] = []
    went_on: list[str] = []

    async def request(name: str, wall_seconds: float) -> None:
        async with clock.outside():
            await asyncio.sleep(wall_seconds)
            finished.append(name)
        went_on.append(name)

    async with SimulatedClock(T0) as clock:
        # The first is the slowest: the machine finishes them in another order.
        await asyncio.gather(request("a", 0.2), request("b", 0.0), request("c", 0.1))
    assert finished == ["b", "c", "a"]  # they ran side by side
    assert went_on == ["a", "b", "c"]  # but the daemon sees them in the order asked


async def test_an_outcome_waits_until_the_loop_has_nothing_else_to_run() -> None:
    steps: list[str] = []

    async def busy() -> None:
        for index in range(50):
            steps.append(f"step {index}")
            await asyncio.sleep(0)

    async def request() -> None:
        async with clock.outside():
            pass  # answered at once, while the busy task still has steps to take
        steps.append("answer")

    async with SimulatedClock(T0) as clock:
        await asyncio.gather(request(), busy())
    assert steps[-1] == "answer"


async def test_a_failed_operation_is_handed_back_in_its_turn_too() -> None:
    order: list[str] = []

    async def failing() -> None:
        try:
            async with clock.outside():
                await asyncio.sleep(0.1)
                raise ConnectionError("reset")
        except ConnectionError:
            order.append("failed")

    async def fine() -> None:
        async with clock.outside():
            pass
        order.append("fine")

    async with SimulatedClock(T0) as clock:
        await asyncio.gather(failing(), fine())
    assert order == ["failed", "fine"]


async def test_a_thread_started_inside_an_outside_operation_does_not_deadlock() -> None:
    async with SimulatedClock(T0) as clock, clock.outside():
        # aiohttp resolves a host name in a thread while its request holds the clock.
        assert await asyncio.to_thread(lambda: 42) == 42


async def test_wait_returns_early_when_the_event_is_set_and_reports_which() -> None:
    event = asyncio.Event()

    async def setter() -> None:
        await clock.sleep(10)
        event.set()

    async with SimulatedClock(T0) as clock:
        task = asyncio.create_task(setter())
        assert await clock.wait(event, 3600) is True
        assert clock.monotonic() == 10
        await task
        assert await clock.wait(asyncio.Event(), 5) is False
        assert clock.monotonic() == 15


async def test_a_cancelled_sleeper_does_not_move_the_clock() -> None:
    async with SimulatedClock(T0) as clock:
        far = asyncio.create_task(clock.sleep(10_000))
        await asyncio.sleep(0)
        far.cancel()
        await clock.sleep(5)
        assert clock.monotonic() == 5


async def test_the_loop_gets_its_own_executor_hook_back() -> None:
    loop = asyncio.get_running_loop()
    async with SimulatedClock(T0):
        assert "run_in_executor" in vars(loop)
    assert "run_in_executor" not in vars(loop)
    assert await loop.run_in_executor(None, lambda: "plain") == "plain"


async def test_outside_is_nothing_on_the_wall_clock_and_sleep_needs_a_running_clock() -> None:
    from monitor.runtime.clock import WallClock

    async with outside(WallClock()):
        pass
    with pytest.raises(RuntimeError, match="must be running"):
        await SimulatedClock(T0).sleep(1)


async def test_the_same_seed_gives_the_same_jitter() -> None:
    first, second = SimulatedClock(T0, seed=7), SimulatedClock(T0, seed=7)
    assert first.rng is not None and second.rng is not None
    assert [first.rng.random() for _ in range(3)] == [second.rng.random() for _ in range(3)]


async def test_an_operation_waiting_for_its_turn_goes_on_when_the_clock_stops() -> None:
    clock = SimulatedClock(T0)
    async with clock:
        slow = asyncio.create_task(asyncio.to_thread(time.sleep, 0.2))
        await asyncio.sleep(0)
    assert await asyncio.wait_for(slow, 5) is None
    async with clock.outside():  # a stopped clock holds nothing
        pass
