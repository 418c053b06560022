"""One HTTP client per platform: one session, explicit timeouts, a request budget, and
retries with capped exponential backoff and jitter for transient errors only.

Blocks (403/418/432, captchas) are not transient: they come back to the caller at once, so
the circuit can open instead of hammering a platform that said no.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from types import TracebackType

import aiohttp
from aiolimiter import AsyncLimiter
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from monitor.errors import CollectorError
from monitor.models import utc_now

log = logging.getLogger(__name__)

_TRANSIENT_STATUSES = {500, 502, 503, 504}


class TransientHttpError(CollectorError):
    """A timeout, a dropped connection or a 5xx that outlived its retries."""


@dataclass(frozen=True)
class HttpResponse:
    url: str
    status: int
    text: str
    # The server's clock (its Date header), which relative times like "5分钟前" refer to.
    date: datetime


class HttpClient:
    def __init__(
        self,
        *,
        name: str,
        requests_per_minute: int,
        timeout: float,
        headers: Mapping[str, str] | None = None,
        cookie: str | None = None,
        retries: int = 3,
        backoff_initial: float = 1.0,
        backoff_max: float = 60.0,
    ) -> None:
        self.name = name
        self.requests = 0
        self._limiter = AsyncLimiter(max(requests_per_minute, 1), 60)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._headers = dict(headers or {})
        if cookie:
            self._headers["Cookie"] = cookie  # never logged
        self._retries = retries
        self._backoff = (backoff_initial, backoff_max)
        self._session: aiohttp.ClientSession | None = None

    @property
    def has_cookie(self) -> bool:
        return "Cookie" in self._headers

    async def __aenter__(self) -> HttpClient:
        self._session = aiohttp.ClientSession(timeout=self._timeout, headers=self._headers)
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
        initial, maximum = self._backoff
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(TransientHttpError),
            wait=wait_exponential_jitter(multiplier=initial, max=maximum, jitter=initial),
            stop=stop_after_attempt(self._retries + 1),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._get_once(url, params, headers)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _get_once(
        self, url: str, params: Mapping[str, str | int] | None, headers: Mapping[str, str] | None
    ) -> HttpResponse:
        if self._session is None:
            raise RuntimeError("HttpClient used outside 'async with'")
        async with self._limiter:
            self.requests += 1
            try:
                async with self._session.get(
                    url, params={k: str(v) for k, v in (params or {}).items()}, headers=headers
                ) as response:
                    text = await response.text(errors="replace")
                    status = response.status
                    date_header = response.headers.get("Date")
                    final_url = str(response.url)
            except (TimeoutError, aiohttp.ClientError) as err:
                log.debug("%s: %s on %s", self.name, type(err).__name__, url)
                raise TransientHttpError(f"{self.name}: {type(err).__name__} on {url}") from err
        if status in _TRANSIENT_STATUSES:
            raise TransientHttpError(f"{self.name}: HTTP {status} on {url}")
        log.debug("%s: %s %s (%d bytes)", self.name, status, final_url, len(text))
        return HttpResponse(final_url, status, text, _server_date(date_header))


def _server_date(header: str | None) -> datetime:
    if header:
        try:
            moment = parsedate_to_datetime(header)
            if moment.tzinfo is not None:
                return moment
        except (TypeError, ValueError):
            pass
    return utc_now()
