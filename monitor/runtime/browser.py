"""The browser transport: Playwright driving the system's Chromium (never a downloaded
browser), below the one `Fetcher` (monitor.runtime.fetch), so pacing, the circuit, retries,
the runner and the collectors work as over aiohttp.

One browser and one context live as long as the transport; the session cookie (from the
environment) is loaded into the context. Every request is a `fetch()` made by a page of the
site itself (`home_url`), so the site's own JavaScript treats it as its own request: it adds
its cookies and, on sites whose SDK hooks `fetch`, its signature parameters. A site-specific
`params_script` may add the query parameters the site's own code would add. pingfan never
sets a parameter the site's SDK adds (the fetcher's `refused_params`): a copy of its own
would make a duplicate the site refuses.

Requests wait for the page: none is sent before `ready_script` says the page has made its
own first (signed) request, and at most one is in flight at a time (the fetcher's single
flight). A request that fails or times out on a page showing a verification overlay (the SDK
holds a request open while its slider is pending) is reported as `Blocked`, never retried.

The browser is relaunched when it crashes, when its page crashes, or when the memory of its
process tree (proportional set size, summed over the browser and its children) passes
`memory_limit_mb`. A captcha or login wall is reported as `Blocked`, never solved.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from monitor.errors import Blocked
from monitor.runtime.body import MB, BodyTooLarge
from monitor.runtime.fetch import (
    TRANSIENT_STATUSES,
    Admission,
    HttpResponse,
    Request,
    TransientHttpError,
)
from monitor.runtime.http import server_date

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, Page, Playwright

log = logging.getLogger(__name__)

HEADLESS_ARG = "--headless=new"
DEFAULT_ARGS = (
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--mute-audio",
)  # fmt: skip
# Headers a page's fetch() may set; the browser owns User-Agent, Cookie and Referer.
_PAGE_HEADERS = {"accept", "accept-language"}

# Runs in the page: the request as the page's own code would make it.
_FETCH = """
async (a) => {
  const extend = %s;
  const extended = extend ? extend(a.params) : {params: a.params, warning: null};
  const all = extended.params;
  const note = extended.warning || null;
  const query = new URLSearchParams(all).toString();
  const target = query ? a.url + (a.url.includes('?') ? '&' : '?') + query : a.url;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), a.timeoutMs);
  const init = {credentials: 'include', signal: controller.signal, headers: a.headers};
  if (a.referrer) { init.referrer = a.referrer; }
  try {
    const response = await fetch(target, init);
    // Streamed, and given up past maxBytes: an endless answer never reaches Python whole.
    const parts = [];
    let size = 0;
    if (response.body) {
      const reader = response.body.getReader();
      for (;;) {
        const {done, value} = await reader.read();
        if (done) { break; }
        size += value.byteLength;
        if (size > a.maxBytes) {
          controller.abort();
          return {tooLarge: size, url: response.url, note: note};
        }
        parts.push(value);
      }
    }
    const joined = new Uint8Array(size);
    let offset = 0;
    for (const part of parts) { joined.set(part, offset); offset += part.byteLength; }
    const body = new TextDecoder('utf-8').decode(joined);
    return {status: response.status, url: response.url, body: body,
            date: response.headers.get('date'), note: note};
  } catch (e) {
    return {error: (e && e.name ? e.name : 'Error') + ': ' + (e && e.message ? e.message : e),
            note: note};
  } finally {
    clearTimeout(timer);
  }
}
"""


@dataclass(frozen=True)
class BrowserOptions:
    chromium_path: Path
    home_url: str  # the site's page the requests are made from (same origin as the API)
    timeout: float = 30.0  # seconds per request and per page load
    memory_limit_mb: float = 1024.0  # relaunch when the browser's tree passes this
    cookie: str | None = None  # "k=v; k2=v2", loaded into the context; never logged
    # JS expression of a function (params) => ({params, warning}), or "": the parameters the
    # site's own code would add, and a warning (or null) to log once when they are guessed.
    params_script: str = ""
    # JS expression of a function () => bool: true once the page has made its own first
    # signed request; no request is sent before ("" for no wait).
    ready_script: str = ""
    headless: bool = True  # False needs a display (e.g. Xvfb, see the README)
    # Given the home page's HTML: a description of a captcha or login wall, or None.
    wall_check: Callable[[str], str | None] | None = None
    memory_check_every: int = 10  # requests between two memory readings
    max_body_bytes: int = 20 * MB  # a larger answer is BodyTooLarge (the page stops reading)
    launch_args: tuple[str, ...] = DEFAULT_ARGS


class BrowserTransport:
    """A transport whose requests are made by a page of the site in headless Chromium. Its
    fetcher keeps one request in flight at a time (`single_flight`): the page is taken, or
    relaunched, by the one in flight."""

    def __init__(self, *, name: str, options: BrowserOptions) -> None:
        self.name = name
        self.options = options
        self.launches = 0
        self.restarts: list[str] = []  # why each relaunch happened ("crash", "memory ...")
        self.peak_memory_mb = 0.0
        self._fetch_js = _FETCH % (options.params_script or "null")
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._context: BrowserContext | None = None
        self._page: Page | None = None
        self._pid: int | None = None
        self._dead: str | None = None  # why the browser must be relaunched
        self._since_check = 0
        self._lock = asyncio.Lock()
        self._warned = False  # the params_script's warning is logged once

    def __repr__(self) -> str:  # the cookie stays out of reprs and logs
        return f"BrowserTransport({self.name!r}, launches={self.launches})"

    @property
    def has_cookie(self) -> bool:
        return bool(self.options.cookie)

    @property
    def browser_pid(self) -> int | None:
        return self._pid

    @property
    def page(self) -> Page | None:
        """The page requests are made from, while the browser runs (tests, diagnostics)."""
        return self._page

    async def aclose(self) -> None:
        await self._close_browser()
        if self._playwright is not None:
            with contextlib.suppress(Exception):
                await self._playwright.stop()
            self._playwright = None

    # --- requests ----------------------------------------------------------------------

    async def prepare(self, request: Request, admission: Admission) -> None:
        """The live page, (re)launched when needed: never while the platform cools down;
        its page load is admitted (paced, counted) like any request."""
        admission.check_gate(request.url)
        await self._ready_page(admission)

    async def handle(self, request: Request) -> HttpResponse:
        from playwright.async_api import Error as PlaywrightError

        page, generation = self._page, self.launches
        if page is None:
            raise RuntimeError(f"{self!r} sent a request it was not prepared for")
        url = request.url
        headers = dict(request.headers)
        referrer = headers.get("Referer")
        arguments = {
            "url": url,
            "params": dict(request.params),
            "headers": {k: v for k, v in headers.items() if k.lower() in _PAGE_HEADERS},
            "referrer": referrer if referrer and _same_origin(referrer, url) else None,
            "timeoutMs": int(self.options.timeout * 1000),
            "maxBytes": self.options.max_body_bytes,
        }
        try:
            result = await asyncio.wait_for(
                page.evaluate(self._fetch_js, arguments), self.options.timeout + 5
            )
        except (PlaywrightError, TimeoutError) as err:
            await self._raise_if_walled(page, url, f"the request failed ({type(err).__name__})")
            self._mark_dead(f"page failed ({type(err).__name__})", generation)
            raise TransientHttpError(f"{self.name}: browser failed on {url} ({err})") from err
        if isinstance(result, dict) and result.get("note") and not self._warned:
            self._warned = True
            log.warning("%s: %s", self.name, result["note"])
        if isinstance(result, dict) and "tooLarge" in result:
            limit = self.options.max_body_bytes
            raise BodyTooLarge(f"answer larger than {limit / MB:g} MB; not read further", url)
        if not isinstance(result, dict) or "error" in result:
            detail = result.get("error") if isinstance(result, dict) else repr(result)
            await self._raise_if_walled(page, url, f"the request ended in {detail}")
            raise TransientHttpError(f"{self.name}: {detail} on {url}")
        status, body = int(result["status"]), str(result["body"])
        if status not in TRANSIENT_STATUSES:  # a 5xx is the fetcher's to retry
            if not body.strip():
                await self._raise_if_walled(page, url, "an empty answer")
            self._after_request(generation)
        return HttpResponse(str(result["url"]), status, body, server_date(result.get("date")))

    async def _raise_if_walled(self, page: Page, url: str, seen: str) -> None:
        """A failed, timed-out or empty answer with a verification overlay (or a login wall)
        on the page is that wall: `Blocked`, and a fresh page after the cool-down."""
        if self.options.wall_check is None:
            return
        try:
            wall = self.options.wall_check(await asyncio.wait_for(page.content(), 5))
        except Exception:  # the page is gone: the failure speaks for itself
            return
        if wall:
            self._mark_dead(f"{wall} shown", self.launches)
            raise Blocked(
                f"{self.name}: the page shows a {wall} ({seen} on {url}); pingfan never "
                "solves it and does not retry"
            )

    # --- the browser's life ------------------------------------------------------------

    async def _ready_page(self, admission: Admission) -> None:
        async with self._lock:
            if self._dead is not None and self._browser is not None:
                routine = self._dead.startswith("memory")  # expected on a long run
                log.log(logging.INFO if routine else logging.WARNING,
                        "%s: relaunching the browser (%s)", self.name, self._dead)  # fmt: skip
                self.restarts.append(self._dead)
                await self._close_browser()
            if self._page is None:
                await self._launch(admission)

    async def _launch(self, admission: Admission) -> None:
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import async_playwright

        options = self.options
        if not options.chromium_path.exists():
            raise TransientHttpError(
                f"{self.name}: no Chromium at {options.chromium_path}; install Debian's "
                "chromium (apt-get install chromium) or set chromium_path"
            )
        if not options.headless and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
        ):
            raise TransientHttpError(
                f"{self.name}: headless = false needs a display and there is none ($DISPLAY "
                "is unset); run pingfan under Xvfb (xvfb-run -a pingfan run, see the README)"
            )
        headless_args = (HEADLESS_ARG,) if options.headless else ()
        try:
            if self._playwright is None:
                self._playwright = await async_playwright().start()
            browser = await self._playwright.chromium.launch(
                executable_path=str(options.chromium_path),
                args=[*headless_args, *options.launch_args],
                headless=options.headless,
                timeout=options.timeout * 1000,
                # Playwright's driver would close the browser on the terminal's Ctrl-C
                # while the daemon still finishes its runs; the daemon closes it itself.
                handle_sigint=False,
                handle_sigterm=False,
                handle_sighup=False,
            )
        except PlaywrightError as err:
            raise TransientHttpError(f"{self.name}: browser did not start ({err})") from err
        generation = self.launches + 1
        self._browser, self._dead, self.launches = browser, None, generation
        browser.on("disconnected", lambda _: self._mark_dead("browser gone", generation))
        try:
            page = await self._open_home(browser, generation, admission)
        except BaseException as err:
            await self._close_browser()  # never a second browser beside a half-started one
            if isinstance(err, PlaywrightError):
                raise TransientHttpError(f"{self.name}: browser did not start ({err})") from err
            raise
        self._page = page
        log.info("%s: browser %s started (pid %s)", self.name, browser.version, self._pid)

    async def _open_home(self, browser: Browser, generation: int, admission: Admission) -> Page:
        """A context with the cookie, and the site's page the requests will be made from."""
        options = self.options
        context = await browser.new_context(
            user_agent=desktop_user_agent(browser.version),
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            viewport={"width": 1920, "height": 1080},
            screen={"width": 1920, "height": 1080},
        )
        self._context = context
        if options.cookie:
            await context.add_cookies(cookies_for(options.cookie, options.home_url))
        self._pid = await _browser_pid(browser)
        page = await context.new_page()
        page.on("crash", lambda _: self._mark_dead("page crashed", generation))
        await admission.admit(options.home_url)
        await page.goto(options.home_url, wait_until="load", timeout=options.timeout * 1000)
        if options.wall_check is not None:
            wall = options.wall_check(await page.content())
            if wall:
                raise Blocked(
                    f"{self.name}: {options.home_url} shows a {wall}; pingfan never solves it "
                    "(log in by hand in a browser and export a fresh cookie)"
                )
        if options.ready_script:
            await self._first_request_made(page)
        return page

    async def _first_request_made(self, page: Page) -> None:
        """The first-request gate: wait until the page has made its own first signed request
        (its SDK is up and signing); a wall shown meanwhile is that wall."""
        from playwright.async_api import Error as PlaywrightError

        try:
            await page.wait_for_function(
                self.options.ready_script, polling=100, timeout=self.options.timeout * 1000
            )
        except PlaywrightError as err:
            await self._raise_if_walled(page, self.options.home_url, "no first request")
            raise TransientHttpError(
                f"{self.name}: {self.options.home_url} made no signed request of its own "
                f"within {self.options.timeout:g} s; nothing sent from it"
            ) from err

    def _mark_dead(self, reason: str, generation: int) -> None:
        if self._browser is not None and self._dead is None and generation == self.launches:
            self._dead = reason

    async def _close_browser(self) -> None:
        browser, self._browser = self._browser, None
        self._context = self._page = None
        self._pid = None
        self._dead = None
        self._since_check = 0
        if browser is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(browser.close(), 10)

    def _after_request(self, generation: int) -> None:
        self._since_check += 1
        if self._since_check < self.options.memory_check_every:
            return
        self._since_check = 0
        used = self.memory_mb()
        if used is None:
            return
        self.peak_memory_mb = max(self.peak_memory_mb, used)
        if used > self.options.memory_limit_mb:
            limit = self.options.memory_limit_mb
            self._mark_dead(f"memory {used:.0f} MB over the {limit:.0f} MB limit", generation)

    def memory_mb(self) -> float | None:
        """Proportional set size of the browser and all its child processes, in MB (Linux);
        None when it cannot be read."""
        if self._pid is None:
            return None
        pids = process_tree(self._pid)
        if not pids:
            return None
        return sum(process_memory_kb(pid) for pid in pids) / 1024


