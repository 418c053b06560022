"""The one fetcher: every request a collector makes goes through `Fetcher.get`, which owns the
request policy, and a transport below it only sends (httpx's seam: `handle(request) ->
response`, over aiohttp, a browser page, or a test's `MockTransport`).

The policy, in the order it applies to each try:
- a parameter the fetcher refuses (Douyin's security parameters) is a bug in a collector:
  never sent, never retried;
- at most one request in flight, where the transport needs it (a browser page);
- the transport readies itself (the browser starts and loads its page; that page load is
  admitted like any request);
- admission: the platform's pacer, then the circuit gate, then the request is counted for
  the fetcher and for the running source;
- the send runs inside `outside(clock)`: simulated time holds still while the answer comes;
- a timeout, a dropped connection or a 5xx is transient: retried with capped exponential
  backoff and jitter on the runtime's clock, a few times at most, never past the running
  source's deadline. Blocks (403/418/432, captchas) are not transient: they come back to the
  caller at once, so the circuit can open instead of hammering a platform that said no.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import AbstractAsyncContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Protocol

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
from monitor.runtime.clock import Clock, WallClock, outside
from monitor.runtime.pacing import Pacer

log = logging.getLogger(__name__)

TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})


class TransientHttpError(CollectorError):
    """A timeout, a dropped connection or a 5xx that outlived its retries."""


class CircuitOpen(CollectorError):
    """The platform's circuit opened while this source was running: stop at once."""


Pairs = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Request:
    """One GET as a collector asked for it: query parameters and headers in their order."""

    url: str
    params: Pairs = ()
    headers: Pairs = ()

    @classmethod
    def of(
        cls,
        url: str,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Request:
        return cls(
            url,
            tuple((k, str(v)) for k, v in (params or {}).items()),
            tuple((headers or {}).items()),
        )


@dataclass(frozen=True)
class HttpResponse:
    url: str
    status: int
    text: str
    # The server's clock (its Date header), which relative times like "5分钟前" refer to.
    date: datetime


class Gate(Protocol):
    def is_open(self) -> bool: ...


class Admission(Protocol):
    """What a transport may ask of the fetcher while it readies itself."""

    def check_gate(self, url: str) -> None:
        """CircuitOpen while the platform cools down: nothing is sent, nothing started."""
        ...

    async def admit(self, url: str) -> None:
        """Pacing, the gate and the count, for a request the transport makes itself."""
        ...


class Transport(Protocol):
    """Sends one request and hands back its answer; no pacing, no retries, no counting. A
    failure that may pass (timeout, dropped connection) is `TransientHttpError`."""

    async def prepare(self, request: Request, admission: Admission) -> None:
        """Made ready to send `request` (the browser starts and loads its page here)."""
        ...

    async def handle(self, request: Request) -> HttpResponse: ...

    async def aclose(self) -> None: ...


# --- what the running source may spend ----------------------------------------------------


@dataclass
class SourceScope:
    """What the running source may spend and has spent; set by the runner around a run, so
    that sources running side by side on one fetcher each see their own figures."""

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
    """Count one request against the running source."""
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


def time_is_up(clock: Clock, margin: float = 0.0) -> bool:
    """Has the running source used up its time (less `margin`)? False outside a runner."""
    deadline = _deadline()
    return deadline is not None and clock.monotonic() >= deadline - margin


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


# --- the fetcher ----------------------------------------------------------------------------


class Fetcher:
    """A platform's requests, whatever carries them: one per platform, shared by its sources
    and kept for as long as the platform runs."""

    def __init__(
        self,
        *,
        name: str,
        transport: Transport,
        pacer: Pacer,
        clock: Clock | None = None,
        gate: Gate | None = None,
        retries: int = 2,
        backoff_initial: float = 1.0,
        backoff_max: float = 8.0,
        single_flight: bool = False,
        refused_params: frozenset[str] = frozenset(),
    ) -> None:
        self.name = name
        self.transport = transport
        self.pacer = pacer
        self.gate = gate
        self.requests = 0
        self._clock = clock or WallClock()
        self._retries = retries
        self._backoff = (backoff_initial, backoff_max)
        self._flight: AbstractAsyncContextManager[object] = (
            asyncio.Lock() if single_flight else contextlib.nullcontext()
        )
        self._refused = refused_params

    def __repr__(self) -> str:
        return f"Fetcher({self.name!r}, requests={self.requests})"

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.transport.aclose()

    async def get(
        self,
        url: str,
        params: Mapping[str, str | int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        request = Request.of(url, params, headers)
        refused = sorted({name for name, _ in request.params} & self._refused)
        if refused:
            raise CollectorError(
                f"{self.name}: pingfan never sets {', '.join(refused)}; only the site's own code "
                f"adds them (request to {url} not sent)"
            )
        return await self._retrying(lambda: self._once(request))

    async def _once(self, request: Request) -> HttpResponse:
        async with self._flight:
            await self.transport.prepare(request, self)
            await self.admit(request.url)
            async with outside(self._clock):  # simulated time holds still meanwhile
                response = await self.transport.handle(request)
        if response.status in TRANSIENT_STATUSES:
            raise TransientHttpError(f"{self.name}: HTTP {response.status} on {request.url}")
        log.debug(
            "%s: %s %s (%d bytes)", self.name, response.status, response.url, len(response.text)
        )
        return response

    def check_gate(self, url: str) -> None:
        if self.gate is not None and self.gate.is_open():
            raise CircuitOpen(f"{self.name}: circuit open, request to {url} not sent")

    async def admit(self, url: str) -> None:
        await self.pacer.wait()
        self.check_gate(url)
        self.requests += 1
        count_request()

    async def _retrying(self, attempt: Callable[[], Awaitable[HttpResponse]]) -> HttpResponse:
        """Transient errors only, capped exponential backoff with jitter on the runtime's
        clock, at most `retries` more tries, and none that would end after the running
        source's deadline."""
        initial, maximum = self._backoff
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(TransientHttpError),
            wait=wait_exponential_jitter(multiplier=initial, max=maximum, jitter=initial),
            stop=stop_any(stop_after_attempt(self._retries + 1), _PastDeadline(self._clock)),
            sleep=self._clock.sleep,
            reraise=True,
        )
        async for try_ in retrying:
            with try_:
                return await attempt()
        raise AssertionError("unreachable")  # pragma: no cover
