"""`pingfan sim`: serve the simulator until interrupted, printing its base URLs."""

from __future__ import annotations

import asyncio
import contextlib
import signal

from monitor.sim.app import SimServer, Simulator
from monitor.sim.clock import ReplayClock
from monitor.sim.world import load_world

DEFAULT_SPEED = 1440.0  # one campaign day per real minute


async def serve(host: str, port: int, scenario: str | None, speed: float | None) -> None:
    world = load_world(scenario)
    clock = ReplayClock(world.start, speed or DEFAULT_SPEED)
    async with SimServer(Simulator(world, clock), host, port) as server:
        print(
            f"scenario {world.name}: {len(world.posts)} posts, simulated time from "
            f"{world.start.isoformat()} at {clock.speed:g}x"
        )
        print(f"weibo        base_url       = {server.weibo_url}")
        print(f"weibo        topic_base_url = {server.weibo_topic_url}")
        print(f"douyin       base_url       = {server.douyin_url}")
        print(f"douyin       open_platform_base_url = {server.douyin_open_url}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signum, stop.set)
        await stop.wait()