def _same_origin(a: str, b: str) -> bool:
    first, second = urlsplit(a), urlsplit(b)
    return (first.scheme, first.netloc) == (second.scheme, second.netloc)


def desktop_user_agent(version: str) -> str:
    """The User-Agent of desktop Chrome on Linux for this Chromium (not "HeadlessChrome"),
    in Chrome's reduced form (major version, then zeros)."""
    major = version.split(".")[0] or "0"
    return (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{major}.0.0.0 Safari/537.36"
    )


def cookies_for(header: str, url: str) -> list[Any]:
    """A `Cookie` header value ("k=v; k2=v2") as Playwright cookies for `url`'s site."""
    cookies = []
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name:
            cookies.append({"name": name.strip(), "value": value.strip(), "url": url})
    return cookies


async def _browser_pid(browser: Browser) -> int | None:
    """The browser process's id, from the DevTools protocol (Playwright does not give it)."""
    try:
        session = await browser.new_browser_cdp_session()
        info = await session.send("SystemInfo.getProcessInfo")
        await session.detach()
    except Exception as err:  # an older Chromium without SystemInfo: no memory limit then
        log.debug("no process info from the browser: %s", err)
        return None
    for process in info.get("processInfo", []):
        if process.get("type") == "browser":
            return int(process["id"])
    return None


def process_tree(root: int) -> list[int]:
    """`root` and every process descended from it (Linux /proc); [] elsewhere."""
    children: dict[int, list[int]] = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return []
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                stat = handle.read()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 1 and fields[1].isdigit():
            children.setdefault(int(fields[1]), []).append(int(entry))
    if not os.path.exists(f"/proc/{root}"):
        return []
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, ()))
    return found


def process_memory_kb(pid: int) -> int:
    """A process's proportional set size in kB (shared pages split among their users), or
    its resident set size when smaps_rollup cannot be read; 0 when it is gone."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as handle:
            resident_pages = int(handle.read().split()[1])
        return resident_pages * os.sysconf("SC_PAGE_SIZE") // 1024
    except (OSError, ValueError, IndexError):
        return 0
