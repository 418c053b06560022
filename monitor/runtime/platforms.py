"""Builds each platform's runtime: one pacer, one session, one circuit and one runner, shared
by all of its sources and kept for as long as the process runs. An explicit registry.
`on_outage` is where the runner tells of pauses and recoveries (see runner.py)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Protocol

from monitor.collectors.douyin import DouyinCollector
from monitor.collectors.douyin_client import web_fetcher
from monitor.collectors.douyin_open import OpenPlatformCollector, read_grants, read_oauth
from monitor.collectors.weibo import HEADERS as WEIBO_HEADERS
from monitor.collectors.weibo import WeiboCollector
from monitor.config import Config, read_cookies
from monitor.models import Platform
from monitor.parse.links import WatchLink
from monitor.runtime.body import MB
from monitor.runtime.circuit import Circuit
from monitor.runtime.clock import Clock
from monitor.runtime.fetch import Fetcher
from monitor.runtime.http import AiohttpTransport
from monitor.runtime.leases import LocalWorker, Worker, identities
from monitor.runtime.metrics import Metrics
from monitor.runtime.runner import OutageReport, PlatformRunner, unreported
from monitor.runtime.sources import Source
from monitor.store import Store
from monitor.watch import resolve_short_link


@dataclass(frozen=True)
class PlatformRuntime:
    platform: Platform
    runner: PlatformRunner
    sources: tuple[Source, ...]


@asynccontextmanager
async def open_weibo(
    config: Config,
    store: Store,
    clock: Clock,
    metrics: Metrics | None,
    on_outage: OutageReport = unreported,
    worker: Worker | None = None,
) -> AsyncIterator[PlatformRuntime]:
    settings = config.weibo
    worker = worker or LocalWorker(clock)
    identity = await worker.identity(identities("weibo", read_cookies(settings, "weibo")))
    cookie = identity.cookie
    pacer = worker.pacer(identity, settings.requests_per_minute, settings.burst)
    circuit = Circuit("weibo", store, clock, cooldown=settings.cooldown)
    transport = AiohttpTransport(
        name="weibo",
        timeout=settings.timeout,
        headers=WEIBO_HEADERS,
        cookie=cookie,
        max_body_bytes=settings.max_response_mb * MB,
    )
    async with Fetcher(
        name="weibo", transport=transport, pacer=pacer, clock=clock, gate=circuit
    ) as http:
        collector = WeiboCollector(config, store, http, clock)
        runner = PlatformRunner(
            "weibo", store, clock, circuit, on_outage=on_outage, metrics=metrics
        )
        sources = collector.sources(logged_in=transport.has_cookie)
        yield PlatformRuntime("weibo", runner, tuple(sources))


@asynccontextmanager
async def open_douyin(
    config: Config,
    store: Store,
    clock: Clock,
    metrics: Metrics | None,
    on_outage: OutageReport = unreported,
    worker: Worker | None = None,
) -> AsyncIterator[PlatformRuntime]:
    """[douyin] mode: "browser" or "http" (the web API), or "open_platform" (KOL grants)."""
    settings = config.douyin
    worker = worker or LocalWorker(clock)
    # The Open Platform's KOL tokens are not a browser identity: it runs as anonymous.
    cookies = read_cookies(settings, "douyin") if settings.mode != "open_platform" else []
    identity = await worker.identity(identities("douyin", cookies))
    pacer = worker.pacer(identity, settings.requests_per_minute, settings.burst)
    circuit = Circuit("douyin", store, clock, cooldown=settings.cooldown)
    runner = PlatformRunner("douyin", store, clock, circuit, on_outage=on_outage, metrics=metrics)
    if settings.mode == "open_platform":
        grants = read_grants(settings.open_platform_token_envs, dict(os.environ))
        oauth = read_oauth(config, grants, dict(os.environ), clock)
        transport = AiohttpTransport(
            name="douyin", timeout=settings.timeout, max_body_bytes=settings.max_response_mb * MB
        )
        async with Fetcher(
            name="douyin", transport=transport, pacer=pacer, clock=clock, gate=circuit
        ) as http:
            open_collector = OpenPlatformCollector(config, store, http, clock, grants, oauth)
            yield PlatformRuntime("douyin", runner, tuple(open_collector.sources()))
        return

    async def resolver(link: WatchLink) -> WatchLink:
        return await resolve_short_link(
            link, settings.short_link_base_url, timeout=settings.timeout, before=pacer.wait
        )

    async with web_fetcher(settings, pacer, clock, circuit, identity.cookie) as fetcher:
        collector = DouyinCollector(config, store, fetcher, clock, resolver=resolver)
        yield PlatformRuntime("douyin", runner, tuple(collector.sources()))


class OpenPlatform(Protocol):
    def __call__(
        self,
        config: Config,
        store: Store,
        clock: Clock,
        metrics: Metrics | None,
        on_outage: OutageReport = ...,
        worker: Worker | None = ...,
    ) -> AbstractAsyncContextManager[PlatformRuntime]: ...


PLATFORMS: dict[str, OpenPlatform] = {"weibo": open_weibo, "douyin": open_douyin}


def enabled_platforms(config: Config, only: str | None = None) -> list[str]:
    """Platforms to collect: enabled in the config, built, and (if given) the one asked for."""
    enabled = {"weibo": config.weibo.enabled, "douyin": config.douyin.enabled}
    return [name for name in PLATFORMS if enabled.get(name) and only in (None, name)]
