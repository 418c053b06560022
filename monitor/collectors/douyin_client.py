"""How Douyin's web API is reached in each mode: the fetcher a collector is given.

- `browser`: `BrowserFetcher` on a www.douyin.com page; the page's own SDK signs every
  `fetch()` it makes (msToken, a_bogus), and `PARAMS_SCRIPT` adds the common parameters the
  site's code would add, read from the browser itself so that they always match its
  User-Agent.
- `http`: `SignedFetcher` over aiohttp: the same common parameters for a fixed desktop Chrome
  User-Agent, then whatever a pluggable signer adds. No signer is built in; without one the
  real site answers with empty bodies (reported as a block).
- `open_platform`: plain aiohttp with the KOL's `access-token` header (see douyin_open.py).
"""

from __future__ import annotations

import importlib
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Protocol, cast
from urllib.parse import urlencode

from monitor.config import ConfigError, DouyinConfig, read_cookie
from monitor.parse.douyin import wall_in
from monitor.runtime.body import MB
from monitor.runtime.browser import BrowserFetcher, BrowserOptions
from monitor.runtime.clock import Clock
from monitor.runtime.http import Fetcher, Gate, HttpClient, HttpResponse
from monitor.runtime.pacing import Pacer

# A desktop Chrome on Linux; http mode's common parameters are derived from it.
HTTP_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/125.0.0.0 Safari/537.36"
)
# The common parameters of www.douyin.com's own requests (MediaCrawler and f2 send the same
# set); browser_name/browser_version must agree with the User-Agent or the answer is empty.
_COMMON = {
    "device_platform": "webapp", "aid": "6383", "channel": "channel_pc_web",
    "pc_client_type": "1", "version_code": "190600", "version_name": "19.6.0",
    "cookie_enabled": "true", "browser_language": "zh-CN", "browser_platform": "Linux x86_64",
    "browser_name": "Chrome", "browser_online": "true", "engine_name": "Blink",
    "os_name": "Linux", "platform": "PC", "screen_width": "1920", "screen_height": "1080",
}  # fmt: skip
# The same, computed in the page from the browser's own navigator (browser mode).
PARAMS_SCRIPT = (
    "(params) => {"
    " const m = navigator.userAgent.match(/Chrome\\/([\\d.]+)/);"
    f" const common = {json.dumps(_COMMON)};"
    " common.browser_version = m ? m[1] : '0';"
    " common.browser_online = String(navigator.onLine);"
    " common.screen_width = String(screen.width); common.screen_height = String(screen.height);"
    " return Object.assign(common, params); }"
)
REFERER = "https://www.douyin.com/"


class Signer(Protocol):
    """`(query, user_agent) -> extra parameters` (msToken, a_bogus...), appended in order
    after the query they sign. Loaded from `[douyin] signer = "module:function"`."""

    def __call__(self, query: str, user_agent: str) -> Mapping[str, str]: ...


def common_params(user_agent: str) -> dict[str, str]:
    version = user_agent.split("Chrome/")[1].split()[0] if "Chrome/" in user_agent else "0"
    return {**_COMMON, "browser_version": version}


def load_signer(spec: str) -> Signer | None:
    """The signer named `module:function`, or None for "" (no signer)."""
    if not spec:
        return None
    module_name, _, attribute = spec.partition(":")
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError, ValueError) as err:
        raise ConfigError(
            f"'douyin.signer' is {spec!r}, which cannot be imported ({err}); name a function "
            "as 'package.module:function', or leave it empty for no signer"
        ) from err
    if not callable(found):
        raise ConfigError(f"'douyin.signer' {spec!r} is not a function")
    return cast(Signer, found)


class SignedFetcher:
    """http mode: aiohttp with the common parameters and the signer's additions, in the
    order they were signed (so the URL is built here, not re-encoded by the client)."""

    def __init__(self, client: HttpClient, signer: Signer | None, user_agent: str) -> None:
        self.client = client
        self.signer = signer
        self.user_agent = user_agent
        self.requests = 0
        self._common = common_params(user_agent)

    async def get(
        self,
        url: str,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        query = urlencode({**self._common, **{k: str(v) for k, v in (params or {}).items()}})
        if self.signer is not None:
            extra = self.signer(query, self.user_agent)
            if extra:
                query += "&" + urlencode(dict(extra))
        self.requests += 1
        return await self.client.get(f"{url}?{query}", None, headers)


@asynccontextmanager
async def web_fetcher(
    settings: DouyinConfig, pacer: Pacer, clock: Clock, gate: Gate
) -> AsyncIterator[Fetcher]:
    """The fetcher of `browser` or `http` mode, open for as long as the platform runs."""
    cookie = read_cookie(settings.cookie_env, key="douyin.cookie_env")
    base = settings.base_url.rstrip("/")
    if settings.mode == "browser":
        options = BrowserOptions(
            chromium_path=settings.chromium_path,
            home_url=f"{base}/",
            timeout=settings.timeout,
            # 0 (or less): no limit, the browser is relaunched only when it crashes
            memory_limit_mb=(
                settings.browser_memory_limit_mb
                if settings.browser_memory_limit_mb > 0
                else float("inf")
            ),
            cookie=cookie,
            params_script=PARAMS_SCRIPT,
            wall_check=wall_in,
            max_body_bytes=settings.max_response_mb * MB,
        )
        async with BrowserFetcher(
            name="douyin", pacer=pacer, options=options, clock=clock, gate=gate
        ) as browser:
            yield browser
        return
    signer = load_signer(settings.signer)
    headers = {
        "User-Agent": HTTP_USER_AGENT,
        "Accept": "application/json, text/plain, */*",
        "Accept-Language": "zh-CN,zh;q=0.9",
    }
    async with HttpClient(
        name="douyin",
        pacer=pacer,
        timeout=settings.timeout,
        clock=clock,
        headers=headers,
        cookie=cookie,
        gate=gate,
        max_body_bytes=settings.max_response_mb * MB,
    ) as client:
        yield SignedFetcher(client, signer, HTTP_USER_AGENT)
