"""Even pacing on a virtual clock: no minute's budget let out at once, shared by all sources."""

from __future__ import annotations

import asyncio
import itertools
import random
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.runtime.clock import VirtualClock
from monitor.runtime.pacing import Pacer

T0 = datetime(2019, 7, 1, tzinfo=UTC)


async def paced_times(pacer: Pacer, clock: VirtualClock, n: int) -> list[float]:
    times = []
    for _ in range(n):
        await pacer.wait()
        times.append(clock.monotonic())
    return times


async def test_n_requests_take_at_least_n_minus_burst_intervals() -> None:
    clock = VirtualClock(T0)
    pacer = Pacer(20, clock, burst=2, jitter=0.0)
    times = await paced_times(pacer, clock, 22)
    assert times[-1] >= (22 - 2) * 60 / 20
    assert times[:2] == [0.0, 0.0], "the burst goes out at once"
    gaps = [b - a for a, b in itertools.pairwise(times[1:])]
    assert all(gap == pytest.approx(3.0) for gap in gaps), "then one request every 3 s"


async def test_a_minute_budget_is_never_let_out_at_once() -> None:
    clock = VirtualClock(T0)
    pacer = Pacer(20, clock, burst=1, jitter=0.0)
    times = await paced_times(pacer, clock, 20)
    in_first_second = sum(t < 1.0 for t in times)
    assert in_first_second == 1


@given(
    rpm=st.integers(min_value=1, max_value=600),
    burst=st.integers(min_value=1, max_value=5),
    n=st.integers(min_value=1, max_value=60),
    jitter=st.floats(min_value=0.0, max_value=0.5),
)
def test_pacing_bound_holds_for_any_budget(rpm: int, burst: int, n: int, jitter: float) -> None:
    async def scenario() -> list[float]:
        clock = VirtualClock(T0)
        pacer = Pacer(rpm, clock, burst=burst, jitter=jitter, rng=random.Random(1))
        return await paced_times(pacer, clock, n)

    times = asyncio.run(scenario())
    assert times[-1] >= max(n - burst, 0) * 60 / rpm - 1e-9
    assert times == sorted(times)


async def test_sources_running_side_by_side_share_one_budget() -> None:
    clock = VirtualClock(T0)
    pacer = Pacer(30, clock, burst=1, jitter=0.0)
    stamps: list[float] = []

    async def source(requests: int) -> None:
        for _ in range(requests):
            await pacer.wait()
            stamps.append(clock.monotonic())

    async with asyncio.TaskGroup() as group:
        for _ in range(3):
            group.create_task(source(10))
    assert len(stamps) == 30
    assert max(stamps) >= (30 - 1) * 2.0, "three sources together still get 30 a minute"


async def test_an_idle_pacer_does_not_save_up_a_burst() -> None:
    clock = VirtualClock(T0)
    pacer = Pacer(60, clock, burst=2, jitter=0.0)
    await paced_times(pacer, clock, 3)
    clock.advance(3600)  # an hour of quiet
    start = clock.monotonic()
    times = await paced_times(pacer, clock, 6)
    assert times[-1] - start >= (6 - 2) * 1.0


def test_bad_budgets_are_refused() -> None:
    clock = VirtualClock(T0)
    with pytest.raises(ValueError):
        Pacer(0, clock)
    with pytest.raises(ValueError):
        Pacer(10, clock, burst=0)
