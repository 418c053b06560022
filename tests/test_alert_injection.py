"""Hostile comment text, from the store through `evaluate` to every sink: it shows as text and
adds no link, mention, button, markup or line of its own anywhere."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alerts import safe_text
from alerts.dispatch import Dispatcher
from alerts.engine import evaluate
from monitor.config import config_from_dict
from monitor.store import Store
from tests.support.alerts import ALL, Clock, sink_entries
from tests.support.factories import comment, post
from tests.support.fake_services import CHAT_ID, FakeServices

T0 = datetime(2019, 8, 16, 13, 30, tzinfo=UTC)
POST_URL = "https://m.weibo.cn/detail/4390004051800614"
HOSTILE = [
    '</b><a href="http://evil">点我</a> 投诉',
    "@all 快来投诉 [点我](http://evil.com)",
    '<at user_id="all">所有人</at> 投诉 <font color="warning">红字</font>',
    "投诉\n【紧急】假的标题\n链接：http://evil.com/phish",
    "\x1b[2J\x1b[31m投诉\u202e txet desrever \u200b www.evil.com",
]


@pytest.fixture
def hostile_store(tmp_path: Path) -> Store:
    store = Store.open(tmp_path / "pingfan.db")
    store.content.save_posts(
        [
            post(
                "4390004051800614",
                author_name="<b>甘井子</b>老刘 @all",
                text='星海广场散场太堵了 <a href="http://evil">详情</a> @all #平凡大连人#',
                created_at=T0,
                observed_at=T0,
                url=POST_URL,
            )
        ]
    )
    comments = [
        comment(
            f"H{i}",
            post_id="4390004051800614",
            author_id=f"<i>{i}</i>@all",
            text=text,
            likes=60 - i,
            created_at=T0 + timedelta(minutes=i),
        )
        for i, text in enumerate(HOSTILE)
    ]
    comments += [
        comment(
            f"N{i}",
            post_id="4390004051800614",
            author_id=f"6000000{i:03d}",
            text=f"散场堵了两个多小时，太气人了 {i}",
            created_at=T0 + timedelta(minutes=10 + i),
        )
        for i in range(30)
    ]
    store.content.save_comments(comments)
    store.content.set_comment_scores(("weibo", c.id, 0.1, "negative", "test") for c in comments)
    return store


def check_plain(text: str) -> None:
    """What a person reads in a text-only sink: every hostile piece inert."""
    assert "http://evil" not in text and "evil.com" not in text
    assert "\x1b" not in text and "\u202e" not in text
    for line in text.split("\n"):
        assert not line.startswith("【紧急】假的标题") and not line.startswith("链接：http://evil")
    for index, ch in enumerate(text):
        if ch == "@":
            assert text[index + 1] == safe_text.WORD_JOINER


async def test_hostile_comments_stay_text_in_every_sink(
    hostile_store: Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = hostile_store
    async with FakeServices() as fake:
        config = config_from_dict(
            {
                "sinks": sink_entries(fake, tmp_path, ALL),
                "alerts": {"health": {"enabled": False}, "coordination": {"enabled": False}},
            },
            tmp_path / "config.toml",
        )
        raised = evaluate(store, config, T0 + timedelta(hours=1))
        assert [a.kind for a in raised] == ["negative_thread"]
        clock = Clock(T0 + timedelta(hours=1))
        async with Dispatcher(config, store, clock=clock, env=fake.env()) as dispatcher:
            report = await dispatcher.dispatch_pending()
        assert report.sent == len(ALL) and not report.broken_sinks

        # the alert itself: the hostile pieces are quoted, masked, defanged
        alert = raised[0]
        check_plain(alert.title + "\n" + alert.text)
        assert "</b><a href=" in alert.text  # shown, as text
        assert "<i>" not in alert.text and "6000000" not in alert.text  # authors masked

        (tg,) = fake.received["telegram"]
        assert [e["type"] for e in tg["entities"]] == ["bold", "text_link", "italic"]
        assert tg["entities"][1]["url"] == POST_URL
        assert '</b><a href="hxxp[:]//evil">点我</a>' in tg["text"]
        check_plain(tg["text"])
        buttons = [b for row in tg["reply_markup"]["inline_keyboard"] for b in row]
        # acknowledge, mute, and a label row per quoted comment: ids only, never its words
        labels = [f"lab:1:{n}:{code}" for n in range(3) for code in "pun"]
        assert [b["callback_data"] for b in buttons] == ["ack:1", "mute:1", *labels]
        assert all("url" not in b for b in buttons)

        for service in ("wecom", "dingtalk"):
            (sent,) = fake.received[service]
            check_plain(sent["text"])
            assert set(sent["payload"]) <= {"msgtype", "text", "at"}
            assert set(sent["payload"]["text"]) == {"content"}  # no mentioned_list
        assert fake.received["dingtalk"][0]["payload"]["at"]["isAtAll"] is False

        (feishu,) = fake.received["feishu"]
        rows = feishu["payload"]["content"]["post"]["zh_cn"]["content"]
        elements = [e for row in rows for e in row]
        assert {e["tag"] for e in elements} == {"text", "a"}
        assert [e["href"] for e in elements if e["tag"] == "a"] == [POST_URL]
        check_plain(feishu["text"])
        assert '<at user_id="all">' in feishu["text"]  # inside a plain text element

        (hook,) = fake.received["webhook"]
        line = json.loads((tmp_path / "alerts.jsonl").read_text(encoding="utf-8"))
        for record in (hook["payload"], line):
            check_plain(record["text"])
            assert record["url"] == POST_URL
            assert all(
                s["author"].endswith("***") and len(s["author"]) == 4
                for s in record["evidence"]["samples"]
            )
        printed = capsys.readouterr().out
        check_plain(printed)
        assert "</b><a href=" in printed
        assert tg["chat"]["id"] == CHAT_ID
