"""Issue 26, items 6-8: hostile answers, full disks, symlinks and retries, against small
loopback stand-ins (a webhook on 127.0.0.1, the fake Telegram Bot API) and the simulator.

Every test shows that nothing is sent twice unmarked, nothing good is lost, and no traceback
appears. Retry times come from the dispatcher's injectable clock and `sleep`, never from real
elapsed time; the one real timeout (a server that took a message and never answers) waits for
a server that is held until the test lets it go, so its outcome does not depend on timing.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import logging
import os
import shlex
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

import alerts.dispatch as dispatch_module
from alerts.dispatch import Dispatcher
from alerts.sinks import telegram as telegram_sink
from alerts.sinks.telegram import html_chunks
from monitor import cli
from monitor.config import Config, config_from_dict, load_config
from monitor.models import AlertRecord
from monitor.runlock import AlreadyRunning, RunLock
from monitor.runtime.delays import MAX_DELAY, MIN_DELAY, clamp_delay, retry_after_seconds
from monitor.store import Store
from monitor.store.connection import DatabaseUnavailable, damaged
from tests.factories import post
from tests.fake_services import CHAT_ID, FakeServices

pytestmark = pytest.mark.timeout(240)

AT = datetime(2019, 8, 16, 6, 0, tzinfo=UTC)
HOSTILE_DELAYS = ["inf", "nan", "1e12", "-5", "garbage", "Infinity", "1e400"]


class Clock:
    """The dispatcher's clock and sleep: time moves only when a test moves it."""

    def __init__(self, now: datetime = AT) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    async def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def alert(n: int, text: str | None = None) -> AlertRecord:
    return AlertRecord(
        kind="negative_thread",
        severity="warning",
        title=f"负面舆情 {n}",
        text=text if text is not None else f"第 {n} 条提醒\n近 6 小时 40 条评论中负面 30 条",
        dedupe_key=f"negative_thread:weibo:P{n}:2019-08-16",
        created_at=AT,
        platform="weibo",
        subject_id=f"P{n}",
    )


def delivery_row(store: Store, alert_id: int = 1) -> dict[str, Any]:
    rows = list(
        store.query(
            "SELECT state, attempts, next_attempt_at, parts_sent, outcome_unknown"
            " FROM alert_deliveries WHERE alert_id = ?",
            [alert_id],
        )
    )
    assert len(rows) == 1
    return rows[0]


def next_attempt(store: Store) -> datetime:
    return datetime.fromisoformat(str(delivery_row(store)["next_attempt_at"]))


def no_traceback(caplog: pytest.LogCaptureFixture, *streams: str) -> None:
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    for text in streams:
        assert "Traceback" not in text


# --- a webhook stand-in -----------------------------------------------------------------


@dataclass
class Hook:
    """A webhook on 127.0.0.1. `answers` are played in order (then 204): ("status", status,
    headers) answers at once; ("hang",) records the message, then holds the answer until
    `release` is set (a server that took it but whose answer never comes)."""

    answers: list[tuple[Any, ...]] = field(default_factory=list)
    accepted: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    release: asyncio.Event = field(default_factory=asyncio.Event)
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        body = json.loads(await request.read())
        answer = self.answers.pop(0) if self.answers else ("status", 204, {})
        if answer[0] == "hang":
            self.accepted.append(body)
            await self.release.wait()
            return web.Response(status=204)
        _, status, headers = answer
        if status < 300:
            self.accepted.append(body)
        return web.Response(status=status, headers=headers)


@asynccontextmanager
async def running_hook(hook: Hook) -> AsyncIterator[Hook]:
    app = web.Application()
    app.router.add_post("/hook", hook.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    hook.port = sock.getsockname()[1]
    await web.SockSite(runner, sock).start()
    try:
        yield hook
    finally:
        hook.release.set()
        await runner.cleanup()


def hook_config(tmp_path: Path) -> Config:
    return config_from_dict(
        {"sinks": [{"type": "webhook", "url_env": "PF_HOSTILE_HOOK"}]}, tmp_path / "config.toml"
    )


def telegram_config(fake: FakeServices, tmp_path: Path) -> Config:
    sink = {
        "type": "telegram",
        "token_env": "PF_TEST_TELEGRAM",
        "chat_ids": [CHAT_ID],
        "base_url": fake.telegram_base_url,
    }
    return config_from_dict({"sinks": [sink]}, tmp_path / "config.toml")


# --- 6. server-given delays are clamped -------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (float("inf"), MAX_DELAY),
        ("inf", MAX_DELAY),
        ("1e12", MAX_DELAY),
        (1e12, MAX_DELAY),
        ("1e400", MAX_DELAY),
        (-5, MIN_DELAY),
        ("0", MIN_DELAY),
        ("120", 120.0),
        (7.5, 7.5),
        (float("nan"), None),
        ("nan", None),
        ("garbage", None),
        ("", None),
        (None, None),
        (True, None),
        ([3], None),
    ],
)
def test_server_delays_are_clamped_to_one_second_and_one_hour(
    given: object, expected: float | None
) -> None:
    assert clamp_delay(given) == expected


