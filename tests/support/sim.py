"""Starting the simulator in-process for tests, on free loopback ports."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from monitor.sim.app import SimServer, Simulator
from monitor.sim.clock import ManualClock
from monitor.sim.world import World, load_world

_WORLD: World | None = None
MID_CAMPAIGN = datetime.fromisoformat("2019-08-25T12:00:00+08:00")
TOPIC = "平凡大连人"
CH_ID = "1637261535424513"
SIGNED = {
    "msToken": "sim-test-token",
    "a_bogus": "sim-test-bogus",
    "browser_name": "Chrome",
    "browser_version": "125.0.0.0",
}
UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/125.0.0.0 Safari/537.36"
)


def bundled_world() -> World:
    """The bundled scenario, expanded once per test session (it is never mutated)."""
    global _WORLD
    if _WORLD is None:
        _WORLD = load_world()
    return _WORLD


@asynccontextmanager
async def running_sim(
    at: datetime = MID_CAMPAIGN, **options: object
) -> AsyncIterator[tuple[SimServer, ManualClock]]:
    clock = ManualClock(at)
    sim = Simulator(bundled_world(), clock, **options)  # type: ignore[arg-type]
    async with SimServer(sim) as server:
        yield server, clock
