"""The one fetcher's request policy over a MockTransport: transient failures retried with
backoff on the runtime's clock and within the source's time, blocks and refused parameters
never retried, the circuit gate before anything is sent, every try counted, at most one in
flight where asked, and simulated time held still while an answer is under way."""

from __future__ import annotations

import asyncio
from datetime import datetime
from urllib.parse import parse_qsl, urlsplit

import pytest

from monitor.collectors.douyin_client import SECURITY_PARAMS, SignedQuery, douyin_fetcher
from monitor.errors import Blocked, CollectorError
from monitor.runtime.clock import SimulatedClock, VirtualClock
from monitor.runtime.fetch import (
    CircuitOpen,
    HttpResponse,
    Request,
    TransientHttpError,
    source_scope,
)
from monitor.runtime.pacing import Pacer
from monitor.sim import douyin as sim_douyin
from tests.support.transport import MockTransport, mock_fetcher

START = datetime.fromisoformat("2019-08-16T06:00:00+00:00")
URL = "http://platform.test/api"


def answers(*statuses: int) -> MockTransport:
    """Answers with these statuses in turn, then 200."""
    left = list(statuses)
    return MockTransport(
        lambda request: HttpResponse(request.url, left.pop(0) if left else 200, "{}", START)
    )


class Switch:
    def __init__(self, open_: bool) -> None:
        self.open = open_

    def is_open(self) -> bool:
        return self.open


async def test_a_5xx_is_retried_with_backoff_and_every_try_is_counted() -> None:
    clock = VirtualClock(START)
    fetcher, transport = mock_fetcher(answers(503, 502).handler, clock, backoff_initial=1.0)
    with source_scope() as scope:
        response = await fetcher.get(URL, {"page": 2})
    assert response.status == 200
    assert [r.params for r in transport.sent] == [(("page", "2"),)] * 3
    assert fetcher.requests == scope.requests == 3
    assert clock.monotonic() >= 1.0 + 2.0, "two backoff waits on the runtime's clock"


async def test_retries_give_up_with_the_transient_error() -> None:
    clock = VirtualClock(START)
    fetcher, transport = mock_fetcher(answers(500, 500, 500, 500).handler, clock, retries=2)
    with pytest.raises(TransientHttpError, match="HTTP 500"):
        await fetcher.get(URL)
    assert len(transport.sent) == 3


async def test_no_retry_would_end_past_the_sources_deadline() -> None:
    clock = VirtualClock(START)
    fetcher, transport = mock_fetcher(answers(503, 503).handler, clock, backoff_initial=5.0)
    with source_scope(deadline=clock.monotonic() + 3.0), pytest.raises(TransientHttpError):
        await fetcher.get(URL)
    assert len(transport.sent) == 1


async def test_a_block_comes_back_at_once() -> None:
    clock = VirtualClock(START)
    fetcher, transport = mock_fetcher(answers(403).handler, clock)
    assert (await fetcher.get(URL)).status == 403, "the collector reads it as a block"

    def walled(request: Request) -> HttpResponse:
        raise Blocked("captcha")

    walled_fetcher, walled_transport = mock_fetcher(walled, clock)
    with pytest.raises(Blocked):
        await walled_fetcher.get(URL)
    assert len(transport.sent) == len(walled_transport.sent) == 1


async def test_an_open_circuit_sends_nothing_and_counts_nothing() -> None:
    clock = VirtualClock(START)
    gate = Switch(open_=True)
    fetcher, transport = mock_fetcher(answers().handler, clock, gate)
    with source_scope() as scope, pytest.raises(CircuitOpen, match="circuit open"):
        await fetcher.get(URL)
    assert transport.sent == [] and fetcher.requests == scope.requests == 0
    gate.open = False
    assert (await fetcher.get(URL)).status == 200


async def test_requests_are_paced_on_the_runtime_clock() -> None:
    clock = VirtualClock(START)
    transport = answers()
    fetcher = douyin_fetcher(transport, Pacer(60, clock, jitter=0), clock, None)
    for _ in range(3):
        await fetcher.get(URL)
    assert clock.monotonic() == pytest.approx(2.0), "one a second, the first at once"


async def test_douyin_refuses_a_security_parameter_from_a_collector() -> None:
    clock = VirtualClock(START)
    transport = answers()
    fetcher = douyin_fetcher(transport, Pacer(1000, clock), clock, None)
    for name in sorted(SECURITY_PARAMS):
        with pytest.raises(CollectorError, match=f"never sets {name}"):
            await fetcher.get(URL, {"aweme_id": "1", name: "forged"})
    assert transport.sent == [] and fetcher.requests == 0


def test_the_http_mode_signer_is_an_auth_hook_that_signs_last() -> None:
    hook = SignedQuery(sim_douyin.sign, "Mozilla/5.0 Chrome/125.0.0.0 Safari/537.36")
    signed = hook.apply(Request.of(URL, {"aweme_id": "7", "count": 20}, {"Referer": "r"}))
    query = parse_qsl(urlsplit(signed.url).query)
    names = [name for name, _ in query]
    assert signed.url.startswith(URL + "?") and signed.params == ()
    assert signed.headers == (("Referer", "r"),)
    assert names[-2:] == ["msToken", "a_bogus"], "the signer's additions come after the query"
    assert ("aweme_id", "7") in query and ("browser_version", "125.0.0.0") in query
    assert all(names.count(name) == 1 for name in names)
    assert SignedQuery(None, "UA").apply(Request.of(URL)).url.count("msToken") == 0


async def test_single_flight_keeps_one_request_in_flight() -> None:
    async def most_in_flight(single: bool) -> int:
        clock = VirtualClock(START)
        now, most = 0, 0

        async def slow(request: Request) -> HttpResponse:
            nonlocal now, most
            now += 1
            most = max(most, now)
            await asyncio.sleep(0.01)
            now -= 1
            return HttpResponse(request.url, 200, "{}", START)

        fetcher, _ = mock_fetcher(slow, clock, single_flight=single)
        await asyncio.gather(*(fetcher.get(URL) for _ in range(3)))
        return most

    assert await most_in_flight(single=True) == 1
    assert await most_in_flight(single=False) == 3


async def test_simulated_time_holds_still_while_an_answer_is_under_way() -> None:
    """A sleeper due in 10 simulated seconds must not wake while the transport waits on
    something outside the event loop's view (here, the wall)."""
    clock = SimulatedClock(START)
    seen: list[float] = []

    async def from_outside(request: Request) -> HttpResponse:
        await asyncio.sleep(0.2)  # the wall's time: the loop has nothing ready meanwhile
        seen.append(clock.monotonic())
        return HttpResponse(request.url, 200, "{}", START)

    async with clock:
        fetcher, _ = mock_fetcher(from_outside, clock)
        sleeper = asyncio.ensure_future(clock.sleep(10))
        await fetcher.get(URL)
        assert seen == [0.0] and not sleeper.done()
        await sleeper
        assert clock.monotonic() == 10.0