def test_retry_after_as_an_http_date_is_clamped_too() -> None:
    now = datetime(2019, 8, 16, 6, 0, tzinfo=UTC)
    assert retry_after_seconds("Fri, 16 Aug 2019 06:02:00 GMT", now) == 120.0
    assert retry_after_seconds("Fri, 31 Dec 9999 23:59:59 GMT", now) == MAX_DELAY
    assert retry_after_seconds("Thu, 01 Jan 1970 00:00:00 GMT", now) == MIN_DELAY
    assert retry_after_seconds("Mon, 99 Foo 2019 99:99:99 GMT", now) is None


@pytest.mark.parametrize("given", HOSTILE_DELAYS)
async def test_webhook_retry_after_hostile_is_retried_within_the_clamp_and_sent_once(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    given: str,
) -> None:
    async with running_hook(Hook(answers=[("status", 429, {"Retry-After": given})])) as hook:
        monkeypatch.setenv("PF_HOSTILE_HOOK", hook.url)
        config = hook_config(tmp_path)
        clock = Clock()
        db = tmp_path / "p.db"
        with Store.open(db) as store:
            store.enqueue_alert(alert(1))
            async with Dispatcher(config, store, clock=clock, sleep=clock.sleep) as dispatcher:
                report = await dispatcher.dispatch_pending()  # the pass does not die
            assert (report.sent, report.failed) == (0, 1)
            assert delivery_row(store)["state"] == "pending"
            wait = (next_attempt(store) - clock.now).total_seconds()
            assert MIN_DELAY <= wait <= MAX_DELAY
        # a restart with the delivery still pending does not die either, and waits its turn
        with Store.open(db) as store:
            async with Dispatcher(config, store, clock=clock, sleep=clock.sleep) as dispatcher:
                assert (await dispatcher.dispatch_pending()).sent == 0
                clock.advance(MAX_DELAY)
                assert (await dispatcher.dispatch_pending()).sent == 1
                assert (await dispatcher.dispatch_pending()).sent == 0
            assert delivery_row(store)["state"] == "sent"
    assert hook.requests == 2
    assert [item["id"] for item in hook.accepted] == [1]
    assert hook.accepted[0]["possible_duplicate"] is False  # a 429 means it was not taken
    no_traceback(caplog)


@pytest.mark.parametrize("given", [float("inf"), float("nan"), 1e12, -3, "soon"])
async def test_telegram_retry_after_hostile_is_retried_within_the_clamp_and_sent_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, given: object
) -> None:
    body = {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after ?",
        "parameters": {"retry_after": given},
    }
    async with FakeServices() as fake:
        fake.fail_next["telegram"].append((429, body))  # json.dumps writes Infinity / NaN
        config = telegram_config(fake, tmp_path)
        clock = Clock()
        db = tmp_path / "p.db"
        with Store.open(db) as store:
            store.enqueue_alert(alert(1))
            async with Dispatcher(
                config, store, clock=clock, sleep=clock.sleep, env=fake.env()
            ) as dispatcher:
                report = await dispatcher.dispatch_pending()
            assert (report.sent, report.failed) == (0, 1)
            wait = (next_attempt(store) - clock.now).total_seconds()
            assert MIN_DELAY <= wait <= MAX_DELAY
        with Store.open(db) as store:  # a restart
            async with Dispatcher(
                config, store, clock=clock, sleep=clock.sleep, env=fake.env()
            ) as dispatcher:
                clock.advance(MAX_DELAY)
                assert (await dispatcher.dispatch_pending()).sent == 1
                assert (await dispatcher.dispatch_pending()).sent == 0
        texts = fake.texts("telegram")
    assert len(texts) == 1 and "负面舆情 1" in texts[0]
    assert "可能重复" not in texts[0]
    no_traceback(caplog)


