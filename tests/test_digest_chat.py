"""The digest in chat: each sink kind's short form within its service's limit, Telegram with
the HTML page attached (against a local Bot API that takes documents), and the plain
summary that every sink already sends through the outbox."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from telegram import Bot

from alerts import chat_markup as chat
from alerts import safe_text
from alerts.digest.build import build_digest
from alerts.digest.files import digest_alert, enqueue_digest, write_digest
from alerts.dispatch import Dispatcher
from alerts.sinks.base import Outgoing
from monitor.config import config_from_dict
from monitor.store import Store
from tests.support.digest import W28, at, fill_week, make_config
from tests.support.fake_services import FakeServices, parse_telegram_html

TOKEN = "777:digest-test-token"
CHAT = -100777


def outgoing(tmp_path: Path, store: Store, **changes: Any) -> Outgoing:
    fill_week(store)
    digest = build_digest(store, make_config(tmp_path), W28, now=at("2019-07-15T09:00"))
    written = write_digest(digest, tmp_path / "out")
    alert, evidence = digest_alert(digest, written, at=at("2019-07-15T09:00"))
    message = Outgoing(
        alert_ids=(1,),
        kind=alert.kind,
        severity=alert.severity,
        title=alert.title,
        text=alert.text,
        url=None,
        created_at=alert.created_at,
        dedupe_key=alert.dedupe_key,
        language="zh",
        tz=ZoneInfo("Asia/Shanghai"),
        evidence=evidence,
    )
    return replace(message, **changes)


def crowded(message: Outgoing) -> Outgoing:
    """The same digest with 300 topics and a very long campaign name: every form must cut."""
    facts = dict(message.evidence["facts"])
    reach = facts["reach"][0]
    facts["reach"] = [dict(reach, topic=f"话题{n}") for n in range(300)]
    evidence = {**message.evidence, "facts": facts}
    return replace(message, title="#平凡大连人 " * 40 + "周报", evidence=evidence)


def test_every_form_carries_the_summary(tmp_path: Path, store: Store) -> None:
    message = outgoing(tmp_path, store)
    lines = chat.lines(message)
    assert lines[0].startswith("微博话题阅读 1.2万，本周 +1.1万")
    assert any(line.startswith("帖子 5") for line in lines)
    text, entities = parse_telegram_html(chat.telegram_html(message))
    assert text.startswith("#平凡大连人 周报 · 2019-W28\n• 微博话题阅读")
    assert text.endswith("完整周报见附件（HTML）。")
    assert [e["type"] for e in entities] == ["bold", "italic"]
    wecom = chat.payload("wecom", message)
    assert wecom is not None and wecom["msgtype"] == "markdown"
    assert wecom["markdown"]["content"].startswith("**#平凡大连人 周报 · 2019-W28**\n> 微博")
    assert "digest-2019-W28.html" in wecom["markdown"]["content"]
    dingtalk = chat.payload("dingtalk", message)
    assert dingtalk is not None and dingtalk["msgtype"] == "markdown"
    assert dingtalk["at"]["isAtAll"] is False
    assert dingtalk["markdown"]["text"].startswith("### #平凡大连人 周报")
    feishu = chat.payload("feishu", message)
    assert feishu is not None and feishu["msg_type"] == "interactive"
    assert feishu["card"]["header"]["title"]["content"] == "#平凡大连人 周报 · 2019-W28"
    assert "- 帖子 5" in feishu["card"]["elements"][0]["content"]
    assert chat.payload("console", message) is None


def test_every_form_stays_within_its_limit(tmp_path: Path, store: Store) -> None:
    message = crowded(outgoing(tmp_path, store))
    html = chat.telegram_html(message)
    text, _ = parse_telegram_html(html)  # still valid HTML after the cut
    assert safe_text.utf16_len(text) <= chat.TELEGRAM_LIMIT
    assert text.endswith("完整周报见附件（HTML）。") and "…" in text
    wecom = chat.wecom_payload(message)["markdown"]["content"]
    assert safe_text.utf8_len(wecom) <= chat.WECOM_MARKDOWN_LIMIT and "digest-2019-W28" in wecom
    dingtalk = chat.dingtalk_payload(message)["markdown"]["text"]
    assert safe_text.utf8_len(dingtalk) <= chat.DINGTALK_MARKDOWN_LIMIT
    feishu = chat.feishu_payload(message)
    assert (
        safe_text.utf8_len(feishu["card"]["elements"][0]["content"]) <= chat.FEISHU_MARKDOWN_LIMIT
    )
    assert len(json.dumps(feishu, ensure_ascii=False).encode()) < 20_000


def test_names_cannot_add_markup(tmp_path: Path, store: Store) -> None:
    message = outgoing(tmp_path, store, title="周报 <b>x</b> **[点我](http://evil)** @all")
    facts = dict(message.evidence["facts"])
    facts["negative_terms"] = ["<a href=x>", "[点我](http://evil)", "**粗**", "正常"]
    message = replace(message, evidence={**message.evidence, "facts": facts})
    _, entities = parse_telegram_html(chat.telegram_html(message))
    assert [e["type"] for e in entities] == ["bold", "italic"]  # ours only
    for content in (
        chat.wecom_payload(message)["markdown"]["content"],
        chat.dingtalk_payload(message)["markdown"]["text"],
        chat.feishu_payload(message)["card"]["elements"][0]["content"],
    ):
        assert "](http" not in content and "<a " not in content and "<b>" not in content
        assert "负面关键词：ahrefx、点我httpevil、粗、正常" in content


# --- Telegram: the summary, then the page as a document -------------------------------------


@asynccontextmanager
async def bot_api() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    """A local Bot API: getMe, sendMessage and sendDocument (multipart), recorded."""
    received: list[dict[str, Any]] = []
    user = {"id": 777, "is_bot": True, "first_name": "pingfan", "username": "pingfan_bot"}

    async def method(request: web.Request) -> web.Response:
        if request.match_info["token"] != TOKEN:
            return web.json_response({"ok": False, "error_code": 401}, status=401)
        name = request.match_info["method"]
        if name == "getMe":
            return web.json_response({"ok": True, "result": user})
        fields: dict[str, Any] = {}
        if request.content_type == "application/json":
            fields = dict(await request.json())
        else:  # form fields (multipart when a file comes along), values as JSON but the texts
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    fields["file"] = (value.filename, value.file.read())
                elif key in ("text", "caption"):
                    fields[key] = str(value)
                else:
                    try:
                        fields[key] = json.loads(str(value))
                    except ValueError:
                        fields[key] = str(value)
        received.append({"method": name, **fields})
        message: dict[str, Any] = {
            "message_id": len(received),
            "date": int(datetime(2019, 7, 15).timestamp()),
            "chat": {"id": CHAT, "type": "supergroup", "title": "运营群"},
        }
        if name == "sendDocument":
            message["document"] = {"file_id": "f1", "file_unique_id": "u1"}
        else:
            message["text"] = fields.get("text", "")
        return web.json_response({"ok": True, "result": message})

    app = web.Application()
    app.router.add_route("*", "/bot{token}/{method}", method)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    site = web.SockSite(runner, sock)
    await site.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/bot", received
    finally:
        await runner.cleanup()


async def test_telegram_gets_the_summary_and_the_page(tmp_path: Path, store: Store) -> None:
    message = outgoing(tmp_path, store)
    page = Path(message.evidence["files"]["html"])
    async with bot_api() as (base_url, received):
        bot = Bot(TOKEN, base_url=base_url)
        async with bot:
            await chat.send_telegram(bot, CHAT, message)
    summary, document = received
    assert summary["method"] == "sendMessage" and summary["parse_mode"] == "HTML"
    assert summary["chat_id"] == CHAT
    text, _ = parse_telegram_html(summary["text"])
    assert "帖子 5" in text and text.endswith("完整周报见附件（HTML）。")
    assert document["method"] == "sendDocument"
    assert document["file"] == ("pingfan-digest-2019-W28.html", page.read_bytes())
    assert document["caption"] == "#平凡大连人 周报 · 2019-W28"


async def test_telegram_without_the_page_says_where_it_was(tmp_path: Path, store: Store) -> None:
    message = outgoing(tmp_path, store)
    Path(message.evidence["files"]["html"]).unlink()
    async with bot_api() as (base_url, received), Bot(TOKEN, base_url=base_url) as bot:
        await chat.send_telegram(bot, CHAT, message)
    (summary,) = received
    text, _ = parse_telegram_html(summary["text"])
    assert text.endswith("完整周报：digest-2019-W28.html")


# --- the outbox as it is: every sink sends the plain summary ----------------------------------


async def test_the_outbox_delivers_the_plain_summary_to_wecom(tmp_path: Path, store: Store) -> None:
    fill_week(store)
    digest = build_digest(store, make_config(tmp_path), W28, now=at("2019-07-15T09:00"))
    written = write_digest(digest, tmp_path / "out")
    async with FakeServices() as fake:
        config = config_from_dict(
            {"sinks": [{"type": "wecom", "url_env": "PF_TEST_WECOM"}]}, tmp_path / "sinks.toml"
        )
        async with Dispatcher(
            config, store, clock=lambda: at("2019-07-15T09:01"), env=fake.env()
        ) as dispatcher:
            await dispatcher.dispatch_pending()  # what fill_week left in the outbox
            assert enqueue_digest(store, digest, written, at=at("2019-07-15T09:00"))
            assert not enqueue_digest(store, digest, written, at=at("2019-07-15T09:05"))
            await dispatcher.dispatch_pending()
        texts = [t for t in fake.texts("wecom") if "2019-W28" in t]
    (text,) = texts
    assert "帖子 5" in text and "digest-2019-W28.html" in text
    assert len(text.encode()) <= 2048
    delivered = store.weekly.alert_by_key("digest:2019-W28")
    assert delivered is not None and delivered[1] == "sent"
