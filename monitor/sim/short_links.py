"""v.douyin.com on the simulator: `GET /s/{code}` answers 302 with the share page of one of
the organiser's (hero) Douyin videos, the way the real short-link host does. The same code
always leads to the same video; a code before the first hero video exists is a 404.

`[douyin] short_link_base_url = "<douyin sim URL>/s"` points pingfan here."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from datetime import datetime

from aiohttp import web

from monitor.sim.world import World

PREFIX = "/s"
# The request's world and simulated moment (the app module knows where they are kept).
WorldOf = Callable[[web.Request], tuple[World, datetime]]


def short_link_target(code: str, now_posts: list[str]) -> str | None:
    """The aweme id `code` leads to among the hero videos that exist (`now_posts`)."""
    if not now_posts:
        return None
    return now_posts[zlib.crc32(code.encode()) % len(now_posts)]


def add_short_link_routes(app: web.Application, world_of: WorldOf) -> None:
    async def redirect(request: web.Request) -> web.StreamResponse:
        world, now = world_of(request)
        heroes = [
            post.id
            for post in world.posts_until(now)
            if post.platform == "douyin" and post.role == "hero" and not post.removed
        ]
        target = short_link_target(request.match_info["code"], heroes)
        if target is None:
            return web.Response(status=404, text="not found", content_type="text/plain")
        location = f"https://www.iesdouyin.com/share/video/{target}/?region=CN&from=web_code_link"
        return web.Response(status=302, headers={"Location": location})

    app.router.add_get(PREFIX + "/{code}", redirect)
    app.router.add_get(PREFIX + "/{code}/", redirect)
