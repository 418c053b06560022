"""Issue 26, items 6-8: hostile answers, full disks, symlinks and retries, against small
loopback stand-ins (a webhook on 127.0.0.1, the fake Telegram Bot API) and the simulator.

Every test shows that nothing is sent twice unmarked, nothing good is lost, and no traceback
appears. Retry times come from the dispatcher's injectable clock and `sleep`, never from real
elapsed time; the one real timeout (a server that took a message and never answers) waits for
a server that is held until the test lets it go, so its outcome does not depend on timing.
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import os
import shlex
import signal
import socket
import sqlite3  # to inject a full disk beneath the store
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
from monitor.runlock import RunLock
from monitor.runtime.delays import MAX_DELAY, MIN_DELAY, clamp_delay, retry_after_seconds
from monitor.store import Store
from monitor.store.content import ContentQueries
from monitor.store.errors import DatabaseUnavailable, damaged, translating
from tests.support.factories import post
from tests.support.fake_services import CHAT_ID, FakeServices

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
            store.outbox.enqueue_alert(alert(1))
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
            store.outbox.enqueue_alert(alert(1))
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
            store.outbox.enqueue_alert(alert(1))
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
            states = store.outbox.delivery_states(1)
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
    from monitor.app.alerting import Alerting
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
            store.outbox.enqueue_alert(alert(1, long_text()))
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
    (delivery,) = store.outbox.due_deliveries(f"telegram:PF_TEST_TELEGRAM:{CHAT_ID}", at)
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
            store.outbox.enqueue_alert(alert(1))
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
            store.outbox.enqueue_alert(alert(1))
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
            store.outbox.enqueue_alert(alert(1))
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
        store.outbox.enqueue_alert(alert(1))
        store.outbox.enqueue_alert(alert(2))
        async with Dispatcher(config, store, clock=clock, sleep=clock.sleep) as dispatcher:
            assert (await dispatcher.dispatch_pending()).failed == 1
            assert path.read_text() == ""
            clock.advance(MAX_DELAY)
            assert (await dispatcher.dispatch_pending()).sent == 2
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(line["id"], line["possible_duplicate"]) for line in lines] == [(1, False), (2, False)]
    no_traceback(caplog)


# --- 6. the daemon: disk full while running, ENOSPC at start -------------------------------


def toml(raw: dict[str, Any]) -> str:
    lines = []
    for section, table in raw.items():
        lines.append(f"[{section}]")
        lines += [
            f"{key} = {json.dumps(value, ensure_ascii=False)}" for key, value in table.items()
        ]
    return "\n".join(lines) + "\n"


def quiet_config(folder: Path, db: str = "p.db") -> Path:
    """A config without platforms: the daemon starts, holds its lock and idles."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.toml"
    raw = {
        "storage": {"path": db},
        "weibo": {"enabled": False},
        "douyin": {"enabled": False},
        "nlp": {"model": "snownlp"},
        "health": {"port": 0},
    }
    path.write_text(toml(raw), encoding="utf-8")
    return path


@contextmanager
def sim_in_a_thread() -> Iterator[Any]:
    """The simulator on its own event loop in a thread, so that `pingfan run` (which owns the
    main thread's loop and signals) can be called in this process as the CLI calls it."""
    from tests.support.sim import running_sim

    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def serve() -> None:
        holder["stop"] = asyncio.Event()
        async with running_sim() as (server, _clock):
            holder["server"] = server
            ready.set()
            await holder["stop"].wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    try:
        assert ready.wait(120), "the simulator did not start"
        yield holder["server"]
    finally:
        if "stop" in holder:
            loop.call_soon_threadsafe(holder["stop"].set)
        thread.join(60)
        loop.close()


def weibo_daemon_config(folder: Path, server: Any) -> Path:
    from tests.support.sim import TOPIC

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.toml"
    raw: dict[str, Any] = {
        "storage": {"path": "p.db", "comment_retention_days": 0},
        "weibo": {
            "base_url": server.weibo_url,
            "topic_base_url": server.weibo_topic_url,
            "requests_per_minute": 60_000,
            "burst": 5,
            "cookie_env": "PINGFAN_TEST_NO_COOKIE",
            "timeout": "2s",
        },
        "douyin": {"enabled": False},
        "nlp": {"model": "snownlp"},
        "schedule": {
            "topic_posts": "1s",
            "topic_stats": "1s",
            "kol_posts": "1s",
            "profiles": "5s",
            "comments_hot": "1s",
            "comments_cold": "10s",
        },
        "health": {"port": 0},
    }
    text = toml(raw) + f'[[topics]]\nname = "{TOPIC}"\n'
    path.write_text(text, encoding="utf-8")
    return path


def stderr_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("pingfan")]


