"""The Apprise sink (issue 22, item 6) against a local endpoint: Apprise's `json://` posting to a
small aiohttp stand-in. Once per alert, in order, retried after a 500, broken with one health
line on a 404, one sink per URL, and the URLs (which hold tokens) never shown."""

from __future__ import annotations

import json
import logging
import socket
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from alerts.dispatch import Dispatcher, DispatchReport
from alerts.sinks import build_sinks
from monitor.config import ConfigError, config_from_dict, missing_secrets
from monitor.models import AlertRecord
from monitor.store import Store
from tests.support.alerts import Clock, alert

TOKEN = "tok-3f9a1c7e5b"  # a secret in the URL's path, as many Apprise services have one


@dataclass
class Endpoint:
    """What a JSON notification service would be: it records each body, or answers a queued
    failure status first."""

    bodies: list[dict[str, Any]] = field(default_factory=list)
    fail_next: deque[int] = field(default_factory=deque)
    requests: int = 0
    port: int = 0

    def url(self, path: str = TOKEN, query: str = "") -> str:
        return f"json://127.0.0.1:{self.port}/{path}{query}"

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        if self.fail_next:
            return web.Response(status=self.fail_next.popleft(), text="no")
        if request.match_info["token"] != TOKEN:
            return web.Response(status=404, text="Not Found")
        self.bodies.append(await request.json())
        return web.Response(status=200, text="ok")

    def footers(self) -> list[int]:
        return [
            int(b["message"].rsplit("#", 1)[1].split(" ", 1)[0].strip("_")) for b in self.bodies
        ]


