"""Browser mode for real: Debian's headless Chromium opens the simulated www.douyin.com, whose
own JavaScript signs every request, and the collector stores what those requests load.
The simulator's gateway lets only the page's signature through (its test signer is off
here), so these tests pass only when the page signs. Walls, crashes and the memory limit
relaunch or stop the browser as they should."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.app.outages import health_alerts
from monitor.collectors.douyin import DouyinCollector
from monitor.collectors.douyin_client import (
    PARAMS_SCRIPT,
    READY_SCRIPT,
    douyin_fetcher,
    drop_page_load_cookies,
)
from monitor.config import Config, ConfigError, config_from_dict
from monitor.doctor import run_checks
from monitor.errors import Blocked, CollectorError
from monitor.parse.douyin import wall_in
from monitor.runtime.browser import (
    BrowserOptions,
    BrowserTransport,
    cookies_for,
    desktop_user_agent,
)
from monitor.runtime.circuit import Circuit, CircuitState
from monitor.runtime.clock import VirtualClock
from monitor.runtime.fetch import Fetcher, TransientHttpError
from monitor.runtime.pacing import Pacer
from monitor.runtime.runner import PlatformRunner
from monitor.sim import pages
from monitor.sim.app import SimServer
from monitor.sim.faults import Fault
from monitor.store import Store
from tests.support.douyin import (
    BLOCK_TITLE,
    Rig,
    douyin_config,
    expected_comments,
    expected_post_ids,
    rig,
)
from tests.support.sim import CH_ID, TOPIC, bundled_world, running_sim

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


# The simulator lets only the page's own signature through (no test signer).
STRICT = {"douyin_test_signer": False}
PAGE_OWN = "/aweme/v1/web/query/user/"  # the request the home page makes for itself


def browser_mode(**douyin: Any) -> dict[str, Any]:
    return {"mode": "browser", "signer": "", "chromium_path": str(CHROMIUM), "timeout": "5s",
            **douyin}  # fmt: skip


def api_requests(server: SimServer, *, own: bool = False) -> list[str]:
    """The web API requests the simulator received: pingfan's, or (own) the page's own."""
    log = server.sim.request_log
    return [q for p, q in log if p == "douyin" and q.startswith("/aweme/")
            and q.startswith(PAGE_OWN) == own]  # fmt: skip


def query_of(path_qs: str) -> dict[str, list[str]]:
    from urllib.parse import parse_qs, urlsplit

    return parse_qs(urlsplit(path_qs).query, keep_blank_values=True)


async def test_browser_mode_stores_the_videos_and_comments_the_pages_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "PINGFAN_TEST_DOUYIN_COOKIE",
        "sessionid=sim-session; __ac_nonce=0old; LOGIN_STATUS=1; __ac_signature=_old.sig",
    )
    options = browser_mode(cookie_env="PINGFAN_TEST_DOUYIN_COOKIE")
    async with rig(tmp_path, sim_options=STRICT, **options) as r:
        report = await r.run_pass()
        now = r.clock.now()
        assert all(s.status == "ok" for s in report.steps), report.summary()
        assert r.post_ids() == expected_post_ids(r.world, now)
        assert r.comments() == expected_comments(r.world, r.post_ids(), now)
        views = r.store.reports.latest_topic_readings("douyin")[0]["views"]
        curve = r.world.topic("douyin", name=TOPIC)
        assert curve is not None and views == r.world.topic_counts_at(curve, now)[0]
        sim = r.server.sim
        assert ("douyin", "/") in sim.request_log, "the requests are made from a douyin page"
        assert {"sessionid", "LOGIN_STATUS", "ttwid"} <= sim.cookies_seen["douyin"]
        assert not {"__ac_nonce", "__ac_signature"} & sim.cookies_seen["douyin"], "dropped"
        own = len(api_requests(r.server, own=True))
        assert own >= 1, "the home page made its own first request"
        assert r.requests() - own == report.requests, "the page load and every fetch are paced"
        sent = api_requests(r.server)
        assert sent and set(sim.douyin_signed_by) == {"page"}, "only the page's SDK signed"
        for path_qs in sent:  # every security parameter once: the SDK's, never a second copy
            query = query_of(path_qs)
            assert all(len(query[k]) == 1 for k in ("msToken", "a_bogus", "verifyFp", "fp"))
            assert not {"webid", "uifid", "X-Bogus"} & set(query)
            # the ordinary parameters as the page's own request carried them, not constants
            assert query["version_code"] == [pages.VERSION_CODE]
            assert query["update_version_code"] == [pages.UPDATE_VERSION_CODE]
            assert query["browser_version"][0].count(".") == 3
        counts = r.store.reports.table_counts()
        report = await r.run_pass()
        assert r.store.reports.table_counts() == counts, "a second pass adds nothing"
        assert all(s.requests <= 2 for s in report.steps)


@pytest.mark.parametrize(("wall", "word"), [("captcha", "captcha"), ("login", "login wall")])
async def test_a_wall_is_reported_as_a_block_never_solved(
    tmp_path: Path, wall: str, word: str
) -> None:
    options = {**STRICT, "douyin_wall": wall}
    async with rig(tmp_path, at=EARLY, sim_options=options, **browser_mode()) as r:
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


async def test_a_pending_captcha_is_one_block_with_one_alert_never_a_retry(
    tmp_path: Path,
) -> None:
    """The SDK lays its slider over the page and holds the page's own first request open:
    pingfan sends nothing, reports the captcha once, and waits out the cool-down."""
    options = {**STRICT, "douyin_wall": "captcha_overlay"}
    async with rig(tmp_path, at=EARLY, sim_options=options, **browser_mode(timeout="2s")) as r:
        report = await r.run_pass()
        assert report.blocked and r.circuit.state is CircuitState.OPEN
        (blocked,) = [s for s in report.steps if s.status == "blocked"]
        assert "captcha" in blocked.detail and "never solves" in blocked.detail
        assert r.alert_titles() == [BLOCK_TITLE]
        assert api_requests(r.server) == [], "nothing sent before the page's own request"
        report = await r.run_pass()
        assert report.requests == 0 and r.alert_titles() == [BLOCK_TITLE], "one alert"
        r.server.sim.douyin_wall = None  # someone passed the slider by hand
        r.runtime_clock.advance(3600)
        report = await r.run_pass()
        assert r.circuit.state is CircuitState.CLOSED and not report.blocked
        assert r.post_ids() == expected_post_ids(r.world, r.clock.now())


async def test_an_empty_answer_in_the_browser_is_a_block(tmp_path: Path) -> None:
    async with rig(tmp_path, at=EARLY, sim_options=STRICT, **browser_mode()) as r:
        r.add_fault("empty", path="/aweme/v1/web/", count=None)
        report = await r.run_pass()
        assert report.blocked and r.alert_titles() == [BLOCK_TITLE]
        assert "empty body" in next(s.detail for s in report.steps if s.status == "blocked")


async def test_a_stuck_cursor_in_the_browser_ends_the_walk(tmp_path: Path) -> None:
    async with rig(tmp_path, at=EARLY, sim_options=STRICT, **browser_mode()) as r:
        r.add_fault("repeat_cursor", path="/aweme/v1/web/challenge/aweme/", count=None)
        report = await r.run_pass()
        assert not report.blocked and all(s.status == "ok" for s in report.steps)
        videos = next(s for s in report.steps if s.name == f"douyin:topic_videos:{TOPIC}")
        assert videos.requests == 1


# --- the browser's life --------------------------------------------------------------------


@dataclass
class BrowserRig:
    rig: Rig
    fetcher: Fetcher
    browser: BrowserTransport
    collector: DouyinCollector
    runner: PlatformRunner


@asynccontextmanager
async def browser_rig(
    tmp_path: Path, at: datetime = EARLY, timeout: float = 5, **options: Any
) -> AsyncIterator[BrowserRig]:
    async with running_sim(at=at, requests_per_minute=100_000, **STRICT) as (server, clock):
        config: Config = douyin_config(server, tmp_path, **browser_mode())
        runtime_clock = VirtualClock(at)
        with Store.open(config.storage.path) as store:
            circuit = Circuit("douyin", store, runtime_clock, cooldown=600)
            browser = BrowserTransport(
                name="douyin",
                options=BrowserOptions(
                    chromium_path=CHROMIUM,
                    home_url=f"{server.douyin_url}/",
                    timeout=timeout,
                    params_script=PARAMS_SCRIPT,
                    ready_script=READY_SCRIPT,
                    wall_check=wall_in,
                    **options,
                ),
            )
            pacer = Pacer(100_000, runtime_clock, burst=10)
            fetcher = douyin_fetcher(
                browser, pacer, runtime_clock, circuit, backoff_initial=0.01, backoff_max=0.05
            )
            async with fetcher:
                collector = DouyinCollector(config, store, fetcher, runtime_clock)
                runner = PlatformRunner(
                    "douyin", store, runtime_clock, circuit, on_outage=health_alerts(store, "zh")
                )
                rig_ = Rig(server, clock, runtime_clock, store, _runtime(runner, collector))
                yield BrowserRig(rig_, fetcher, browser, collector, runner)


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
        assert first.status == "ok" and b.browser.launches == 1
        pid = b.browser.browser_pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        report = await b.runner.run_all(sources)
        assert all(s.status == "ok" for s in report.steps), report.summary()
        assert b.browser.launches == 2 and b.browser.browser_pid not in (None, pid)
        (reason,) = b.browser.restarts
        assert reason == "browser gone" or reason.startswith("page failed")
        assert collected_videos_ok(b, b.rig.server)


async def test_the_browser_is_relaunched_when_its_memory_passes_the_limit(tmp_path: Path) -> None:
    async with browser_rig(tmp_path, memory_limit_mb=1, memory_check_every=4) as b:
        report = await b.runner.run_all(video_sources(b))
        assert all(s.status == "ok" for s in report.steps), report.summary()
        assert b.browser.launches > 1
        assert all(reason.startswith("memory ") for reason in b.browser.restarts)
        assert b.browser.peak_memory_mb > 1
        assert collected_videos_ok(b, b.rig.server)


async def test_memory_of_a_live_browser_is_read(tmp_path: Path) -> None:
    async with browser_rig(tmp_path, memory_check_every=1) as b:
        await b.runner.run(video_sources(b)[0])
        used = b.browser.memory_mb()
        assert used is not None and 20 < used < 4096
        assert b.browser.peak_memory_mb > 0
    assert b.browser.browser_pid is None and b.browser.memory_mb() is None, "closed"


def test_user_agent_and_cookies() -> None:
    agent = desktop_user_agent("156.0.8078.108")
    assert "HeadlessChrome" not in agent and "Chrome/156.0.0.0" in agent
    cookies = cookies_for(" sessionid=abc; LOGIN_STATUS=1;; odd", "http://127.0.0.1:1/")
    assert [(c["name"], c["value"]) for c in cookies] == [
        ("sessionid", "abc"),
        ("LOGIN_STATUS", "1"),
    ]


# --- requests as the page makes them ----------------------------------------------------


CHALLENGE = "/aweme/v1/web/challenge/detail/"


async def test_a_captcha_laid_over_a_loaded_page_stops_the_request_without_a_retry(
    tmp_path: Path,
) -> None:
    async with browser_rig(tmp_path, timeout=2) as b:
        server = b.rig.server
        url = f"{server.douyin_url}{CHALLENGE}"
        first = await b.fetcher.get(url, {"ch_id": CH_ID})
        assert first.status == 200 and CH_ID in first.text
        server.sim.douyin_wall = "captcha_overlay"
        with pytest.raises(Blocked, match=r"captcha.*never solves"):
            await b.fetcher.get(url, {"ch_id": CH_ID})
        assert len(api_requests(server)) == 2, "the held request, and no retry"
        assert b.browser.launches == 1


async def test_a_security_parameter_from_pingfan_is_never_sent(tmp_path: Path) -> None:
    async with browser_rig(tmp_path) as b:
        url = f"{b.rig.server.douyin_url}{CHALLENGE}"
        for name in ("msToken", "a_bogus", "verifyFp", "webid"):
            with pytest.raises(CollectorError, match=f"never sets {name}"):
                await b.fetcher.get(url, {"ch_id": CH_ID, name: "forged"})
        assert api_requests(b.rig.server) == [] and b.fetcher.requests == 0


async def test_at_most_one_request_is_in_flight_on_the_page(tmp_path: Path) -> None:
    async with browser_rig(tmp_path) as b:
        server = b.rig.server
        url = f"{server.douyin_url}{CHALLENGE}"
        await b.fetcher.get(url, {"ch_id": CH_ID})  # the page is up
        page = b.browser.page
        assert page is not None
        await page.evaluate(
            "() => { const inner = window.fetch; window.inFlight = 0; window.mostInFlight = 0;"
            " window.fetch = (...args) => { window.inFlight += 1;"
            "  window.mostInFlight = Math.max(window.mostInFlight, window.inFlight);"
            "  return inner(...args).finally(() => { window.inFlight -= 1; }); }; }"
        )
        server.sim.faults.add(Fault("douyin", "slow", path=CHALLENGE, count=None, delay=0.3))
        answers = await asyncio.gather(*(b.fetcher.get(url, {"ch_id": CH_ID}) for _ in range(3)))
        assert all(a.status == 200 and CH_ID in a.text for a in answers)
        assert await page.evaluate("window.mostInFlight") == 1


async def test_the_constants_are_sent_only_with_one_warning_when_the_page_has_none(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with browser_rig(tmp_path) as b:
        server = b.rig.server
        url = f"{server.douyin_url}{CHALLENGE}"
        await b.fetcher.get(url, {"ch_id": CH_ID})
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
        page = b.browser.page
        assert page is not None
        await page.evaluate("performance.clearResourceTimings()")  # no request of its own
        with caplog.at_level(logging.WARNING, logger="monitor.runtime.browser"):
            for _ in range(2):
                await page.evaluate("performance.clearResourceTimings()")
                await b.fetcher.get(url, {"ch_id": CH_ID})
        warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1 and "version_code 190600" in warnings[0]
        first, *later = api_requests(server)
        assert query_of(first)["version_code"] == [pages.VERSION_CODE]
        assert all(query_of(q)["version_code"] == ["190600"] for q in later)


def test_headless_is_a_checked_config_key(tmp_path: Path) -> None:
    def douyin(**keys: Any) -> dict[str, Any]:
        return {"topics": [{"name": TOPIC}], "douyin": {"mode": "browser", **keys}}

    assert config_from_dict(douyin(), tmp_path / "c.toml").douyin.headless is True
    assert config_from_dict(douyin(headless=False), tmp_path / "c.toml").douyin.headless is False
    with pytest.raises(ConfigError, match=r"douyin\.headless"):
        config_from_dict(douyin(headless="no"), tmp_path / "c.toml")


async def test_headful_without_a_display_says_how_to_get_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    options = BrowserOptions(chromium_path=CHROMIUM, home_url="http://127.0.0.1:9/", headless=False)
    clock = VirtualClock(EARLY)
    browser = BrowserTransport(name="douyin", options=options)
    async with douyin_fetcher(browser, Pacer(100, clock), clock, None, retries=0) as fetcher:
        with pytest.raises(TransientHttpError, match="xvfb-run"):
            await fetcher.get("http://127.0.0.1:9/aweme/v1/web/challenge/detail/")
        assert browser.launches == 0


def test_page_load_cookies_are_dropped_and_doctor_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept, dropped = drop_page_load_cookies("sessionid=a; __ac_nonce=b; __ac_signature=c; x=1")
    assert kept == "sessionid=a; x=1" and dropped == ["__ac_nonce", "__ac_signature"]
    assert drop_page_load_cookies(None) == (None, [])
    monkeypatch.setenv("PINGFAN_TEST_DOUYIN_COOKIE", "sessionid=secret-value; __ac_nonce=n0nce")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    table = {"mode": "browser", "cookie_env": "PINGFAN_TEST_DOUYIN_COOKIE", "headless": False}
    config = config_from_dict({"topics": [{"name": TOPIC}], "douyin": table}, tmp_path / "c.toml")
    checks = {c.name: c for c in run_checks(config)}
    cookie = checks["douyin cookie"]
    assert cookie.status == "warn" and "__ac_nonce" in cookie.detail
    assert "captcha" in cookie.detail and "n0nce" not in cookie.detail
    assert checks["douyin headless"].status == "warn"
    assert "xvfb-run" in checks["douyin headless"].detail
