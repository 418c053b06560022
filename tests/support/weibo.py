"""The Weibo collector's rig on the simulator: config, runtime, store and the expected posts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from monitor.app.outages import health_alerts
from monitor.collectors.weibo import HEADERS, WeiboCollector
from monitor.config import Config, config_from_dict
from monitor.runtime.circuit import Circuit
from monitor.runtime.clock import VirtualClock
from monitor.runtime.fetch import Fetcher, Gate
from monitor.runtime.http import AiohttpTransport
from monitor.runtime.pacing import Pacer
from monitor.runtime.runner import PlatformRunner
from monitor.runtime.sources import PassReport, Source
from monitor.sim.app import SimServer
from monitor.sim.clock import ManualClock
from monitor.sim.faults import Fault
from monitor.sim.world import World
from monitor.store import Store
from tests.support.sim import MID_CAMPAIGN, TOPIC, running_sim

OFFICIAL = "1000000000"

KOL = "1000000001"


def sim_config(server: SimServer, tmp_path: Path, **weibo: object) -> Config:
    return config_from_dict(
        {
            "storage": {"path": "pingfan.db", "comment_retention_days": 0},
            "topics": [{"name": TOPIC}],
            "kols": [{"platform": "weibo", "id": KOL, "name": "大连身边事"}],
            "official": {"weibo": [OFFICIAL]},
            "weibo": {
                "base_url": server.weibo_url,
                "topic_base_url": server.weibo_topic_url,
                "requests_per_minute": 100_000,
                "cookie_env": "PINGFAN_TEST_NO_COOKIE",
                "timeout": "2s",
                **weibo,
            },
            "douyin": {"enabled": False},
        },
        tmp_path / "config.toml",
    )


@dataclass
class Rig:
    server: SimServer
    clock: ManualClock  # the simulator's: what the platform shows
    runtime_clock: VirtualClock  # pingfan's: cool-downs and pacing
    store: Store
    collector: WeiboCollector
    runner: PlatformRunner
    sources: list[Source]

    @property
    def world(self) -> World:
        return self.server.sim.world

    @property
    def circuit(self) -> Circuit:
        return self.runner.circuit

    async def run_pass(self) -> PassReport:
        return await self.runner.run_all(self.sources)

    def advance(self, **delta: float) -> None:
        """Move both clocks: the campaign goes on and so does pingfan's time."""
        before = self.clock.now()
        after = self.clock.advance(**delta)
        self.runtime_clock.advance((after - before).total_seconds())

    def add_fault(self, kind: str, path: str | None = None, count: int | None = 1) -> Fault:
        """The fault, so a test can see it used up: its `count` falls as requests meet it."""
        fault = Fault("weibo", kind, path=path, count=count, delay=0.1)
        self.server.sim.faults.add(fault)
        return fault

    def requests_sent(self, path: str) -> list[str]:
        """Every request to `path` in the order the simulator received them (path and query)."""
        return [q for site, q in self.server.sim.request_log
                if site.startswith("weibo") and q.startswith(path)]  # fmt: skip


def weibo_fetcher(
    clock: VirtualClock,
    gate: Gate,
    *,
    timeout: float = 2.0,
    cookie: str | None = None,
    pacer: Pacer | None = None,
    **policy: Any,
) -> Fetcher:
    """The Weibo fetcher over aiohttp, as `open_weibo` builds it, at a test's pace; `policy`:
    retries and backoff."""
    transport = AiohttpTransport(name="weibo", timeout=timeout, headers=HEADERS, cookie=cookie)
    return Fetcher(
        name="weibo", transport=transport, pacer=pacer or Pacer(100_000, clock, burst=10),
        clock=clock, gate=gate, **policy,
    )  # fmt: skip


@asynccontextmanager
async def rig(tmp_path: Path, at: datetime = MID_CAMPAIGN) -> AsyncIterator[Rig]:
    async with running_sim(at=at, requests_per_minute=100_000) as (server, clock):
        config = sim_config(server, tmp_path)
        runtime_clock = VirtualClock(at)
        with Store.open(config.storage.path) as store:
            circuit = Circuit("weibo", store, runtime_clock, cooldown=600)
            async with weibo_fetcher(
                runtime_clock, circuit, timeout=1.0, backoff_initial=0.01, backoff_max=0.05
            ) as http:
                collector = WeiboCollector(config, store, http, runtime_clock)
                runner = PlatformRunner(
                    "weibo", store, runtime_clock, circuit, on_outage=health_alerts(store, "zh")
                )
                sources = collector.sources(logged_in=False)
                yield Rig(server, clock, runtime_clock, store, collector, runner, sources)


def expected_post_ids(world: World, now: datetime) -> set[str]:
    return {
        p.id
        for p in world.posts_until(now)
        if p.platform == "weibo" and (TOPIC in p.topics or p.author_id in (OFFICIAL, KOL))
    }
