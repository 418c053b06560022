"""The aiohttp fetcher: one session per platform, explicit timeouts, even pacing, and a few
retries with capped exponential backoff and jitter for transient errors only, within the
time a source may spend in one run.

Blocks (403/418/432, captchas) are not transient: they come back to the caller at once, so
the circuit can open instead of hammering a platform that said no.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Protocol

import aiohttp
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    stop_any,
    wait_exponential_jitter,
)
from tenacity.stop import stop_base

from monitor.errors import CollectorError
from monitor.models import utc_now
from monitor.runtime.body import ACCEPT_ENCODING, MB, decode_body, read_capped
from monitor.runtime.clock import Clock, WallClock, outside
from monitor.runtime.pacing import Pacer

log = logging.getLogger(__name__)

_TRANSIENT_STATUSES = {500, 502, 503, 504}


class TransientHttpError(CollectorError):
    """A timeout, a dropped connection or a 5xx that outlived its retries."""


class CircuitOpen(CollectorError):
    """The platform's circuit opened while this source was running: stop at once."""


@dataclass(frozen=True)
class HttpResponse:
    url: str
    status: int
    text: str
    # The server's clock (its Date header), which relative times like "5分钟前" refer to.
    date: datetime


class Fetcher(Protocol):
    """What a collector needs from its transport (aiohttp here; a browser for Douyin)."""

    requests: int

    async def get(
        self,
        url: str,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse: ...


class Gate(Protocol):
    def is_open(self) -> bool: ...


@dataclass
class SourceScope:
    """What the running source may spend and has spent; set by the runner around a run, so
    that sources running side by side on one client each see their own figures."""

    deadline: float | None = None  # monotonic time by which the run must be done
    requests: int = 0
    # Work the run left for the next one when its time was up: (how many, of what).
    left: tuple[int, str] | None = None


_scope: contextvars.ContextVar[SourceScope | None] = contextvars.ContextVar("scope", default=None)


@contextmanager
def source_scope(deadline: float | None = None) -> Iterator[SourceScope]:
    scope = SourceScope(deadline)
    token = _scope.set(scope)
    try:
        yield scope
    finally:
        _scope.reset(token)


def count_request() -> None:
    """Count one request against the running source (any fetcher calls this per request)."""
    scope = _scope.get()
    if scope is not None:
        scope.requests += 1


def report_left(count: int, what: str) -> None:
    """The running source stopped at its time budget with `count` `what` (e.g. "threads")
    still to read: its run is partial, and the next run resumes."""
    scope = _scope.get()
    if scope is not None and count > 0:
        scope.left = (count, what)


def _deadline() -> float | None:
    scope = _scope.get()
    return scope.deadline if scope else None


class _PastDeadline(stop_base):
    """Stop retrying when the next wait would end after the running source's deadline."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def __call__(self, retry_state: RetryCallState) -> bool:
        deadline = _deadline()
        if deadline is None:
            return False
        upcoming = retry_state.upcoming_sleep or 0.0
        return self._clock.monotonic() + upcoming >= deadline


def time_is_up(clock: Clock, margin: float = 0.0) -> bool:
    """Has the running source used up its time (less `margin`)? False outside a runner."""
    deadline = _deadline()
    return deadline is not None and clock.monotonic() >= deadline - margin


async def fetch_with_retries(
    attempt: Callable[[], Awaitable[HttpResponse]],
    clock: Clock,
    retries: int,
    backoff: tuple[float, float],
) -> HttpResponse:
    """The one retry policy of every fetcher: transient errors only, capped exponential
    backoff with jitter on the runtime's clock, at most `retries` more tries, and none that
    would end after the running source's deadline."""
    initial, maximum = backoff
    retrying = AsyncRetrying(
        retry=retry_if_exception_type(TransientHttpError),
        wait=wait_exponential_jitter(multiplier=initial, max=maximum, jitter=initial),
        stop=stop_any(stop_after_attempt(retries + 1), _PastDeadline(clock)),
        sleep=clock.sleep,
        reraise=True,
    )
    async for try_ in retrying:
        with try_:
            return await attempt()
    raise AssertionError("unreachable")  # pragma: no cover


class HttpClient:
    def __init__(
        self,
        *,
        name: str,
        pacer: Pacer,
        timeout: float,
        clock: Clock | None = None,
        headers: Mapping[str, str] | None = None,
        cookie: str | None = None,
        retries: int = 2,
        backoff_initial: float = 1.0,
        backoff_max: float = 8.0,
        gate: Gate | None = None,
        max_body_bytes: int = 20 * MB,
    ) -> None:
        self.name = name
        self.max_body_bytes = max_body_bytes
        self.requests = 0
        self.pacer = pacer
        self.gate = gate
        self._clock = clock or WallClock()
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        # Bodies are inflated here, within the cap (monitor.runtime.body), never by aiohttp.
        self._headers = {"Accept-Encoding": ACCEPT_ENCODING, **(headers or {})}
        if cookie:
            self._headers["Cookie"] = cookie  # never logged
        self._retries = retries
        self._backoff = (backoff_initial, backoff_max)
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:  # the cookie stays out of reprs and logs
        return f"HttpClient({self.name!r}, requests={self.requests})"

    @property
    def has_cookie(self) -> bool:
        return "Cookie" in self._headers

    async def __aenter__(self) -> HttpClient:
        self._session = aiohttp.ClientSession(
            timeout=self._timeout, headers=self._headers, auto_decompress=False
        )
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get(
        self,
        url: str,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        return await fetch_with_retries(
            lambda: self._get_once(url, params, headers), self._clock, self._retries, self._backoff
        )

    async def _get_once(
        self, url: str, params: Mapping[str, str | int] | None, headers: Mapping[str, str] | None
    ) -> HttpResponse:
        if self._session is None:
            raise RuntimeError("HttpClient used outside 'async with'")
        await self.pacer.wait()
        if self.gate is not None and self.gate.is_open():
            raise CircuitOpen(f"{self.name}: circuit open, request to {url} not sent")
        self.requests += 1
        count_request()
        try:
            async with (
                outside(self._clock),  # simulated time holds still while the server answers
                self._session.get(
                    url, params={k: str(v) for k, v in (params or {}).items()}, headers=headers
                ) as response,
            ):
                raw = await read_capped(response, self.max_body_bytes, url)
                text = decode_body(raw, response.charset)
                del raw
                status = response.status
                date_header = response.headers.get("Date")
                final_url = str(response.url)
        except (TimeoutError, aiohttp.ClientError) as err:
            log.debug("%s: %s on %s", self.name, type(err).__name__, url)
            raise TransientHttpError(f"{self.name}: {type(err).__name__} on {url}") from err
        if status in _TRANSIENT_STATUSES:
            raise TransientHttpError(f"{self.name}: HTTP {status} on {url}")
        log.debug("%s: %s %s (%d bytes)", self.name, status, final_url, len(text))
        return HttpResponse(final_url, status, text, server_date(date_header))


# A server clock outside these years is unknown: it would pin "the platform's now" (posts'
# ages) and overflow date arithmetic (year 9999 plus Shanghai's offset).
_PLAUSIBLE_YEARS = range(2000, 2200)


def server_date(header: object) -> datetime:
    """A response's `Date` header as the server's clock (which relative times like "5分钟前"
    refer to); now, when the header is missing, unreadable or out of range."""
    if isinstance(header, str) and header:
        try:
            moment = parsedate_to_datetime(header)
            if moment.tzinfo is not None and moment.year in _PLAUSIBLE_YEARS:
                return moment
        except (TypeError, ValueError, OverflowError, IndexError):
            pass
    return utc_now()
