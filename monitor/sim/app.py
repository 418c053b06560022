"""The simulator's sites (m.weibo.cn, m.s.weibo.com, www.douyin.com, open.douyin.com) as
aiohttp apps.

Each site listens on its own loopback port, like the real hosts, so cookies, origins and the
Douyin page's own fetches behave as they would for real. Faults come from the FaultBook
(tests, `POST /__sim/faults`) or from the scenario's schedule.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

from aiohttp import web

from monitor.sim import douyin, gateway, open_oauth, pages, weibo
from monitor.sim.clock import Clock
from monitor.sim.faults import Fault, FaultBook
from monitor.sim.requests import SeenRequest
from monitor.sim.short_links import add_short_link_routes
from monitor.sim.world import World

log = logging.getLogger(__name__)

PLATFORM = web.AppKey("platform", str)
FAULT = web.RequestKey("fault", str)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_BLOCK_PAGES = {
    "http432": (
        432,
        "<html><head><title>432</title></head><body>请求过于频繁，请稍后再试</body></html>",
    ),
    "http418": (418, "<html><body><h1>418 I'm a teapot</h1></body></html>"),
    "http403": (
        403,
        "<html><head><title>403 Forbidden</title></head><body>Forbidden</body></html>",
    ),
}
VISITOR_PAGE = (
    "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Sina Visitor System</title></head>"
    "<body><script src='https://passport.weibo.com/js/visitor/mini_original.js'></script>"
    "</body></html>"
)
NO_PERMISSION_PAGE = "<html><body><div class='h5-4box'><p>暂无查看权限</p></div></body></html>"


def dumps(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


class Simulator:
    """World + clock + faults + per-client rate limits, shared by the sites."""

    def __init__(
        self,
        world: World,
        clock: Clock,
        *,
        requests_per_minute: int = 600,
        weibo_cookie: str | None = None,
        weibo_cookies: tuple[str, ...] = (),
        douyin_wall: str | None = None,
        douyin_test_signer: bool = True,
    ) -> None:
        self.world = world
        self.clock = clock
        self.faults = FaultBook()
        self.requests_per_minute = requests_per_minute
        # When set, search and comments need this SUB cookie (else 432 / login: false).
        self.weibo_cookie = weibo_cookie
        # More SUB cookies that log in (several workers, one identity each).
        self.weibo_logins = {weibo_cookie, *weibo_cookies} - {None}
        # "captcha" or "login": Douyin's pages show that wall and its API answers empty.
        # "captcha_overlay": the pages load, but the API holds every request open and has the
        # page's SDK lay the slider over the page, until the wall is lifted.
        self.douyin_wall = douyin_wall
        # Let the http mode's test signer through the gateway (see monitor/sim/gateway.py).
        self.douyin_test_signer = douyin_test_signer
        self.douyin_page_keys = gateway.PageKeys()
        self.douyin_signed_by: list[str] = []  # per accepted web API request: who signed it
        # Open Platform access tokens that have expired (error 28001008).
        self.expired_open_tokens: set[str] = set()
        # Open Platform access tokens whose app quota is used up (error 28003017).
        self.quota_used_open_tokens: set[str] = set()
        self.request_log: list[tuple[str, str]] = []
        # Per request: the identity it came with and when (politeness per identity).
        self.seen: list[SeenRequest] = []
        self.cookies_seen: dict[str, set[str]] = defaultdict(set)  # platform → cookie names
        self._recent: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._open_grants: dict[str, str] | None = None
        self._open_oauth: open_oauth.OAuthBook | None = None
        self._faults_met: set[int] = set()  # scheduled faults that have answered a request
        self._first_request: dict[str, datetime] = {}  # site -> simulated time

    def scheduled_fault(self, site: str, now: datetime) -> str | None:
        """The kind of the scenario's fault that answers this request, if any."""
        first = self._first_request.setdefault(site, now)
        index = self.world.scheduled_fault(site, now, self._faults_met, first)
        if index is None:
            return None
        self._faults_met.add(index)
        return self.world.faults[index].kind

    def open_grants(self) -> dict[str, str]:
        """Access token → sec_uid: every official and KOL Douyin account has authorised."""
        if self._open_grants is None:
            self._open_grants = {
                douyin.access_token_for(a.id): a.id
                for a in self.world.accounts.values()
                if a.platform == "douyin" and a.kind in ("official", "kol")
            }
        return self._open_grants

    @property
    def open_oauth(self) -> open_oauth.OAuthBook:
        """Refreshed tokens and scripted expiry of the Open Platform's grants."""
        if self._open_oauth is None:
            self._open_oauth = open_oauth.OAuthBook(self.open_grants())
        return self._open_oauth

    def over_limit(self, platform: str, client: str) -> bool:
        window = self._recent[(platform, client)]
        now = time.monotonic()
        while window and now - window[0] > 60:
            window.popleft()
        window.append(now)
        return len(window) > self.requests_per_minute

    def has_weibo_login(self, request: web.Request) -> bool:
        return not self.weibo_logins or request.cookies.get("SUB") in self.weibo_logins

    def requests_to(self, platform: str) -> int:
        return sum(1 for p, _ in self.request_log if p == platform)


