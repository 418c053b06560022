"""Browser mode for real: Debian's headless Chromium opens the simulated www.douyin.com, whose
own JavaScript signs every request, and the collector stores what those requests load.
Walls, crashes and the memory limit relaunch or stop the browser as they should."""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.collectors.douyin import DouyinCollector
from monitor.collectors.douyin_client import PARAMS_SCRIPT
from monitor.config import Config
from monitor.parse.douyin import wall_in
from monitor.runtime.browser import BrowserFetcher, BrowserOptions, cookies_for, desktop_user_agent
from monitor.runtime.circuit import Circuit, CircuitState
from monitor.runtime.clock import VirtualClock
from monitor.runtime.pacing import Pacer
from monitor.runtime.runner import PlatformRunner
from monitor.sim.app import SimServer
from monitor.store import Store
from tests.support.douyin import (
    BLOCK_TITLE,
    Rig,
    douyin_config,
    expected_comments,
    expected_post_ids,
    rig,
)
from tests.support.sim import TOPIC, bundled_world, running_sim

CHROMIUM = Path("/usr/bin/chromium")
EARLY = bundled_world().start + timedelta(days=12)  # fewer videos: a quicker pass

# Skipped only outside CI: `make test` installs chromium, so in CI a missing browser fails.
pytestmark = [
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="Debian's chromium is not installed (make test installs it)",
    ),
    pytest.mark.timeout(300),
]


def browser_mode(**douyin: Any) -> dict[str, Any]:
    return {"mode": "browser", "signer": "", "chromium_path": str(CHROMIUM), "timeout": "5s",
            **douyin}  # fmt: skip


async def test_browser_mode_stores_the_videos_and_comments_the_pages_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PINGFAN_TEST_DOUYIN_COOKIE", "sessionid=sim-session; LOGIN_STATUS=1")
    async with rig(tmp_path, **browser_mode(cookie_env="PINGFAN_TEST_DOUYIN_COOKIE")) as r:
        report = await r.run_pass()
        now = r.clock.now()
        assert all(s.status == "ok" for s in report.steps), report.summary()
        assert r.post_ids() == expected_post_ids(r.world, now)
        assert r.comments() == expected_comments(r.world, r.post_ids(), now)
        views = r.store.latest_topic_readings("douyin")[0]["views"]
        curve = r.world.topic("douyin", name=TOPIC)
        assert curve is not None and views == r.world.topic_counts_at(curve, now)[0]
        sim = r.server.sim
        assert ("douyin", "/") in sim.request_log, "the requests are made from a douyin page"
        assert {"sessionid", "LOGIN_STATUS", "ttwid"} <= sim.cookies_seen["douyin"]
        assert r.requests() == report.requests, "the page load and every fetch are paced"
        signed = [q for p, q in sim.request_log if p == "douyin" and q.startswith("/aweme/")]
        assert signed and all("a_bogus=" in q and "msToken=" in q for q in signed)
        assert all("browser_version=" in q for q in signed), "the common parameters too"
        counts = r.store.table_counts()
        report = await r.run_pass()
        assert r.store.table_counts() == counts, "a second pass adds nothing"
        assert all(s.requests <= 2 for s in report.steps)


@pytest.mark.parametrize(("wall", "word"), [("captcha", "captcha"), ("login", "login wall")])
async def test_a_wall_is_reported_as_a_block_never_solved(
    tmp_path: Path, wall: str, word: str
) -> None:
    async with rig(tmp_path, at=EARLY, sim_options={"douyin_wall": wall}, **browser_mode()) as r:
        report = await r.run_pass()
        assert report.blocked and r.circuit.state is CircuitState.OPEN
        (blocked,) = [s for s in report.steps if s.status == "blocked"]
        assert word in blocked.detail and "never solves" in blocked.detail
        assert r.alert_titles() == [BLOCK_TITLE]
        assert not [q for p, q in r.server.sim.request_log if q.startswith("/aweme/")]
        report = await r.run_pass()
        assert report.requests == 0, "cooling down"
        r.server.sim.douyin_wall = None  # the team logged in again by hand
        r.runtime_clock.advance(3600)
        await r.run_pass()
        assert r.circuit.state is CircuitState.CLOSED
        assert r.post_ids() == expected_post_ids(r.world, r.clock.now())


async def test_an_empty_answer_in_the_browser_is_a_block(tmp_path: Path) -> None:
    async with rig(tmp_path, at=EARLY, **browser_mode()) as r:
        r.add_fault("empty", path="/aweme/v1/web/", count=None)
        report = await r.run_pass()
        assert report.blocked and r.alert_titles() == [BLOCK_TITLE]
        assert "empty body" in next(s.detail for s in report.steps if s.status == "blocked")


