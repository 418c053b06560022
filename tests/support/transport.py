"""A transport that answers from a function (httpx's MockTransport idea), for collector tests
where one scripted answer says more than a server: the fetcher above it is the real one, so
pacing, the circuit gate, retries and counting apply as in production."""

from __future__ import annotations

import inspect
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from monitor.runtime.clock import Clock
from monitor.runtime.fetch import Admission, Fetcher, Gate, HttpResponse, Request
from monitor.runtime.pacing import Pacer

Handler = Callable[[Request], HttpResponse | Awaitable[HttpResponse]]


class MockTransport:
    """Hands each request to `handler` and returns its answer; `sent` keeps the requests."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.sent: list[Request] = []

    async def prepare(self, request: Request, admission: Admission) -> None:
        return None

    async def handle(self, request: Request) -> HttpResponse:
        self.sent.append(request)
        answer = self.handler(request)
        return await answer if inspect.isawaitable(answer) else answer

    async def aclose(self) -> None:
        return None


def json_answer(body: Any, date: datetime, status: int = 200) -> Handler:
    """A handler that answers every request with `body` as JSON."""
    text = json.dumps(body, ensure_ascii=False)
    return lambda request: HttpResponse(request.url, status, text, date)


def mock_fetcher(
    handler: Handler, clock: Clock, gate: Gate | None = None, **policy: Any
) -> tuple[Fetcher, MockTransport]:
    """A fetcher over a MockTransport, paced so fast that only the clock's jumps show."""
    transport = MockTransport(handler)
    fetcher = Fetcher(
        name="mock", transport=transport, pacer=Pacer(1_000_000, clock), clock=clock, gate=gate,
        **policy,
    )  # fmt: skip
    return fetcher, transport