SIM = web.AppKey("sim", Simulator)


def _client(request: web.Request) -> str:
    return request.cookies.get("SUB") or request.cookies.get("sessionid") or request.remote or "?"


# Faults the handler itself shapes (the others replace the response entirely).
_SHAPED_BY_HANDLER = {"truncated", "duplicate", "has_more_empty", "repeat_cursor"}


@web.middleware
async def sim_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    sim, platform = request.app[SIM], request.app[PLATFORM]
    if request.path.startswith("/__sim"):
        return await handler(request)
    sim.request_log.append((platform, request.path_qs))
    sim.seen.append(
        SeenRequest(
            platform, request.headers.get("Cookie", ""), request.path, sim.clock.now(), time.time()
        )
    )
    sim.cookies_seen[platform].update(request.cookies)
    now = sim.clock.now()
    # m.s.weibo.com shares Weibo's faults, open.douyin.com Douyin's.
    site = platform.removesuffix("_topic").removesuffix("_open")
    response: web.StreamResponse
    if sim.over_limit(platform, _client(request)):
        response = _fault_response(site, "http418" if site == "weibo" else "empty")
    else:
        fault = sim.faults.take(site, request.path)
        kind = fault.kind if fault else sim.scheduled_fault(site, now)
        if kind == "timeout":
            await asyncio.sleep(3600)  # held open until the client gives up
        elif kind == "slow":
            await asyncio.sleep(fault.delay if fault else 2.0)
        if kind in ("slow", "timeout"):
            kind = None
        request[FAULT] = kind or ""
        if kind and kind not in _SHAPED_BY_HANDLER:
            response = _fault_response(site, kind)
        else:
            response = await handler(request)
            if kind == "truncated" and isinstance(response, web.Response) and response.text:
                response.text = response.text[: len(response.text) // 2]
    # The server's clock is the simulated one: relative times ("5分钟前") resolve against it.
    response.headers["Date"] = format_datetime(now.astimezone(UTC), usegmt=True)
    return response


def _fault_response(platform: str, kind: str) -> web.Response:
    if kind in _BLOCK_PAGES:
        status, body = _BLOCK_PAGES[kind]
        return web.Response(status=status, text=body, content_type="text/html")
    if kind == "ok0":
        return _json(weibo.NOTHING)
    if kind == "captcha":
        return _json(
            {"ok": -100, "errno": "-100", "url": "https://m.weibo.cn/captcha?scene=limit&referer=/"}
        )
    if kind == "visitor":
        return web.Response(text=VISITOR_PAGE, content_type="text/html")
    if kind == "no_permission":
        return web.Response(text=NO_PERMISSION_PAGE, content_type="text/html")
    if kind == "empty":
        return web.Response(body=b"", content_type="application/json")
    if kind == "blocked":
        return web.Response(text="blocked", content_type="text/plain")
    if kind == "no_list":
        return _json({"status_code": 0})
    raise ValueError(f"no response for fault {kind}")


def _json(payload: Any) -> web.Response:
    return web.Response(text=dumps(payload), content_type="application/json")


def _int(request: web.Request, name: str, default: int = 0) -> int:
    try:
        return int(request.query.get(name) or default)
    except ValueError:
        return default


# --- Weibo ---------------------------------------------------------------------------------


async def weibo_get_index(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    now = sim.clock.now()
    query = request.query
    container = query.get("containerid", "")
    if not container and query.get("type") == "uid":
        return _json(weibo.profile(sim.world, query.get("value", ""), now))
    duplicate = request.get(FAULT) == "duplicate"
    page = max(_int(request, "page", 1), 1)
    for prefix in ("100103", "231522"):
        if container.startswith(prefix):
            if not sim.has_weibo_login(request):
                return _fault_response("weibo", "http432")
            if duplicate and page > 1:  # the next page repeats items of this one
                overlap = weibo.search_page(sim.world, container[6:], page - 1, now, prefix)
                fresh = weibo.search_page(sim.world, container[6:], page, now, prefix)
                if fresh.get("ok") == 1 and overlap.get("ok") == 1:
                    fresh["data"]["cards"] = overlap["data"]["cards"][-3:] + fresh["data"]["cards"]
                return _json(fresh)
            return _json(weibo.search_page(sim.world, container[6:], page, now, prefix))
    if container.startswith("100505"):
        return _json(weibo.profile(sim.world, container[6:], now))
    if container.startswith("107603"):
        since = query.get("since_id") or None
        return _json(weibo.timeline(sim.world, container[6:], now, since, None))
    if container.startswith("230283") and container.endswith("_-_INFO"):
        return _json(weibo.profile_info(sim.world, container[6:].removesuffix("_-_INFO")))
    if container.startswith("230413"):
        return _json(weibo.timeline(sim.world, container[6:], now, None, page))
    return _json(weibo.NOTHING)


async def weibo_hotflow(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    if not sim.has_weibo_login(request):
        return _fault_response("weibo", "http403")
    mid = request.query.get("id") or request.query.get("mid") or ""
    payload = weibo.hotflow(
        sim.world, mid, sim.clock.now(), _int(request, "max_id"), _int(request, "max_id_type")
    )
    return _json(payload)


async def weibo_comments_show(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    page = max(_int(request, "page", 1), 1)
    return _json(weibo.comments_show(sim.world, request.query.get("id", ""), sim.clock.now(), page))


async def weibo_status_show(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    mblog = weibo.status(sim.world, request.query.get("id", ""), sim.clock.now())
    if mblog is None:
        return web.Response(text=NO_PERMISSION_PAGE, content_type="text/html")
    return _json({"ok": 1, "data": mblog})


async def weibo_detail_page(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    mblog = weibo.status(sim.world, request.match_info["mid"], sim.clock.now())
    if mblog is None:
        return web.Response(text=NO_PERMISSION_PAGE, content_type="text/html")
    return web.Response(text=weibo.detail_page(mblog), content_type="text/html")


async def weibo_config(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    login = bool(sim.weibo_logins) and sim.has_weibo_login(request)
    return _json({"ok": 1, "data": {"login": login, "st": "sim", "uid": "" if not login else "1"}})


async def weibo_extend(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    payload = weibo.extend(sim.world, request.query.get("id", ""), sim.clock.now())
    if payload is None:
        return web.Response(text=NO_PERMISSION_PAGE, content_type="text/html")
    return _json(payload)


async def weibo_topic_detail(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    return _json(weibo.topic_detail(sim.world, request.query.get("q", ""), sim.clock.now()))


# --- Douyin --------------------------------------------------------------------------------


def _agent_matches(request: web.Request) -> bool:
    """A browser's User-Agent, agreeing with the browser_name/browser_version parameters."""
    query = request.query
    agent = request.headers.get("User-Agent", "")
    name, version = query.get("browser_name"), query.get("browser_version")
    return agent.startswith("Mozilla/") and (not (name and version) or f"{name}/{version}" in agent)


async def _held_for_verification(request: web.Request, sim: Simulator) -> web.StreamResponse:
    """The slider is pending: the answer's headers ask the page's SDK to show it, and the body
    waits until the wall is lifted (or the client gives up), then comes empty."""
    response = web.StreamResponse(headers={gateway.VERIFY_HEADER: '{"scene":"sim"}'})
    response.content_type = "application/json"
    await response.prepare(request)
    for _ in range(1200):  # at most two minutes of real time
        if sim.douyin_wall != "captcha_overlay":
            break
        if request.transport is None or request.transport.is_closing():
            break
        await asyncio.sleep(0.1)
    with contextlib.suppress(ConnectionResetError):  # the client gave up meanwhile
        await response.write_eof()
    return response


def douyin_api(render: Callable[[web.Request, Simulator], dict[str, Any]]) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        sim = request.app[SIM]
        if sim.douyin_wall == "captcha_overlay":
            return await _held_for_verification(request, sim)
        verdict = gateway.check(request, sim.douyin_page_keys, test_signer=sim.douyin_test_signer)
        if verdict.refusal is not None:
            return verdict.refusal
        if verdict.signer is None or not _agent_matches(request) or sim.douyin_wall:
            return _fault_response("douyin", "empty")  # a wall answers the API with nothing
        sim.douyin_signed_by.append(verdict.signer)
        payload = render(request, sim)
        fault = request.get(FAULT)
        if fault == "has_more_empty":
            payload = {
                "status_code": 0,
                "aweme_list": [],
                "comments": [],
                "has_more": 1,
                "cursor": _int(request, "cursor"),
                "max_cursor": _int(request, "max_cursor"),
            }
        elif fault == "repeat_cursor":
            payload["cursor"] = _int(request, "cursor")
            if "max_cursor" in payload:
                payload["max_cursor"] = _int(request, "max_cursor")
        elif fault == "duplicate" and payload.get("aweme_list"):
            payload["aweme_list"] = payload["aweme_list"] + payload["aweme_list"][:3]
        return _json(payload)

    return handler


def _count(request: web.Request) -> int:
    return min(max(_int(request, "count", douyin.DEFAULT_COUNT), 1), 50)


DOUYIN_ROUTES: dict[str, Callable[[web.Request, Simulator], dict[str, Any]]] = {
    "/aweme/v1/web/challenge/detail/": lambda r, s: douyin.challenge_detail(
        s.world, r.query.get("ch_id", ""), s.clock.now()
    ),
    "/aweme/v1/web/challenge/aweme/": lambda r, s: douyin.challenge_awemes(
        s.world,
        r.query.get("ch_id", ""),
        s.clock.now(),
        _int(r, "cursor"),
        _count(r),
        _int(r, "sort_type"),
    ),
    "/aweme/v1/web/aweme/post/": lambda r, s: douyin.user_posts(
        s.world, r.query.get("sec_user_id", ""), s.clock.now(), _int(r, "max_cursor"), _count(r)
    ),
    "/aweme/v1/web/aweme/detail/": lambda r, s: douyin.aweme_detail(
        s.world, r.query.get("aweme_id", ""), s.clock.now()
    ),
    "/aweme/v1/web/comment/list/": lambda r, s: douyin.comment_list(
        s.world, r.query.get("aweme_id", ""), s.clock.now(), _int(r, "cursor"), _count(r)
    ),
    "/aweme/v1/web/comment/list/reply/": lambda r, s: douyin.reply_list(
        s.world,
        r.query.get("item_id", ""),
        r.query.get("comment_id", ""),
        s.clock.now(),
        _int(r, "cursor"),
        _count(r),
    ),
    "/aweme/v1/web/user/profile/other/": lambda r, s: douyin.user_profile(
        s.world, r.query.get("sec_user_id", ""), s.clock.now()
    ),
    "/aweme/v1/web/query/user/": lambda r, s: douyin.query_user(s.clock.now()),
}


def _douyin_page(request: web.Request, page: Callable[[tuple[str, str]], str]) -> web.Response:
    sim = request.app[SIM]
    wall = sim.douyin_wall
    if wall in ("captcha", "login"):
        text = pages.captcha_page() if wall == "captcha" else pages.login_page()
    else:
        text = page(sim.douyin_page_keys.issue())  # every page load: an SDK key of its own
    return web.Response(text=text, content_type="text/html")


async def douyin_hashtag_page(request: web.Request) -> web.Response:
    return _douyin_page(request, lambda key: pages.hashtag_page(request.match_info["ch_id"], key))


async def douyin_user_page(request: web.Request) -> web.Response:
    sec_user_id = request.match_info["sec_user_id"]
    return _douyin_page(request, lambda key: pages.user_page(sec_user_id, key))


async def douyin_home(request: web.Request) -> web.Response:
    response = _douyin_page(request, pages.home_page)
    response.set_cookie("ttwid", "1%7Csim-ttwid", httponly=True)
    return response


# --- Douyin Open Platform ------------------------------------------------------------------


def douyin_open_api(render: Callable[[web.Request, Simulator, str], dict[str, Any]]) -> Handler:
    """The `access-token` header must be a live grant for the `open_id` in the query."""

    async def handler(request: web.Request) -> web.Response:
        sim = request.app[SIM]
        token = request.headers.get("access-token", "")
        now = sim.clock.now()
        if token in sim.expired_open_tokens or sim.open_oauth.expired(token, now):
            return _json(douyin.open_error(28001008, "access_token过期,请刷新或重新授权"))
        if token in sim.quota_used_open_tokens:
            return _json(douyin.open_error(28003017, "应用调用该接口的配额已用完"))
        sec_uid = sim.open_oauth.owner(token, now)
        if sec_uid is None or douyin.open_id_for(sec_uid) != request.query.get("open_id"):
            return _json(douyin.open_error(28001015, "请求参数 access_token 和 openId不匹配"))
        payload = render(request, sim, sec_uid)
        data = payload.get("data")
        fault = request.get(FAULT)
        if isinstance(data, dict) and "list" in data:
            if fault == "has_more_empty":
                data.update(list=[], has_more=True, cursor=_int(request, "cursor"))
            elif fault == "repeat_cursor":
                data["cursor"] = _int(request, "cursor")
            elif fault == "duplicate" and data["list"]:
                data["list"] = data["list"] + data["list"][:3]
        return _json(payload)

    return handler


DOUYIN_OPEN_ROUTES: dict[str, Callable[[web.Request, Simulator, str], dict[str, Any]]] = {
    "/video/list/": lambda r, s, uid: douyin.open_video_list(
        s.world, uid, s.clock.now(), _int(r, "cursor"), _count(r)
    ),
    "/item/comment/list/": lambda r, s, uid: douyin.open_comments(
        s.world, uid, r.query.get("item_id", ""), s.clock.now(), _int(r, "cursor"), _count(r)
    ),
    "/item/comment/reply/list/": lambda r, s, uid: douyin.open_comments(
        s.world,
        uid,
        r.query.get("item_id", ""),
        s.clock.now(),
        _int(r, "cursor"),
        _count(r),
        comment_id=r.query.get("comment_id", ""),
    ),
    "/data/external/user/fans/": lambda r, s, uid: douyin.open_fans(
        s.world, uid, s.clock.now(), min(max(_int(r, "date_type", 7), 1), 30)
    ),
}


# --- control -------------------------------------------------------------------------------


async def control_add_fault(request: web.Request) -> web.Response:
    try:
        spec = await request.json()
        fault = Fault(
            platform=spec["platform"],
            kind=spec["kind"],
            path=spec.get("path"),
            count=spec.get("count", 1),
            delay=float(spec.get("delay", 2.0)),
        )
    except (ValueError, KeyError, TypeError) as err:
        return web.json_response({"error": str(err)}, status=400)
    request.app[SIM].faults.add(fault)
    return web.json_response({"ok": True})


async def control_clear_faults(request: web.Request) -> web.Response:
    request.app[SIM].faults.clear()
    return web.json_response({"ok": True})


async def control_now(request: web.Request) -> web.Response:
    sim = request.app[SIM]
    return web.json_response({"now": sim.clock.now().isoformat(), "scenario": sim.world.name})


async def control_truth(request: web.Request) -> web.Response:
    """The class each comment made so far was written to carry (simulator only): the split,
    of one post (`?post=ID`, with every comment id's class) or of a platform (`?platform=`)."""
    sim = request.app[SIM]
    post, platform = request.query.get("post"), request.query.get("platform")
    now = sim.clock.now()
    truth = sim.world.truth(post_id=post, platform=platform, until=now)
    payload: dict[str, Any] = {
        "now": now.isoformat(),
        "post": post,
        "platform": platform,
        "comments": len(truth),
        "split": sim.world.truth_split(post_id=post, platform=platform, until=now),
    }
    if post is not None:
        payload["labels"] = truth
    return web.json_response(payload, dumps=lambda value: json.dumps(value, ensure_ascii=False))


def _base_app(sim: Simulator, platform: str) -> web.Application:
    app = web.Application(middlewares=[sim_middleware])
    app[SIM] = sim
    app[PLATFORM] = platform
    app.router.add_post("/__sim/faults", control_add_fault)
    app.router.add_delete("/__sim/faults", control_clear_faults)
    app.router.add_get("/__sim/now", control_now)
    app.router.add_get("/__sim/truth", control_truth)
    return app


def weibo_app(sim: Simulator) -> web.Application:
    app = _base_app(sim, "weibo")
    app.router.add_get("/api/container/getIndex", weibo_get_index)
    app.router.add_get("/comments/hotflow", weibo_hotflow)
    app.router.add_get("/api/config", weibo_config)
    app.router.add_get("/statuses/extend", weibo_extend)
    app.router.add_get("/statuses/show", weibo_status_show)
    app.router.add_get("/api/comments/show", weibo_comments_show)
    app.router.add_get("/detail/{mid}", weibo_detail_page)
    return app


def weibo_topic_app(sim: Simulator) -> web.Application:
    app = _base_app(sim, "weibo_topic")
    app.router.add_get("/ajax_topic/detail", weibo_topic_detail)
    return app


def douyin_app(sim: Simulator) -> web.Application:
    app = _base_app(sim, "douyin")
    for path, render in DOUYIN_ROUTES.items():
        app.router.add_get(path, douyin_api(render))
    app.router.add_get("/", douyin_home)
    app.router.add_get("/hashtag/{ch_id}", douyin_hashtag_page)
    app.router.add_get("/user/{sec_user_id}", douyin_user_page)
    add_short_link_routes(app, lambda req: (req.app[SIM].world, req.app[SIM].clock.now()))
    return app


async def douyin_oauth_refresh(request: web.Request) -> web.Response:
    sim, form = request.app[SIM], await request.post()
    return _json(sim.open_oauth.refresh(_form(form), sim.clock.now()))


async def douyin_oauth_renew(request: web.Request) -> web.Response:
    sim, form = request.app[SIM], await request.post()
    return _json(sim.open_oauth.renew(_form(form), sim.clock.now()))


def _form(form: Mapping[str, object]) -> dict[str, str]:
    return {key: value for key, value in form.items() if isinstance(value, str)}


def douyin_open_app(sim: Simulator) -> web.Application:
    app = _base_app(sim, "douyin_open")
    for path, render in DOUYIN_OPEN_ROUTES.items():
        app.router.add_get(path, douyin_open_api(render))
    app.router.add_post("/oauth/refresh_token/", douyin_oauth_refresh)
    app.router.add_post("/oauth/renew_refresh_token/", douyin_oauth_renew)
    return app


class SimServer:
    """The sites on loopback ports; `async with SimServer(sim) as server:`."""

    def __init__(self, sim: Simulator, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sim = sim
        self.host = host
        self.port = port
        self._runners: list[web.AppRunner] = []
        self.urls: dict[str, str] = {}

    async def start(self) -> None:
        apps = {
            "weibo": weibo_app,
            "weibo_topic": weibo_topic_app,
            "douyin": douyin_app,
            "douyin_open": douyin_open_app,
        }
        for offset, (name, factory) in enumerate(apps.items()):
            # A short shutdown timeout: a "timeout" fault holds its request open for an hour.
            runner = web.AppRunner(factory(self.sim), access_log=None, shutdown_timeout=0.5)
            await runner.setup()
            site = web.TCPSite(runner, self.host, self.port + offset if self.port else 0)
            await site.start()
            self._runners.append(runner)
            port = runner.addresses[0][1]
            self.urls[name] = f"http://{self.host}:{port}"

    async def stop(self) -> None:
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()

    async def __aenter__(self) -> SimServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def weibo_url(self) -> str:
        return self.urls["weibo"]

    @property
    def weibo_topic_url(self) -> str:
        return self.urls["weibo_topic"]

    @property
    def douyin_url(self) -> str:
        return self.urls["douyin"]

    @property
    def douyin_open_url(self) -> str:
        return self.urls["douyin_open"]