@asynccontextmanager
async def endpoint() -> AsyncIterator[Endpoint]:
    stand_in = Endpoint()
    app = web.Application()
    app.router.add_post("/{token}", stand_in.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    stand_in.port = sock.getsockname()[1]
    await web.SockSite(runner, sock).start()
    try:
        yield stand_in
    finally:
        await runner.cleanup()


def enqueue(store: Store, *alerts: AlertRecord) -> None:
    for item in alerts:
        store.outbox.enqueue_alert(item, url=f"https://m.weibo.cn/detail/{item.subject_id}")


def config_for(tmp_path: Path, **apprise: Any) -> Any:
    sinks = [
        {"type": "apprise", "urls_env": "PF_TEST_APPRISE", **apprise},
        {"type": "jsonl", "path": str(tmp_path / "alerts.jsonl")},
    ]
    return config_from_dict({"sinks": sinks}, tmp_path / "config.toml")


async def dispatch(
    store: Store, config: Any, env: dict[str, str], clock: Clock, now: datetime | None = None
) -> DispatchReport:
    async with Dispatcher(config, store, clock=clock, sleep=clock.sleep, env=env) as dispatcher:
        return await dispatcher.dispatch_pending()


def jsonl(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / "alerts.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


async def test_each_alert_once_in_order_as_text(tmp_path: Path, store: Store) -> None:
    async with endpoint() as service:
        env = {"PF_TEST_APPRISE": service.url()}
        config = config_for(tmp_path)
        clock = Clock()
        enqueue(store, alert(1), alert(2), alert(3))
        report = await dispatch(store, config, env, clock)
        assert report.messages["apprise:PF_TEST_APPRISE"] == 3 == len(service.bodies)
        assert service.footers() == [1, 2, 3]
        first = service.bodies[0]
        assert first["title"] == "【注意】负面舆情 1"
        assert first["message"] == (
            "第 1 条提醒\n近 6 小时 40 条评论中负面 30 条\n链接：https://m.weibo.cn/detail/P1\n"
            "#1 · negative_thread:weibo:P1:2019-08-16"
        )
        clock.advance(minutes=5)
        again = await dispatch(store, config, env, clock)  # a restart: nothing again
        assert again.messages == {} and len(service.bodies) == 3
        assert store.outbox.delivery_states(2)["apprise:PF_TEST_APPRISE"] == "sent"


async def test_markdown_escapes_the_alert_text_and_links_the_post(
    tmp_path: Path, store: Store
) -> None:
    async with endpoint() as service:
        env = {"PF_TEST_APPRISE": service.url()}
        config = config_for(tmp_path, format="markdown")
        hostile = "点这里 [领奖](http://evil.example/x) **加粗** <b>"
        enqueue(store, alert(1, text=hostile))
        await dispatch(store, config, env, Clock())
        (body,) = service.bodies
        text = body["message"]
        assert "\\[领奖\\]\\(http://evil\\.example/x\\)" in text
        assert "\\*\\*加粗\\*\\*" in text and "\\<b\\>" in text
        assert "[查看原帖](https://m.weibo.cn/detail/P1)" in text
        assert text.endswith("_\\#1 · negative\\_thread:weibo:P1:2019\\-08\\-16_")


async def test_a_500_is_retried_with_backoff_and_nothing_overtakes(
    tmp_path: Path, store: Store
) -> None:
    async with endpoint() as service:
        env = {"PF_TEST_APPRISE": service.url()}
        config = config_for(tmp_path)
        clock = Clock()
        service.fail_next.append(500)
        enqueue(store, alert(1), alert(2))
        report = await dispatch(store, config, env, clock)
        assert (report.failed, report.sent) == (1, 2)  # the jsonl sink delivered both
        assert service.bodies == [] and service.requests == 1  # alert 2 did not overtake
        clock.advance(seconds=10)
        await dispatch(store, config, env, clock)  # before the backoff (30 s): no request
        assert service.requests == 1
        clock.advance(seconds=25)
        report = await dispatch(store, config, env, clock)
        assert service.footers() == [1, 2]
        assert report.messages["apprise:PF_TEST_APPRISE"] == 2
        assert "可能重复" not in service.bodies[0]["message"]  # a 500 is a known outcome
        assert store.reports.alert_states() == {"sent": 2}


async def test_a_permanent_failure_breaks_the_sink_with_one_health_line(
    tmp_path: Path, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    async with endpoint() as service:
        env = {"PF_TEST_APPRISE": service.url(path="gone-" + TOKEN)}  # answers 404
        config = config_for(tmp_path)
        clock = Clock()
        enqueue(store, alert(1), alert(2))
        with caplog.at_level(logging.DEBUG):
            report = await dispatch(store, config, env, clock)
            clock.advance(minutes=30)
            again = await dispatch(store, config, env, clock)
            shown = repr(config) + repr(build_sinks(config, env))
        assert report.broken_sinks == again.broken_sinks == ("apprise:PF_TEST_APPRISE",)
        assert service.requests == 1  # broken: no more tries
        assert len([r for r in caplog.records if "is broken" in r.message]) == 1
        lines = jsonl(tmp_path)
        assert [x["title"] for x in lines] == [
            "负面舆情 1",
            "负面舆情 2",
            "提醒通道失效：apprise:PF_TEST_APPRISE",
        ]
        assert "HTTP 404" in lines[2]["text"]
        stored = json.dumps(list(store.query("SELECT * FROM alert_deliveries")))
        stored += json.dumps(list(store.query("SELECT * FROM alert_sinks")))
        stored += json.dumps(lines, ensure_ascii=False)
        for secret in (TOKEN, env["PF_TEST_APPRISE"]):
            assert secret not in caplog.text
            assert secret not in stored
            assert secret not in shown
        # the URL is fixed: the sink catches up, in order, once
        env = {"PF_TEST_APPRISE": service.url()}
        report = await dispatch(store, config, env, clock)
        assert report.broken_sinks == () and service.footers() == [1, 2]


async def test_one_sink_per_url_and_an_unknown_scheme_breaks_only_its_own(
    tmp_path: Path, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    async with endpoint() as service:
        secret_url = f"nosuchservice://{TOKEN}@example"
        env = {"PF_TEST_APPRISE": f"{service.url()},\n {secret_url}"}
        config = config_for(tmp_path)
        labels = [s.label for s in build_sinks(config, env)]
        assert labels == [
            "apprise:PF_TEST_APPRISE:1",
            "apprise:PF_TEST_APPRISE:2",
            "jsonl:alerts.jsonl",
        ]
        enqueue(store, alert(1))
        with caplog.at_level(logging.DEBUG):
            report = await dispatch(store, config, env, Clock())
        assert report.broken_sinks == ("apprise:PF_TEST_APPRISE:2",)
        assert service.footers() == [1, 2]  # the first URL: the alert, then the health line
        assert service.bodies[1]["title"] == "【紧急】提醒通道失效：apprise:PF_TEST_APPRISE:2"
        titles = [x["title"] for x in jsonl(tmp_path)]
        assert titles == ["负面舆情 1", "提醒通道失效：apprise:PF_TEST_APPRISE:2"]
        assert TOKEN not in caplog.text and secret_url not in caplog.text


def test_config_names_the_key_and_never_the_urls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def load(entry: dict[str, Any]) -> Any:
        return config_from_dict({"sinks": [entry]}, tmp_path / "config.toml")

    with pytest.raises(ConfigError, match="needs 'urls_env'"):
        load({"type": "apprise"})
    with pytest.raises(ConfigError, match="'urls_env' must be the NAME") as err:
        load({"type": "apprise", "urls_env": f"json://host/{TOKEN}"})
    assert TOKEN not in str(err.value)
    with pytest.raises(ConfigError, match="does not take 'format'"):
        load({"type": "wecom", "url_env": "W", "format": "markdown"})
    with pytest.raises(ConfigError, match="format"):
        load({"type": "apprise", "urls_env": "PF_TEST_APPRISE", "format": "html"})
    config = load({"type": "apprise", "urls_env": "PF_TEST_APPRISE"})
    monkeypatch.delenv("PF_TEST_APPRISE", raising=False)
    assert "needs $PF_TEST_APPRISE; export it" in missing_secrets(config)[0]
    monkeypatch.setenv("PF_TEST_APPRISE", f"json://host/{TOKEN} {TOKEN}-pasted-without-scheme")
    (problem,) = missing_secrets(config)
    assert "'urls_env'" in problem and "position 2" in problem and TOKEN not in problem
    two = f"json://host/{TOKEN}, mailto://u:p@x.com?to=a@x.com,b@y.com"
    monkeypatch.setenv("PF_TEST_APPRISE", two)
    assert missing_secrets(config) == []