async def test_a_sink_that_raises_anything_does_not_end_the_dispatch_and_logs_once(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A bug anywhere in one sink's round: its alerts stay pending, the other sink delivers,
    one log line however often it happens, and the next attempt is marked."""
    async with running_hook(Hook()) as hook:
        monkeypatch.setenv("PF_HOSTILE_HOOK", hook.url)
        raw = {
            "sinks": [
                {"type": "jsonl", "path": str(tmp_path / "alerts.jsonl")},
                {"type": "webhook", "url_env": "PF_HOSTILE_HOOK"},
            ]
        }
        config = config_from_dict(raw, tmp_path / "config.toml")
        clock = Clock()
        with Store.open(tmp_path / "p.db") as store:
            store.enqueue_alert(alert(1))
            async with Dispatcher(config, store, clock=clock, sleep=clock.sleep) as dispatcher:
                jsonl = dispatcher.sinks[0]
                real_send = jsonl.send

                async def broken(message: Any) -> None:
                    raise OverflowError("a bug in the sink")

                monkeypatch.setattr(jsonl, "send", broken)
                caplog.set_level(logging.WARNING)
                for _ in range(3):
                    await dispatcher.dispatch_pending()
                    clock.advance(MAX_DELAY)
                monkeypatch.setattr(jsonl, "send", real_send)
                assert (await dispatcher.dispatch_pending()).sent == 1
            states = store.delivery_states(1)
    assert states == {"jsonl:alerts.jsonl": "sent", "webhook:PF_HOSTILE_HOOK": "sent"}
    assert [item["id"] for item in hook.accepted] == [1]
    lines = [json.loads(line) for line in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    assert [(line["id"], line["possible_duplicate"]) for line in lines] == [(1, True)]
    failed = [r for r in caplog.records if "failed unexpectedly" in r.getMessage()]
    assert len(failed) == 1
    no_traceback(caplog)


async def test_the_dispatch_loop_survives_an_error_outside_any_sink(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from monitor.runtime.alerting import Alerting
    from monitor.runtime.clock import WallClock

    config = config_from_dict({"sinks": [{"type": "console"}]}, tmp_path / "config.toml")
    with Store.open(tmp_path / "p.db") as store:
        stop = asyncio.Event()
        calls = 0

        class Failing:
            async def dispatch_pending(self) -> Any:
                nonlocal calls
                calls += 1
                if calls >= 3:
                    stop.set()
                raise ValueError("a bug in the dispatcher")

        alerting = Alerting(config, store, WallClock(), Failing())  # type: ignore[arg-type]
        alerting.wake.set()

        async def keep_waking() -> None:
            while not stop.is_set():
                alerting.wake.set()
                await asyncio.sleep(0)

        waker = asyncio.create_task(keep_waking())
        await asyncio.wait_for(alerting.dispatch_loop(stop), 60)
        await waker
    assert calls >= 3
    lines = [r for r in caplog.records if "dispatching alerts failed" in r.getMessage()]
    assert len(lines) == 1
    no_traceback(caplog)


# --- 7. split messages remember their parts; unknown outcomes are marked --------------


class TelegramRefusingPartTwo(FakeServices):
    """The fake Bot API, answering 429 (retry after 5 s) to the second sendMessage only."""

    sends: int = 0

    def _tg_send(self, params: dict[str, Any]) -> web.Response:
        self.sends += 1
        if self.sends == 2:
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": "Too Many Requests: retry after 5",
                    "parameters": {"retry_after": 5},
                },
                status=429,
            )
        return super()._tg_send(params)


def long_text() -> str:
    return "\n".join(f"第 {i} 条评论：{'大连的环卫工人辛苦了' * 18}" for i in range(60))


async def test_split_message_429_on_part_two_resends_only_the_rest(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with TelegramRefusingPartTwo() as fake:
        config = telegram_config(fake, tmp_path)
        clock = Clock()
        db = tmp_path / "p.db"
        with Store.open(db) as store:
            store.enqueue_alert(alert(1, long_text()))
            async with Dispatcher(
                config, store, clock=clock, sleep=clock.sleep, env=fake.env()
            ) as dispatcher:
                report = await dispatcher.dispatch_pending()
                assert (report.sent, report.failed) == (0, 1)
                assert delivery_row(store)["parts_sent"] == 1
                due = _due(store, clock.now + timedelta(seconds=5))
                expected = html_chunks(dispatcher._outgoing(dispatcher.sinks[0], due))
        assert len(expected) >= 3
        with Store.open(db) as store:  # a restart: the parts are remembered in the outbox
            async with Dispatcher(
                config, store, clock=clock, sleep=clock.sleep, env=fake.env()
            ) as dispatcher:
                clock.advance(5)
                assert (await dispatcher.dispatch_pending()).sent == 1
                assert (await dispatcher.dispatch_pending()).sent == 0
            assert delivery_row(store)["state"] == "sent"
        sent = [item["html"] for item in fake.received["telegram"]]
    assert sent == expected  # part 1 exactly once, then parts 2..n, each once, in order
    assert fake.sends == len(expected) + 1  # + the refused attempt of part 2
    assert not any("可能重复" in html for html in sent)
    no_traceback(caplog)


def _due(store: Store, at: datetime) -> Any:
    (delivery,) = store.due_deliveries(f"telegram:PF_TEST_TELEGRAM:{CHAT_ID}", at)
    return delivery


class TelegramTakesThenHangs(FakeServices):
    """The fake Bot API: the first sendMessage is accepted, but its answer never comes (until
    the test lets it go); later ones are answered normally."""

    sends: int = 0
    held: asyncio.Event | None = None

    async def _telegram_method(self, request: web.Request) -> web.Response:
        response = await super()._telegram_method(request)
        if request.match_info["method"] == "sendMessage":
            self.sends += 1
            if self.sends == 1:
                assert self.held is not None
                await self.held.wait()
        return response


async def test_telegram_timeout_after_acceptance_marks_the_retry_possible_duplicate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(telegram_sink, "READ_TIMEOUT", 0.5)
    async with TelegramTakesThenHangs() as fake:
        fake.held = asyncio.Event()
        config = telegram_config(fake, tmp_path)
        clock = Clock()
        with Store.open(tmp_path / "p.db") as store:
            store.enqueue_alert(alert(1))
            async with Dispatcher(
                config, store, clock=clock, sleep=clock.sleep, env=fake.env()
            ) as dispatcher:
                report = await dispatcher.dispatch_pending()
                assert (report.sent, report.failed) == (0, 1)
                row = delivery_row(store)
                assert (row["state"], row["outcome_unknown"]) == ("pending", 1)
                fake.held.set()
                clock.advance(MAX_DELAY)
                assert (await dispatcher.dispatch_pending()).sent == 1
                assert (await dispatcher.dispatch_pending()).sent == 0
        texts = fake.texts("telegram")
    assert len(texts) == 2  # the one Telegram took, and the retry...
    assert "可能重复" not in texts[0]
    assert "可能重复" in texts[1]  # ...marked as a possible duplicate
    no_traceback(caplog)


async def test_webhook_timeout_after_acceptance_marks_the_retry_possible_duplicate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(dispatch_module, "HTTP_TIMEOUT", 0.5)
    async with running_hook(Hook(answers=[("hang",)])) as hook:
        monkeypatch.setenv("PF_HOSTILE_HOOK", hook.url)
        config = hook_config(tmp_path)
        clock = Clock()
        with Store.open(tmp_path / "p.db") as store:
            store.enqueue_alert(alert(1))
            async with Dispatcher(config, store, clock=clock, sleep=clock.sleep) as dispatcher:
                assert (await dispatcher.dispatch_pending()).failed == 1
                hook.release.set()
                clock.advance(MAX_DELAY)
                assert (await dispatcher.dispatch_pending()).sent == 1
                assert (await dispatcher.dispatch_pending()).sent == 0
    assert [(item["id"], item["possible_duplicate"]) for item in hook.accepted] == [
        (1, False),
        (1, True),
    ]
    no_traceback(caplog)


async def test_webhook_that_cannot_be_reached_is_retried_unmarked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused connection proves the message never left: the retry is not marked."""
    async with running_hook(Hook()) as hook:
        port = hook.port
    async with running_hook(Hook()) as hook:
        monkeypatch.setenv("PF_HOSTILE_HOOK", f"http://127.0.0.1:{port}/hook")
        config = hook_config(tmp_path)
        clock = Clock()
        with Store.open(tmp_path / "p.db") as store:
            store.enqueue_alert(alert(1))
            async with Dispatcher(config, store, clock=clock, sleep=clock.sleep) as dispatcher:
                assert (await dispatcher.dispatch_pending()).failed == 1
            assert delivery_row(store)["outcome_unknown"] == 0
            monkeypatch.setenv("PF_HOSTILE_HOOK", hook.url)
            async with Dispatcher(config, store, clock=clock, sleep=clock.sleep) as dispatcher:
                clock.advance(MAX_DELAY)
                assert (await dispatcher.dispatch_pending()).sent == 1
    assert [(item["id"], item["possible_duplicate"]) for item in hook.accepted] == [(1, False)]


async def test_jsonl_write_that_fails_leaves_no_half_line_and_no_duplicate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """ENOSPC at fsync: the line is taken back out of the file; the retry writes it once."""
    path = tmp_path / "alerts.jsonl"
    config = config_from_dict(
        {"sinks": [{"type": "jsonl", "path": str(path)}]}, tmp_path / "config.toml"
    )
    clock = Clock()
    real_fsync = os.fsync
    failures = [OSError(errno.ENOSPC, "No space left on device")]

    def fsync(fd: int) -> None:
        if failures:
            raise failures.pop()
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    with Store.open(tmp_path / "p.db") as store:
        store.enqueue_alert(alert(1))
        store.enqueue_alert(alert(2))
        async with Dispatcher(config, store, clock=clock, sleep=clock.sleep) as dispatcher:
            assert (await dispatcher.dispatch_pending()).failed == 1
            assert path.read_text() == ""
            clock.advance(MAX_DELAY)
            assert (await dispatcher.dispatch_pending()).sent == 2
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(line["id"], line["possible_duplicate"]) for line in lines] == [(1, False), (2, False)]
    no_traceback(caplog)