async def test_a_stuck_cursor_in_the_browser_ends_the_walk(tmp_path: Path) -> None:
    async with rig(tmp_path, at=EARLY, **browser_mode()) as r:
        r.add_fault("repeat_cursor", path="/aweme/v1/web/challenge/aweme/", count=None)
        report = await r.run_pass()
        assert not report.blocked and all(s.status == "ok" for s in report.steps)
        videos = next(s for s in report.steps if s.name == f"douyin:topic_videos:{TOPIC}")
        assert videos.requests == 1


# --- the browser's life --------------------------------------------------------------------


@dataclass
class BrowserRig:
    rig: Rig
    fetcher: BrowserFetcher
    collector: DouyinCollector
    runner: PlatformRunner


@asynccontextmanager
async def browser_rig(
    tmp_path: Path, at: datetime = EARLY, **options: Any
) -> AsyncIterator[BrowserRig]:
    async with running_sim(at=at, requests_per_minute=100_000) as (server, clock):
        config: Config = douyin_config(server, tmp_path, **browser_mode())
        runtime_clock = VirtualClock(at)
        with Store.open(config.storage.path) as store:
            circuit = Circuit("douyin", store, runtime_clock, cooldown=600)
            fetcher = BrowserFetcher(
                name="douyin",
                pacer=Pacer(100_000, runtime_clock, burst=10),
                options=BrowserOptions(
                    chromium_path=CHROMIUM,
                    home_url=f"{server.douyin_url}/",
                    timeout=5,
                    params_script=PARAMS_SCRIPT,
                    wall_check=wall_in,
                    **options,
                ),
                clock=runtime_clock,
                gate=circuit,
                backoff_initial=0.01,
                backoff_max=0.05,
            )
            async with fetcher:
                collector = DouyinCollector(config, store, fetcher, runtime_clock)
                runner = PlatformRunner("douyin", store, runtime_clock, circuit)
                rig_ = Rig(server, clock, runtime_clock, store, _runtime(runner, collector))
                yield BrowserRig(rig_, fetcher, collector, runner)


def _runtime(runner: PlatformRunner, collector: DouyinCollector) -> Any:
    from monitor.runtime.platforms import PlatformRuntime

    return PlatformRuntime("douyin", runner, tuple(collector.sources()))


def video_sources(b: BrowserRig) -> list[Any]:
    return [s for s in b.collector.sources() if "uploads" in s.name or "topic_videos" in s.name]


def collected_videos_ok(b: BrowserRig, server: SimServer) -> bool:
    return b.rig.post_ids() == expected_post_ids(server.sim.world, b.rig.clock.now())


async def test_the_browser_is_relaunched_after_a_crash(tmp_path: Path) -> None:
    async with browser_rig(tmp_path) as b:
        sources = video_sources(b)
        first = await b.runner.run(sources[0])
        assert first.status == "ok" and b.fetcher.launches == 1
        pid = b.fetcher.browser_pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        report = await b.runner.run_all(sources)
        assert all(s.status == "ok" for s in report.steps), report.summary()
        assert b.fetcher.launches == 2 and b.fetcher.browser_pid not in (None, pid)
        (reason,) = b.fetcher.restarts
        assert reason == "browser gone" or reason.startswith("page failed")
        assert collected_videos_ok(b, b.rig.server)


async def test_the_browser_is_relaunched_when_its_memory_passes_the_limit(tmp_path: Path) -> None:
    async with browser_rig(tmp_path, memory_limit_mb=1, memory_check_every=4) as b:
        report = await b.runner.run_all(video_sources(b))
        assert all(s.status == "ok" for s in report.steps), report.summary()
        assert b.fetcher.launches > 1
        assert all(reason.startswith("memory ") for reason in b.fetcher.restarts)
        assert b.fetcher.peak_memory_mb > 1
        assert collected_videos_ok(b, b.rig.server)


async def test_memory_of_a_live_browser_is_read(tmp_path: Path) -> None:
    async with browser_rig(tmp_path, memory_check_every=1) as b:
        await b.runner.run(video_sources(b)[0])
        used = b.fetcher.memory_mb()
        assert used is not None and 20 < used < 4096
        assert b.fetcher.peak_memory_mb > 0
    assert b.fetcher.browser_pid is None and b.fetcher.memory_mb() is None, "closed"


def test_user_agent_and_cookies() -> None:
    agent = desktop_user_agent("156.0.8078.108")
    assert "HeadlessChrome" not in agent and "Chrome/156.0.0.0" in agent
    cookies = cookies_for(" sessionid=abc; LOGIN_STATUS=1;; odd", "http://127.0.0.1:1/")
    assert [(c["name"], c["value"]) for c in cookies] == [
        ("sessionid", "abc"),
        ("LOGIN_STATUS", "1"),
    ]
