"""The Douyin collector's rig on the simulator: config, runtime, store and what it must find."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from monitor.app.outages import health_alerts
from monitor.config import Config, config_from_dict
from monitor.runtime.circuit import Circuit
from monitor.runtime.clock import VirtualClock
from monitor.runtime.platforms import PlatformRuntime, open_douyin
from monitor.runtime.sources import PassReport
from monitor.sim.app import SimServer
from monitor.sim.clock import ManualClock
from monitor.sim.faults import Fault
from monitor.sim.world import World
from monitor.store import Store
from tests.support.sim import CH_ID, MID_CAMPAIGN, TOPIC, running_sim

OFFICIAL = "MS4wLjABAAAAofficial0DalianWangxin00000000000000000"

KOLS = {
    "MS4wLjABAAAAkolFoodDalianTanDian00000000000000000000": "大连美食探店",
    "MS4wLjABAAAAkolTravelBinchengRiji000000000000000000": "滨城旅行日记",
    "MS4wLjABAAAAkolLifeDalianShenghuoQuan00000000000000": "大连生活圈",
    "MS4wLjABAAAAkolSeaHaibianXiaoLin000000000000000000": "海边的小林",
}

BLOCK_TITLE = "抖音采集暂停：被平台拦截"

EXPIRED_TITLE = "抖音采集暂停：登录 Cookie 已失效"

COOLDOWN = 600


def douyin_config(
    server: SimServer | None,
    tmp_path: Path,
    *,
    ch_id: str | None = CH_ID,
    accounts: bool = True,
    **douyin: Any,
) -> Config:
    topic: dict[str, Any] = {"name": TOPIC}
    if ch_id:
        topic["douyin_ch_id"] = ch_id
    kols = [{"platform": "douyin", "id": k, "name": n} for k, n in KOLS.items()]
    return config_from_dict(
        {
            "storage": {"path": "pingfan.db", "comment_retention_days": 0},
            "topics": [topic],
            "kols": kols if accounts else [],
            "official": {"douyin": [OFFICIAL] if accounts else []},
            "weibo": {"enabled": False},
            "douyin": {
                "base_url": server.douyin_url if server else "http://127.0.0.1:9",
                "open_platform_base_url": server.douyin_open_url
                if server
                else "http://127.0.0.1:9",
                "mode": "http",
                "signer": "monitor.sim.douyin:sign",
                "requests_per_minute": 100_000,
                "burst": 10,
                "cookie_env": "PINGFAN_TEST_NO_COOKIE",
                "timeout": "1s",
                "cooldown": COOLDOWN,
                **douyin,
            },
        },
        tmp_path / "config.toml",
    )


@dataclass
class Rig:
    server: SimServer
    clock: ManualClock  # the simulator's: what the platform shows
    runtime_clock: VirtualClock  # pingfan's: cool-downs, pacing, retries
    store: Store
    runtime: PlatformRuntime

    @property
    def world(self) -> World:
        return self.server.sim.world

    @property
    def circuit(self) -> Circuit:
        return self.runtime.runner.circuit

    async def run_pass(self) -> PassReport:
        return await self.runtime.runner.run_all(list(self.runtime.sources))

    def advance(self, **delta: float) -> None:
        before = self.clock.now()
        after = self.clock.advance(**delta)
        self.runtime_clock.advance((after - before).total_seconds())

    def add_fault(self, kind: str, path: str | None = None, count: int | None = 1) -> Fault:
        """The fault, so a test can see it used up: its `count` falls as requests meet it."""
        fault = Fault("douyin", kind, path=path, count=count, delay=0.1)
        self.server.sim.faults.add(fault)
        return fault

    def requests_sent(self, path: str) -> list[str]:
        """Every request to `path` in the order the simulator received them (path and query)."""
        return [q for site, q in self.server.sim.request_log
                if site.startswith("douyin") and q.startswith(path)]  # fmt: skip

    def requests(self) -> int:
        return self.server.sim.requests_to("douyin") + self.server.sim.requests_to("douyin_open")

    def post_ids(self) -> set[str]:
        return {row["id"] for row in self.store.query("SELECT id FROM posts")}

    def comments(self) -> dict[str, str | None]:
        rows = self.store.query("SELECT id, parent_id FROM comments")
        return {row["id"]: row["parent_id"] for row in rows}

    def alert_titles(self) -> list[str]:
        return [a["title"] for a in self.store.query("SELECT title FROM alerts ORDER BY id")]


@asynccontextmanager
async def rig(
    tmp_path: Path,
    at: datetime = MID_CAMPAIGN,
    sim_options: dict[str, Any] | None = None,
    **douyin: Any,
) -> AsyncIterator[Rig]:
    options: dict[str, Any] = {"requests_per_minute": 100_000, **(sim_options or {})}
    async with running_sim(at=at, **options) as (server, clock):
        ch_id = douyin.pop("ch_id", CH_ID)
        config = douyin_config(server, tmp_path, ch_id=ch_id, **douyin)
        runtime_clock = VirtualClock(at)
        with Store.open(config.storage.path) as store:
            on_outage = health_alerts(store, config.ui.language)
            async with open_douyin(config, store, runtime_clock, None, on_outage) as runtime:
                yield Rig(server, clock, runtime_clock, store, runtime)


def expected_post_ids(world: World, now: datetime) -> set[str]:
    """What the web modes must find: the challenge's videos and the watched accounts' uploads
    (every simulated Douyin video is tagged), except removed ones."""
    return {p.id for p in world.posts_until(now) if p.platform == "douyin" and not p.removed}


def expected_comments(world: World, post_ids: set[str], now: datetime) -> dict[str, str | None]:
    return {c.id: c.parent_id for pid in post_ids for c in world.comments_until(pid, now)}