def test_disk_full_while_running_stops_the_daemon_with_one_line_and_keeps_what_was_stored(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The chosen behaviour: stop cleanly, exit 1, one line; restart once space is free."""
    real_save = ContentQueries.save_posts
    stored_before: list[int] = []

    def save_posts(self: ContentQueries, posts: Any, cursor: Any = None) -> int:
        held = self.db.execute("SELECT count(*) FROM posts").fetchone()[0]
        if held:  # once some posts are in, the next write finds the disk full
            stored_before.append(held)
            raise sqlite3.OperationalError("database or disk is full")
        return real_save(self, posts, cursor)

    with sim_in_a_thread() as server:
        config = weibo_daemon_config(tmp_path, server)
        # the fault is met beneath the store's door, which turns it into pingfan's error
        monkeypatch.setattr(ContentQueries, "save_posts", translating(save_posts))
        code = cli.main(["--config", str(config), "--log-level", "WARNING", "run"])
    err = capsys.readouterr().err
    assert code == 1
    lines = stderr_lines(err)
    assert len(lines) == 1, err
    assert "the disk is full" in lines[0] and "free some space" in lines[0]
    no_traceback(caplog, err)
    assert "ExceptionGroup" not in err
    with Store.open(tmp_path / "p.db") as store:  # what was stored before stays
        assert stored_before, "the fault was never reached"
        assert store.reports.table_counts()["posts"] == max(stored_before) > 0
    with RunLock(tmp_path / "p.db"):  # and the lock was released: a restart can run
        pass


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_enospc_writing_the_run_lock_is_one_line_and_closes_the_descriptor(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = quiet_config(tmp_path)

    def full(fd: int, data: bytes, offset: int) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "pwrite", full)
    before = fds()
    with pytest.raises(DatabaseUnavailable, match="disk is full"):
        RunLock(tmp_path / "p.db").acquire()
    assert fds() == before
    code = cli.main(["--config", str(config), "run"])
    err = capsys.readouterr().err
    assert fds() == before  # no descriptor leaked, from the lock or anything else
    assert code == 1
    assert len(stderr_lines(err)) == 1 and "the disk is full" in err, err
    no_traceback(caplog, err)
    monkeypatch.undo()
    with RunLock(tmp_path / "p.db"):  # nothing is held
        pass


@contextmanager
def small_tmpfs(where: Path, size: str = "64k") -> Iterator[Path]:
    """A tmpfs of its own (root only; the test is skipped elsewhere)."""
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill_up(folder: Path) -> None:
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as err:
        assert err.errno == errno.ENOSPC
    finally:
        os.close(fd)


def test_a_really_full_disk_at_start_is_one_line_and_no_leak(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    with small_tmpfs(tmp_path / "full") as full:
        config = quiet_config(full)
        fill_up(full)
        before = fds()
        code = cli.main(["--config", str(config), "run"])
        err = capsys.readouterr().err
        assert fds() == before
    assert code == 1
    assert len(stderr_lines(err)) == 1 and "disk is full" in err, err
    no_traceback(caplog, err)


# --- 7. one daemon per database, whatever path leads to it ------------------------------


@contextmanager
def hang_guard(seconds: int) -> Iterator[None]:
    """Interrupt what runs in this thread after `seconds` (a hang guard, not a timing check:
    an interrupted `pingfan run` returns 130, which fails the test's assertion)."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_a_second_daemon_through_a_symlink_or_a_relative_path_exits_3(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    via_link = quiet_config(tmp_path / "a", db=str(tmp_path / "link" / "p.db"))
    via_relative = quiet_config(tmp_path / "b", db="../real/./p.db")
    via_file_link = quiet_config(tmp_path / "c", db="p-link.db")
    (tmp_path / "c" / "p-link.db").symlink_to(real / "p.db")
    with RunLock(real / "p.db"):  # the first daemon
        for config in (via_link, via_relative, via_file_link):
            with hang_guard(60):  # a daemon that got the lock would run until stopped
                code = cli.main(["--config", str(config), "run"])
            err = capsys.readouterr().err
            assert code == 3, err
            assert len(stderr_lines(err)) == 1 and f"pid {os.getpid()}" in err
    no_traceback(caplog)


async def test_two_real_daemons_on_one_database_through_a_symlink_the_second_exits_3(
    tmp_path: Path,
) -> None:
    """The second reaches the file through a symlink of the file itself (a symlinked folder
    put both locks on one file even before: `<db>.lock` then named the same file)."""
    real = tmp_path / "real"
    first_config = quiet_config(real)
    second_config = quiet_config(tmp_path / "other", db="p-link.db")
    (tmp_path / "other" / "p-link.db").symlink_to(real / "p.db")

    async def start(config: Path) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "monitor", "--config", str(config), "--log-level", "WARNING",
            "run", stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip

    first = await start(first_config)
    second: asyncio.subprocess.Process | None = None
    try:
        lock = Path(f"{real / 'p.db'}.lock")
        for _ in range(1200):  # until the first daemon holds its lock (a hang guard)
            if lock.exists() and lock.read_text().strip() == str(first.pid):
                break
            assert first.returncode is None
            await asyncio.sleep(0.05)
        second = await start(second_config)
        try:  # a hang guard: a second daemon that runs never ends by itself
            _, second_err = await asyncio.wait_for(second.communicate(), 60)
        except TimeoutError:
            pytest.fail("the second daemon is running on the same database")
        assert second.returncode == 3, second_err.decode()
        lines = stderr_lines(second_err.decode())
        assert len(lines) == 1 and f"pid {first.pid}" in lines[0]
        assert b"Traceback" not in second_err
    finally:
        for process in (second, first):
            if process is not None and process.returncode is None:
                process.terminate()
        if second is not None:
            await asyncio.wait_for(second.wait(), 60)
        _, first_err = await asyncio.wait_for(first.communicate(), 120)
    assert first.returncode == 0, first_err.decode()
    assert b"Traceback" not in first_err


# --- 8. the smaller things ----------------------------------------------------------------


def test_a_symlinked_config_resolves_relative_paths_against_the_real_file(
    tmp_path: Path,
) -> None:
    real = quiet_config(tmp_path / "srv", db="data/p.db")
    (tmp_path / "etc").mkdir()
    link = tmp_path / "etc" / "pingfan.toml"
    link.symlink_to(real)
    through_link = load_config(link)
    direct = load_config(real)
    assert through_link.storage.path == direct.storage.path
    assert through_link.storage.path == (tmp_path / "srv" / "data" / "p.db").resolve()
    assert through_link.source == link  # messages still name the file the user gave


@contextmanager
def read_only_folder(where: Path) -> Iterator[Path]:
    """A tmpfs, remounted read-only once the test has filled it (root bypasses chmod)."""
    with small_tmpfs(where, size="16m") as folder:
        yield folder


def test_a_read_only_storage_folder_run_exits_1_and_reading_commands_still_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    with read_only_folder(tmp_path / "ro") as folder:
        config = quiet_config(folder)
        with Store.open(folder / "p.db") as store:
            store.content.save_posts(post(str(n)) for n in range(5))
        done = subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=False)
        assert done.returncode == 0
        for lingering in ("p.db-wal", "p.db-shm"):
            assert not (folder / lingering).exists()

        assert cli.main(["--config", str(config), "run"]) == 1
        err = capsys.readouterr().err
        assert len(stderr_lines(err)) == 1 and "read-only" in err.lower(), err

        assert cli.main(["--config", str(config), "status"]) == 0
        captured = capsys.readouterr()
        assert "posts" in captured.out and not stderr_lines(captured.err), captured.err

        assert cli.main(["--config", str(config), "export", "posts"]) == 0
        captured = capsys.readouterr()
        exported = [json.loads(line) for line in captured.out.splitlines()]
        assert sorted(item["id"] for item in exported) == [str(n) for n in range(5)]

        copy = tmp_path / "copy.db"
        assert cli.main(["--config", str(config), "backup", str(copy)]) == 0
        captured = capsys.readouterr()
        assert not stderr_lines(captured.err), captured.err
    with Store.open(copy) as store:
        assert store.reports.table_counts()["posts"] == 5
    no_traceback(caplog)


def test_the_recovery_hint_is_shell_quoted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "my campaign's data"
    config = quiet_config(folder)
    (folder / "p.db").write_bytes(b"this is not a database, it is a text file" * 100)
    assert cli.main(["--config", str(config), "status"]) == 1
    err = capsys.readouterr().err
    assert len(stderr_lines(err)) == 1, err
    command = err.split("recover with `", 1)[1].split("`", 1)[0]
    words = shlex.split(command)
    assert words[:3] == ["sqlite3", str(folder / "p.db"), ".recover"]
    assert shlex.quote(str(folder / "p.db")) in damaged(folder / "p.db", "x").args[0]


def test_an_empty_digest_never_suggests_the_same_empty_week(tmp_path: Path) -> None:
    from alerts.digest.build import build_digest
    from alerts.digest.documents import render_markdown
    from alerts.digest.weeks import IsoWeek, parse_week

    config = load_config(quiet_config(tmp_path))
    now = datetime(2019, 8, 21, 4, 0, tzinfo=UTC)  # Wednesday of 2019-W34
    last_week = parse_week("2019-W33")

    def markdown(store: Store, week: IsoWeek) -> str:
        return render_markdown(build_digest(store, config, week, now=now))

    with Store.open(tmp_path / "p.db") as store:
        empty = markdown(store, last_week)  # nothing stored at all
        assert "--week" not in empty and "请确认采集在运行" in empty
        # data only in the running week: last week is empty, and so is no other past week
        store.content.save_posts([post("1", created_at=now - timedelta(hours=20))])
        only_now = markdown(store, last_week)
        assert "--week 2019-W33" not in only_now and "--week" not in only_now
        # data in an earlier week: that week is suggested, never the empty one
        store.content.save_posts([post("2", created_at=datetime(2019, 8, 7, 4, 0, tzinfo=UTC))])
        earlier = markdown(store, last_week)
        assert "--week 2019-W32" in earlier and "--week 2019-W33" not in earlier
