"""How Douyin's web API is reached in each mode: the fetcher a collector is given.

- `browser`: `BrowserTransport` on a www.douyin.com page; the page's own SDK signs every
  `fetch()` made from it (msToken, a_bogus, verifyFp, fp, the x-secsdk-web-signature header),
  and pingfan never sets any of them (`SECURITY_PARAMS`). `PARAMS_SCRIPT` adds the ordinary
  parameters (version_code, pc_client_type...) as the page's own first request carried them
  (`performance.getEntriesByType('resource')`), falling back on `_COMMON` with one warning;
  `READY_SCRIPT` holds every request until that first request has been made.
- `http`: aiohttp with `SignedQuery`, the transport's auth hook: the same common parameters
  for a fixed desktop Chrome User-Agent, then whatever a pluggable signer adds. No signer is
  built in; without one the real site answers with empty bodies (reported as a block).
- `open_platform`: plain aiohttp with the KOL's `access-token` header (see douyin_open.py).

Either way the one `Fetcher` paces, gates, retries and counts, and refuses a request in which
a collector set a security parameter itself.
"""

from __future__ import annotations

import importlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol, cast
from urllib.parse import urlencode

from monitor.config import ConfigError, DouyinConfig, read_cookie
from monitor.parse.douyin import wall_in
from monitor.runtime.body import MB
from monitor.runtime.browser import BrowserOptions, BrowserTransport
from monitor.runtime.clock import Clock
from monitor.runtime.fetch import Fetcher, Gate, Request, Transport
from monitor.runtime.http import AiohttpTransport
from monitor.runtime.pacing import Pacer

log = logging.getLogger(__name__)

# A desktop Chrome on Linux; http mode's common parameters are derived from it.
HTTP_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/125.0.0.0 Safari/537.36"
)
HTTP_HEADERS = {
    "User-Agent": HTTP_USER_AGENT,
    "Accept": "application/json, text/plain, */*",
    "Accept-Language": "zh-CN,zh;q=0.9",
}
# The common parameters of www.douyin.com's own requests (MediaCrawler and f2 send the same
# set); browser_name/browser_version must agree with the User-Agent or the answer is empty.
_COMMON = {
    "device_platform": "webapp", "aid": "6383", "channel": "channel_pc_web",
    "pc_client_type": "1", "version_code": "190600", "version_name": "19.6.0",
    "cookie_enabled": "true", "browser_language": "zh-CN", "browser_platform": "Linux x86_64",
    "browser_name": "Chrome", "browser_online": "true", "engine_name": "Blink",
    "os_name": "Linux", "platform": "PC", "screen_width": "1920", "screen_height": "1080",
}  # fmt: skip
# Parameters, and the header, that only the page's SDK sets: pingfan never does. A second
# copy gives "Sign Invalid"; a stale one is a fingerprint.
SECURITY_PARAMS = frozenset({"msToken", "a_bogus", "X-Bogus", "verifyFp", "fp", "webid", "uifid"})
SIGNATURE_HEADER = "x-secsdk-web-signature"
# The ordinary parameters copied from the page's own request when it carries them.
ORDINARY_PARAMS = (
    *_COMMON, "browser_version", "update_version_code", "pc_libra_divert", "support_h265",
    "support_dash", "engine_version", "os_version", "cpu_core_num", "device_memory",
    "downlink", "effective_type", "round_trip_time",
)  # fmt: skip
_API = "/aweme/v1/web/"
# Browser mode, in the page: the ordinary parameters of the page's own first web API request
# (the newest version_code and the rest, exactly as the site's code sends them); when the
# page made none that carries them, `_COMMON` with the browser's own version and screen, and a
# warning. Security parameters are never copied.
PARAMS_SCRIPT = (
    "(params) => {"
    f" const keys = {json.dumps(ORDINARY_PARAMS)};"
    " const own = performance.getEntriesByType('resource').map((e) => e.name)"
    f"   .filter((u) => u.includes({json.dumps(_API)}) && u.includes('version_code='));"
    " const common = {};"
    " let warning = null;"
    " if (own.length) {"
    "  const query = new URL(own[0]).searchParams;"
    "  for (const k of keys) { if (query.has(k)) { common[k] = query.get(k); } }"
    " } else {"
    "  const m = navigator.userAgent.match(/Chrome\\/([\\d.]+)/);"
    f"  Object.assign(common, {json.dumps(_COMMON)});"
    "  common.browser_version = m ? m[1] : '0';"
    "  common.browser_online = String(navigator.onLine);"
    "  common.screen_width = String(screen.width); common.screen_height = String(screen.height);"
    "  warning = 'the page made no request of its own carrying version_code; sending the "
    "built-in common parameters (version_code ' + common.version_code + '), which may be "
    "stale and mark the requests as not the site\\'s own';"
    " }"
    " return {params: Object.assign(common, params), warning: warning}; }"
)
# The first-request gate: the page has made its own first signed web API request.
READY_SCRIPT = (
    "() => performance.getEntriesByType('resource').some((e) =>"
    f" e.name.includes({json.dumps(_API)}) && e.name.includes('a_bogus='))"
)
# Cookies that pair with one page load (a challenge and its answer): an old pair brings the
# captcha page, so they are dropped from the user's cookie and the site sets fresh ones.
PAGE_LOAD_COOKIES = ("__ac_nonce", "__ac_signature")
REFERER = "https://www.douyin.com/"


