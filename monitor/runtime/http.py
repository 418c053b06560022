"""The aiohttp transport: one session per platform, explicit timeouts, bodies read within a
cap and decoded here. It only sends; the policy (pacing, the circuit, retries, counting) is
the fetcher's (monitor.runtime.fetch).

An `Auth` hook may rewrite each request just before it is sent, as an httpx auth class does
(Douyin's http mode signs its query there).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Protocol

import aiohttp

from monitor.models import utc_now
from monitor.runtime.body import ACCEPT_ENCODING, MB, decode_body, read_capped
from monitor.runtime.fetch import Admission, HttpResponse, Request, TransientHttpError

log = logging.getLogger(__name__)


class Auth(Protocol):
    """Rewrites a request just before it is sent (a signature, a token)."""

    def apply(self, request: Request) -> Request: ...


class AiohttpTransport:
    def __init__(
        self,
        *,
        name: str,
        timeout: float,
        headers: Mapping[str, str] | None = None,
        cookie: str | None = None,
        max_body_bytes: int = 20 * MB,
        auth: Auth | None = None,
    ) -> None:
        self.name = name
        self.max_body_bytes = max_body_bytes
        self.auth = auth
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        # Bodies are inflated here, within the cap (monitor.runtime.body), never by aiohttp.
        self._headers = {"Accept-Encoding": ACCEPT_ENCODING, **(headers or {})}
        if cookie:
            self._headers["Cookie"] = cookie  # never logged
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:  # the cookie stays out of reprs and logs
        return f"AiohttpTransport({self.name!r})"

    @property
    def has_cookie(self) -> bool:
        return "Cookie" in self._headers

    async def prepare(self, request: Request, admission: Admission) -> None:
        if self._session is None:  # made on the loop that uses it
            self._session = aiohttp.ClientSession(
                timeout=self._timeout, headers=self._headers, auto_decompress=False
            )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def handle(self, request: Request) -> HttpResponse:
        if self._session is None:
            raise RuntimeError(f"{self!r} sent a request it was not prepared for")
        if self.auth is not None:
            request = self.auth.apply(request)
        url = request.url
        try:
            async with self._session.get(
                url, params=dict(request.params), headers=dict(request.headers) or None
            ) as response:
                raw = await read_capped(response, self.max_body_bytes, url)
                text = decode_body(raw, response.charset)
                del raw
                status = response.status
                date_header = response.headers.get("Date")
                final_url = str(response.url)
        except (TimeoutError, aiohttp.ClientError) as err:
            log.debug("%s: %s on %s", self.name, type(err).__name__, url)
            raise TransientHttpError(f"{self.name}: {type(err).__name__} on {url}") from err
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
