"""Watch by link: resolving share links to (platform, id), and the `pingfan watch` commands.

`monitor.parse.links` reads a link offline; only a `v.douyin.com` short link costs a request:
one GET to `[douyin] short_link_base_url` + `/CODE/`, whose redirect is read (never followed
further) and parsed like any link. In the daemon that request waits its turn in Douyin's
pacer; `pingfan watch add/resolve` make just that one request.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta

import aiohttp

from monitor.config import Config
from monitor.errors import CollectorError, LinkError
from monitor.models import CampaignMember
from monitor.parse.links import WatchLink, parse_link
from monitor.runtime.clock import Clock
from monitor.runtime.fetch import count_request
from monitor.store import Store
from monitor.store.watch import ConfigWatch, WatchedRow

_REDIRECTS = {301, 302, 303, 307, 308}
USER_AGENT = "Mozilla/5.0 (compatible; pingfan; +share-link resolver)"

Resolver = Callable[[WatchLink], Awaitable[WatchLink]]


def short_link_url(link: WatchLink, base_url: str) -> str:
    """Where a short link is asked for: the configured host, the link's code."""
    return f"{base_url.rstrip('/')}/{link.short}/"


async def resolve_short_link(
    link: WatchLink,
    base_url: str,
    *,
    timeout: float = 20.0,
    before: Callable[[], Awaitable[None]] | None = None,
) -> WatchLink:
    """The link a short link redirects to, parsed: one request, its redirect read once.
    `before` waits for the platform's pacer. A short link that does not redirect to a
    video is a LinkError; a network failure a CollectorError."""
    if link.short is None:
        return link
    url = short_link_url(link, base_url)
    if before is not None:
        await before()
    count_request()
    try:
        async with (
            aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=timeout), headers={"User-Agent": USER_AGENT}
            ) as session,
            session.get(url, allow_redirects=False) as response,
        ):
            status, location = response.status, response.headers.get("Location", "")
    except (TimeoutError, aiohttp.ClientError) as err:
        raise CollectorError(
            f"short link {link.url}: {type(err).__name__} on {url}; try again later"
        ) from err
    if status not in _REDIRECTS or not location:
        raise LinkError(
            f"short link {link.url} does not lead to a video (HTTP {status}, no redirect); "
            "check the link, or use the video's full link"
        )
    try:
        target = parse_link(location)
    except LinkError as err:
        raise LinkError(
            f"short link {link.url} leads to {location[:80]!r}, which is not a video link"
        ) from err
    if target.id is None:
        raise LinkError(f"short link {link.url} leads to another short link; use the full link")
    return replace(target, url=link.url, short=link.short)


def config_watches(config: Config) -> list[ConfigWatch]:
    """The config's `[[watch]]` entries as parsed from their links (validated at load)."""
    found = []
    for item in config.watch:
        link = parse_link(item.url)
        found.append(ConfigWatch(item.url, link.platform, link.id, item.note))
    return found


async def due_watched(
    store: Store,
    config: Config,
    platform: str,
    *,
    clock: Clock,
    platform_now: datetime,
    resolver: Resolver | None = None,
) -> tuple[list[str], list[str]]:
    """What a `watched` source reads in this run: the config's `[[watch]]` entries synced,
    short links resolved (one paced request each, where `resolver` is given), then the ids
    whose counts were not read for `kol_posts`/2. Also the messages about short links that
    could not be resolved."""
    store.watch.sync_config_watches(config_watches(config), clock.now())
    problems = await resolve_pending(store, platform, resolver) if resolver is not None else []
    # This source may run first in a pass: the platform's last Date may be a pass old.
    since = max(platform_now, clock.now()) - timedelta(seconds=config.schedule.kol_posts / 2)
    return store.watch.watched_due(platform, observed_before=since), problems


async def resolve_pending(store: Store, platform: str, resolve: Resolver) -> list[str]:
    """Resolve the watched short links of `platform` that have no id yet; returns messages
    about links that could not be resolved (the others are saved)."""
    problems = []
    for row in store.watch.watched(platform):
        if row.id is not None:
            continue
        try:
            resolved = await resolve(parse_link(row.url))
        except LinkError as err:
            problems.append(str(err))
            continue
        if resolved.id is not None:
            store.watch.resolve_watch(row.url, resolved.id)
    return problems


# --- the commands --------------------------------------------------------------------------


def resolve_link(config: Config, url: str) -> WatchLink:
    """`parse_link`, and for a short link its one request."""
    link = parse_link(url)
    if link.short is None:
        return link
    return asyncio.run(
        resolve_short_link(link, config.douyin.short_link_base_url, timeout=config.douyin.timeout)
    )


def resolve_json(link: WatchLink) -> str:
    return json.dumps(link.as_dict(), ensure_ascii=False)


def watch_add(store: Store, config: Config, url: str, note: str, now: datetime) -> str:
    link = resolve_link(config, url)
    before = store.watch.find_watch(link.url) or (
        store.watch.find_watch(link.id) if link.id else None
    )
    row = store.watch.add_watch(link.url, link.platform, link.id, note, "cli", now)
    # watched by this config's campaign: its posts count there (monitor/store/campaigns.py)
    store.campaigns.add_member(CampaignMember("watch", link.platform, row.url))
    if before is not None:
        return f"already watched: {describe(row)}"
    return f"watching {describe(row)}"


def watch_remove(store: Store, key: str) -> str:
    removed = store.watch.remove_watch(key.strip())
    if removed:
        return "\n".join(f"removed {describe(row)}" for row in removed)
    found = store.watch.find_watch(key.strip())
    if found is not None and found.origin == "config":
        raise LinkError(f"{key} is listed under [[watch]] in the config file; remove it there")
    raise LinkError(f"{key} is not watched; `pingfan watch list` shows what is")


def watch_lines(rows: list[WatchedRow]) -> list[str]:
    if not rows:
        return ["nothing watched; add a link with `pingfan watch add URL`"]
    return [describe(row) for row in rows]


def describe(row: WatchedRow) -> str:
    post = row.id or "(short link, resolved at the next collection)"
    note = f"  {row.note}" if row.note else ""
    return f"{row.platform} {post}  {row.url}  [{row.origin}]{note}"