class Signer(Protocol):
    """`(query, user_agent) -> extra parameters` (msToken, a_bogus...), appended in order
    after the query they sign. Loaded from `[douyin] signer = "module:function"`."""

    def __call__(self, query: str, user_agent: str) -> Mapping[str, str]: ...


def drop_page_load_cookies(cookie: str | None) -> tuple[str | None, list[str]]:
    """The cookie without `__ac_nonce` / `__ac_signature`, and the names dropped."""
    if not cookie:
        return cookie, []
    kept, dropped = [], []
    for part in cookie.split(";"):
        name = part.strip().partition("=")[0].strip()
        if name in PAGE_LOAD_COOKIES:
            dropped.append(name)
        elif part.strip():
            kept.append(part.strip())
    return "; ".join(kept) or None, dropped


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


@dataclass(frozen=True)
class SignedQuery:
    """http mode's auth hook on the aiohttp transport: the common parameters, then the
    signer's additions, in the order they were signed (so the URL is built here, not
    re-encoded by the client)."""

    signer: Signer | None
    user_agent: str

    def apply(self, request: Request) -> Request:
        query = urlencode({**common_params(self.user_agent), **dict(request.params)})
        if self.signer is not None:
            extra = self.signer(query, self.user_agent)
            if extra:
                query += "&" + urlencode(dict(extra))
        return replace(request, url=f"{request.url}?{query}", params=())


def web_fetcher(
    settings: DouyinConfig, pacer: Pacer, clock: Clock, gate: Gate, cookie: str | None = None
) -> Fetcher:
    """The fetcher of `browser` or `http` mode, to be opened (`async with`) for as long as
    the platform runs; `cookie` is the worker's identity (None: `cookie_env`'s)."""
    cookie, dropped = drop_page_load_cookies(
        cookie or read_cookie(settings.cookie_env, key="douyin.cookie_env")
    )
    if dropped:  # names only: cookie values are never logged
        log.info(
            "douyin: %s dropped from the cookie: they pair with one page load, and an old pair "
            "brings the captcha page (the site sets fresh ones)",
            ", ".join(dropped),
        )
    base = settings.base_url.rstrip("/")
    transport: Transport
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
            ready_script=READY_SCRIPT,
            wall_check=wall_in,
            max_body_bytes=settings.max_response_mb * MB,
            headless=settings.headless,
        )
        transport = BrowserTransport(name="douyin", options=options)
    else:
        signed = SignedQuery(load_signer(settings.signer), HTTP_USER_AGENT)
        transport = AiohttpTransport(
            name="douyin", timeout=settings.timeout, headers=HTTP_HEADERS, cookie=cookie,
            max_body_bytes=settings.max_response_mb * MB, auth=signed,
        )  # fmt: skip
    return douyin_fetcher(transport, pacer, clock, gate)


def douyin_fetcher(
    transport: Transport, pacer: Pacer, clock: Clock, gate: Gate | None, **policy: Any
) -> Fetcher:
    """Douyin's request policy over either transport: no security parameter from a collector,
    and one request at a time on a browser page. `policy`: the fetcher's retries, backoff."""
    return Fetcher(
        name="douyin",
        transport=transport,
        pacer=pacer,
        clock=clock,
        gate=gate,
        single_flight=isinstance(transport, BrowserTransport),
        refused_params=SECURITY_PARAMS,
        **policy,
    )
