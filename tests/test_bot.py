"""The team bot end to end: the real python-telegram-bot Application, polling the local fake
Bot API (tests/support/fake_services.py) for real getUpdates results, answering from a seeded store.

Every test runs `run_bot` as the daemon does (a task, stopped by an event) and talks to it the
way a person would: a message or a button press is queued on the fake server, and the test
waits until the bot's answer arrives there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from alerts.bot import run_bot
from alerts.bot.replies import MESSAGE_LIMIT
from alerts.dispatch import Dispatcher
from monitor.config import Config, config_from_dict
from monitor.models import Account, AlertRecord, TopicStats
from monitor.store import Store
from monitor.store.runtime import CircuitRow
from nlp.sentiment import default_model
from nlp.shares import comment_shares, format_share
from tests.support.factories import comment, post
from tests.support.fake_services import (
    BOB,
    CHAT_ID,
    MALLORY,
    STRANGER_CHAT_ID,
    TELEGRAM_TOKEN,
    FakeServices,
    utf16,
)

T = datetime(2019, 8, 16, 6, 0, tzinfo=UTC)  # 14:00 in Dalian
KOL_WEIBO = "1000000001"
KOL_DOUYIN = "MS4wLjABAAAA-kol-food"
USER = "2000000001"
ENV = {"PF_TEST_TELEGRAM": TELEGRAM_TOKEN}
NEGATIVE_TEXTS = [
    "排队两个小时，太坑了，我要投诉",
    "排队太久了，组织太差",
    "又是排队，服务太差",
    "排队排到崩溃，太差了",
    "现场太乱了，排队没人管",
    "排队的人太多，体验很差",
    "太差了，排队还插队",
    "排队一下午，失望",
]


class Clock:
    def __init__(self, now: datetime = T) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def make_config(fake: FakeServices, tmp_path: Path, **changes: Any) -> Config:
    bot = {
        "enabled": True,
        "token_env": "PF_TEST_TELEGRAM",
        "base_url": fake.telegram_base_url,
        "poll_timeout": "10s",
        "allowed_chat_ids": [CHAT_ID],
        "allowed_user_ids": [BOB["id"]],
        **changes.pop("bot", {}),
    }
    raw: dict[str, Any] = {
        "ui": {"language": changes.pop("language", "zh")},
        "topics": [{"name": "平凡大连人"}],
        "kols": [
            {"platform": "weibo", "id": KOL_WEIBO, "name": "大连身边事"},
            {"platform": "douyin", "id": KOL_DOUYIN, "name": "大连美食探店"},
        ],
        "sinks": [
            {
                "type": "telegram",
                "token_env": "PF_TEST_TELEGRAM",
                "chat_ids": [CHAT_ID],
                "base_url": fake.telegram_base_url,
            }
        ],
        "bot": bot,
        "alerts": {"health": {"enabled": False}},
        **changes,
    }
    return config_from_dict(raw, tmp_path / "config.toml")


# --- the seeded store --------------------------------------------------------------------


def seed(store: Store) -> None:
    """A day of the campaign as the collectors and the scorer would have left it at T."""
    h = timedelta(hours=1)
    # collection: Weibo polled five minutes ago; Douyin blocked and cooling down
    store.runtime.record_source_run(
        "weibo:topic_posts", "weibo", status="ok", at=T - timedelta(minutes=5), due_at=T
    )
    store.runtime.record_source_run(
        "douyin:kol_posts", "douyin", status="ok", at=T - 3 * h, due_at=T
    )
    store.runtime.save_circuit(
        CircuitRow("douyin", "open", "HTTP 432", T + 30 * timedelta(minutes=1), 1800.0, 0), T
    )
    store.metrics.save_topic_stats(
        [
            TopicStats("weibo", "平凡大连人", T - 25 * h, views=1_000_000, discussions=5_000),
            TopicStats("weibo", "平凡大连人", T - h, views=1_350_000, discussions=5_600),
        ]
    )
    # a citizen's post taking off, with a negative thread under it
    created = T - 3 * h
    store.content.save_posts(
        [
            post(
                "P1",
                author_id=USER,
                created_at=created,
                observed_at=created,
                likes=0,
                comments=0,
                reposts=0,
                text="今天星海广场的活动 #平凡大连人#",
            )
        ]
    )
    store.content.save_posts(
        [
            post(
                "P1",
                author_id=USER,
                created_at=created,
                observed_at=T - 10 * timedelta(minutes=1),
                likes=500,
                comments=12,
                reposts=20,
                text="今天星海广场的活动 #平凡大连人#",
            )
        ]
    )
    negatives = [
        comment(
            f"C{i:02d}",
            post_id="P1",
            text=text,
            likes=50 - i,
            author_id=f"30000000{i:02d}",
            created_at=T - 2 * h + i * timedelta(minutes=1),
            observed_at=T - h,
        )
        for i, text in enumerate(NEGATIVE_TEXTS, 1)
    ]
    positives = [
        comment(
            f"C{i:02d}",
            post_id="P1",
            text="星海广场真美",
            likes=1,
            author_id=f"31000000{i:02d}",
            created_at=T - 2 * h + i * timedelta(minutes=1),
            observed_at=T - h,
        )
        for i in range(9, 13)
    ]
    store.content.save_comments(negatives + positives)
    store.content.set_comment_scores(
        [("weibo", c.id, 0.1, "negative", "m1") for c in negatives]
        + [("weibo", c.id, 0.9, "positive", "m1") for c in positives]
    )
    # the partners: a Weibo post three days old still gaining, a Douyin video with plays
    for at, likes in ((T - 72 * h, 50), (T - 48 * h, 100), (T - h, 400)):
        store.content.save_posts(
            [
                post(
                    "K1",
                    author_id=KOL_WEIBO,
                    author_name="大连身边事",
                    author_kind="kol",
                    created_at=T - 72 * h,
                    observed_at=at,
                    likes=likes,
                    comments=40,
                    reposts=10,
                    text="身边的平凡人",
                )
            ]
        )
    store.content.save_posts(
        [
            post(
                "V1",
                platform="douyin",
                author_id=KOL_DOUYIN,
                author_name="大连美食探店",
                author_kind="kol",
                created_at=T - 48 * h,
                observed_at=T - 2 * h,
                plays=120_000,
                likes=3_000,
                comments=200,
                shares=100,
                reposts=None,
                text="大连海鲜市场探店",
            )
        ]
    )
    store.metrics.save_accounts(
        [
            Account("weibo", KOL_WEIBO, "大连身边事", T - 8 * 24 * h, followers=10_000, kind="kol"),
            Account("weibo", KOL_WEIBO, "大连身边事", T - h, followers=10_600, kind="kol"),
            Account("douyin", KOL_DOUYIN, "大连美食探店", T - h, followers=50_000, kind="kol"),
        ]
    )
    # UGC: a nomination, a good photo, and one below the bar
    ugc = [
        ("U1", "推荐我们小区的环卫工人刘阿姨，每天五点就开始清扫 #平凡大连人#", 0.85),
        ("U2", "记录大连的日出，致敬早起的人 #平凡大连人#", 0.75),
        ("U3", "今天天气不错", 0.3),
    ]
    for post_id, text, _ in ugc:
        store.content.save_posts(
            [
                post(
                    post_id,
                    author_id="2000000099",
                    author_name="海边的小王",
                    created_at=T - 30 * h,
                    observed_at=T - 26 * h,
                    text=text,
                )
            ]
        )
    store.content.set_ugc_scores([("weibo", post_id, score) for post_id, _, score in ugc])
    # the comments the model is least sure about, on an old post
    store.content.save_posts(
        [post("P9", created_at=T - 100 * h, observed_at=T - 99 * h, text="老帖子")]
    )
    unsure = [("L1", "还行吧，就那样", 0.52), ("L2", "人挺多的", 0.45), ("L3", "不知道说啥", 0.62)]
    store.content.save_comments(
        [
            comment(cid, post_id="P9", text=text, created_at=T - 90 * h, observed_at=T - 89 * h)
            for cid, text, _ in unsure
        ]
    )
    store.content.set_comment_scores([("weibo", cid, p, "neutral", "m1") for cid, _, p in unsure])


# --- running the bot ---------------------------------------------------------------------


@asynccontextmanager
async def bot_running(
    fake: FakeServices,
    store: Store,
    config: Config,
    *,
    env: dict[str, str] = ENV,
    clock: Callable[[], datetime] | None = None,
    digest: Callable[[datetime], Awaitable[str]] | None = None,
) -> AsyncIterator[asyncio.Task[None]]:
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_bot(config, store, stop, now=clock or Clock(), env=env, digest=digest)
    )
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)  # a hang guard


@asynccontextmanager
async def team(tmp_path: Path, **changes: Any) -> AsyncIterator[tuple[FakeServices, Store]]:
    async with FakeServices() as fake:
        with Store.open(tmp_path / "pingfan.db") as store:
            seed(store)
            async with bot_running(fake, store, make_config(fake, tmp_path, **changes)):
                yield fake, store


async def ask(fake: FakeServices, text: str, **sender: Any) -> dict[str, Any]:
    """Send `text` as a person would; the bot's next message in that chat."""
    chat_id = sender.get("chat_id", CHAT_ID)
    before = len(fake.bot_messages(chat_id))
    fake.tg_message(text, **sender)
    await fake.wait_until(lambda: len(fake.bot_messages(chat_id)) > before)
    return fake.bot_messages(chat_id)[before]


async def press(fake: FakeServices, message: dict[str, Any], data: str, **kw: Any) -> dict:
    """Press a button; the bot's answer to the press (the message may have changed too)."""
    before = len(fake.answers())
    fake.tg_press(message, data, **kw)
    await fake.wait_until(lambda: len(fake.answers()) > before)
    return fake.answers()[before]


def buttons(message: dict[str, Any]) -> list[str]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [button["callback_data"] for row in rows for button in row]


def button_texts(message: dict[str, Any]) -> dict[str, str]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return {button["callback_data"]: button["text"] for row in rows for button in row}


def current(fake: FakeServices, message: dict[str, Any]) -> dict[str, Any]:
    return fake.tg_messages[(message["chat"]["id"], message["message_id"])]


# --- commands ----------------------------------------------------------------------------


async def test_status_per_platform_from_the_store(tmp_path: Path) -> None:
    async with team(tmp_path) as (fake, _):
        reply = await ask(fake, "/status")
    text = reply["text"]
    weibo, douyin = text.split("抖音")
    assert "采集状态 · 2019-08-16 14:00" in weibo
    assert "微博：✅ 正常" in weibo
    assert "最近一次成功采集：2019-08-16 13:55（5 分钟前）" in weibo
    assert "今日（Asia/Shanghai）帖子 1，评论 12" in weibo  # P1 and its thread; U1-U3 are older
    assert "#平凡大连人# 阅读 1,350,000，24 小时 +350,000" in weibo
    assert "⛔ 已暂停采集（HTTP 432），2019-08-16 14:30 后试探恢复" in douyin
    assert "2019-08-16 11:00（3 小时前）" in douyin
    assert "尚无话题读数" in douyin
    assert {"type": "bold", "offset": 0, "length": 4} in reply["entities"]  # HTML, parsed


async def test_status_shows_comment_shares_with_an_interval(tmp_path: Path) -> None:
    async with team(tmp_path) as (fake, store):
        reply = await ask(fake, "/status")
        rows = store.reports.comment_probabilities(since=T - timedelta(days=1))
    shares = comment_shares(rows, default_model().metrics)  # the config's model: "default"
    n = len(rows)
    assert shares is not None and n == 12  # the scored thread under P1
    line = next(line for line in reply["text"].splitlines() if "评论情绪" in line)
    assert f"近 24 小时评论情绪（{n} 条" in line
    for share, name in zip(shares, ("正面", "中性", "负面"), strict=True):
        assert format_share(name, share) in line  # mean probability, not a count of labels
        assert share.low <= share.estimate <= share.high


async def test_top_ranks_posts_by_interactions_gained_in_the_window(tmp_path: Path) -> None:
    async with team(tmp_path) as (fake, _):
        day = await ask(fake, "/top")
        week = await ask(fake, "/top 7d")
        bad = await ask(fake, "/top soon")
    lines = day["text"].splitlines()
    assert lines[0] == "热门帖子 · 近 24 小时互动增长"
    # P1: 532 since it was posted; K1: 450 now against 150 at the last reading before
    assert lines[1] == "1. 微博 · 海*** · +532 互动"
    assert lines[4] == "2. 微博 · 大连身边事 · +300 互动"
    # V1 was first read inside the window, long after it was posted: no gain measured yet
    assert "大连美食探店" not in day["text"]
    links = [e["url"] for e in day["entities"] if e["type"] == "text_link"]
    assert links == ["https://m.weibo.cn/detail/P1", "https://m.weibo.cn/detail/K1"]
    # over 7 days both partner posts were posted inside the window: all they have counts
    assert "1. 抖音 · 大连美食探店 · +3,300 互动" in week["text"]
    assert "播放 120,000" in week["text"]
    assert "2. 微博 · 海*** · +532 互动" in week["text"]
    assert "3. 微博 · 大连身边事 · +450 互动" in week["text"]
    assert bad["text"] == "时长 soon 不可用：请写 1 小时到 30 天之间的时长，如 6h、24h、7d。"


async def test_negative_shows_share_terms_and_a_representative_comment(tmp_path: Path) -> None:
    async with team(tmp_path) as (fake, _):
        reply = await ask(fake, "/negative")
    text = reply["text"]
    assert "负面帖子 · 近 24 小时（至少 5 条已评分评论，负面占比 ≥ 35%）" in text
    assert "1. 微博 · 海*** · 负面 67%（8/12）" in text
    assert "「今天星海广场的活动 #平凡大连人#」" in text
    terms = next(line for line in text.splitlines() if "关键词" in line)
    assert "排队" in terms
    # the most liked negative comment, its author masked
    assert "代表评论：3***（赞 49）「排队两个小时，太坑了，我要投诉」" in text
    assert "3000000001" not in text
    assert [e["url"] for e in reply["entities"] if e["type"] == "text_link"] == [
        "https://m.weibo.cn/detail/P1"
    ]


async def test_ugc_lists_nominations_first_with_links(tmp_path: Path) -> None:
    async with team(tmp_path) as (fake, _):
        reply = await ask(fake, "/ugc")
    text = reply["text"]
    assert text.splitlines()[0] == "值得感谢或展示的 UGC · 近 7 天（评分 ≥ 0.7 或含提名）"
    assert "1. 微博 · 海*** · 评分 0.85 · 提名：环卫工人刘阿姨" in text
    assert "2. 微博 · 海*** · 评分 0.75" in text
    assert "今天天气不错" not in text  # 0.3, no nomination
    links = [e["url"] for e in reply["entities"] if e["type"] == "text_link"]
    assert links == ["https://m.weibo.cn/detail/U1", "https://m.weibo.cn/detail/U2"]


async def test_kol_leaderboard(tmp_path: Path) -> None:
    async with team(tmp_path) as (fake, _):
        reply = await ask(fake, "/kol")
    lines = reply["text"].splitlines()
    assert lines[0] == "合作 KOL 榜单 · 近 7 天"
    assert lines[1] == "1. 大连美食探店（抖音）：发布 1"
    # 3,300 interactions per upload over 50,000 followers; no earlier follower count
    assert lines[2] == "   播放 120,000 · 赞 3,000 · 评论 200 · 互动率 6.60% · 粉丝 –"
    assert lines[3] == "2. 大连身边事（微博）：发布 1"
    assert lines[4] == "   播放 – · 赞 400 · 评论 40 · 互动率 4.25% · 粉丝 +600"
    assert "互动率 = 每条发布的平均互动" in lines[5]


async def test_digest_says_it_is_not_built_until_a_digest_is_given(tmp_path: Path) -> None:
    async with team(tmp_path) as (fake, _):
        reply = await ask(fake, "/digest")
    assert reply["text"].startswith("周报功能尚未完成")

    async def digest(at: datetime) -> str:
        return f"本周周报 {at:%Y-%m-%d}\n<b>不是标记</b>"

    async with FakeServices() as fake:
        with Store.open(tmp_path / "other.db") as store:
            config = make_config(fake, tmp_path)
            async with bot_running(fake, store, config, digest=digest):
                reply = await ask(fake, "/digest")
    assert reply["text"] == "本周周报 2019-08-16\n<b>不是标记</b>"
    assert reply["entities"] == []


async def test_help_in_english_and_the_command_menu(tmp_path: Path) -> None:
    async with team(tmp_path, language="en") as (fake, _):
        reply = await ask(fake, "/help")
        status = await ask(fake, "/status@pingfan_test_bot")
        unknown = await ask(fake, "/frobnicate")
        fake.tg_message("/status@some_other_bot")  # not ours: no answer...
        after = await ask(fake, "/kol 30d")  # ...as the next answer shows
    assert reply["text"].startswith("pingfan bot\n/status collection per platform")
    assert "/label label the comment the model is least sure about" in reply["text"]
    assert status["text"].startswith("Collection status · 2019-08-16 14:00")
    assert "Weibo: ✅ running" in status["text"]
    assert unknown["text"] == "Unknown command; /help lists them."
    assert after["text"].startswith("Partner KOLs · last 30 d")
    menu = [item["command"] for item in fake.tg_commands]
    assert menu == [
        "status",
        "top",
        "negative",
        "ugc",
        "kol",
        "digest",
        "label",
        "mute",
        "unmute",
        "help",
    ]


async def test_mute_and_unmute_commands(tmp_path: Path) -> None:
    async with team(tmp_path) as (fake, store):
        store.outbox.enqueue_alert(
            AlertRecord(
                "negative_thread",
                "warning",
                "负面舆情",
                "…",
                "neg:weibo:P1",
                T,
                platform="weibo",
                subject_id="P1",
            )
        )
        muted = await ask(fake, "/mute #1 2d")
        assert store.outbox.active_mutes(T + timedelta(days=1)) == {("weibo", "P1")}
        assert store.outbox.active_mutes(T + timedelta(days=2, seconds=1)) == set()
        by_id = await ask(fake, "/mute K1 6h", user=BOB)
        listed = await ask(fake, "/mute")
        unmuted = await ask(fake, "/unmute weibo:P1")
        again = await ask(fake, "/unmute #1")
        unknown = await ask(fake, "/mute X404")
        bad = await ask(fake, "/mute #1 forever")
        assert store.outbox.active_mutes(T) == {("weibo", "K1")}
    assert muted["text"] == "已静音 提醒 #1 的对象（微博 P1），至 2019-08-18 14:00。"
    assert by_id["text"] == "已静音 微博 K1，至 2019-08-16 20:00。"
    assert listed["text"].splitlines() == [
        "静音中",
        "· 微博 K1 至 2019-08-16 20:00（Bob Li）",
        "· 微博 P1 至 2019-08-18 14:00（Alice）",
    ]
    assert unmuted["text"] == "已取消静音：微博 P1。"
    assert again["text"] == "提醒 #1 的对象（微博 P1） 没有在静音。"
    assert unknown["text"].startswith("找不到 X404")
    assert bad["text"].startswith("时长 forever 不可用")


async def test_replies_escape_user_text_and_stay_within_the_limit(tmp_path: Path) -> None:
    async with FakeServices() as fake:
        with Store.open(tmp_path / "pingfan.db") as store:
            evil = '</b><a href="http://evil.example">点我</a> @all tg://x ' + "长" * 300
            for n in range(40):
                store.content.save_posts(
                    [
                        post(
                            f"E{n}",
                            created_at=T - timedelta(hours=1),
                            observed_at=T,
                            likes=1000 - n,
                            text=evil,
                        )
                    ]
                )
            async with bot_running(fake, store, make_config(fake, tmp_path)):
                reply = await ask(fake, "/top")
    assert utf16(reply["text"]) <= MESSAGE_LIMIT
    assert '</b><a href="hxxp[:]//evil[.]example">点我</a>' in reply["text"]  # shown as text
    urls = {e.get("url") for e in reply["entities"] if e["type"] == "text_link"}
    assert urls == {f"https://m.weibo.cn/detail/E{n}" for n in range(len(urls))}
    assert not [e for e in reply["entities"] if e["type"] in ("mention", "url")]


# --- /label ------------------------------------------------------------------------------


async def test_label_stores_each_press_and_shows_the_next_comment(tmp_path: Path) -> None:
    async with team(tmp_path) as (fake, store):
        card = await ask(fake, "/label")
        first = card["text"]
        pk = store.team.stored_comment("weibo", "L1").pk  # type: ignore[union-attr]
        assert buttons(card) == [f"lq:{pk}:p", f"lq:{pk}:u", f"lq:{pk}:n", f"lq:{pk}:s"]
        assert list(button_texts(card).values()) == ["正面", "中性", "负面", "跳过"]
        answer = await press(fake, card, f"lq:{pk}:n")
        second = current(fake, card)
        skip_pk = store.team.stored_comment("weibo", "L2").pk  # type: ignore[union-attr]
        skipped = await press(fake, second, f"lq:{skip_pk}:s", user=BOB)
        third = current(fake, card)
        rows = list(store.query("SELECT platform, comment_id, text, label, given_by FROM labels"))
        skips = list(store.query("SELECT platform, comment_id, skipped_by FROM label_skips"))
        fresh = await ask(fake, "/label")  # a new card starts after what is done
        negative_comments = store.reports.label_counts()["negative"]
    assert "情感标注 · 模型最拿不准的一条" in first
    assert "「还行吧，就那样」" in first
    assert "0.52" in next(line for line in first.splitlines() if line.startswith("模型：正面"))
    assert "所在帖子：「老帖子」" in first and "团队已标注 0 条" in first
    assert answer == {
        "callback_query_id": answer["callback_query_id"],
        "text": "已记录：负面",
        "show_alert": False,
    }
    assert rows == [
        {
            "platform": "weibo",
            "comment_id": "L1",
            "text": "还行吧，就那样",
            "label": "negative",
            "given_by": "telegram:1001",
        }
    ]
    assert negative_comments == 9  # the comment's own label followed
    assert second["text"].startswith("✓ 上一条已记为「负面」\n情感标注")
    assert "「人挺多的」" in second["text"] and "团队已标注 1 条" in second["text"]
    assert skipped["text"] == "跳过"
    assert skips == [{"platform": "weibo", "comment_id": "L2", "skipped_by": "telegram:1002"}]
    assert third["text"].startswith("上一条已跳过\n情感标注")
    assert "「不知道说啥」" in third["text"]
    assert "「不知道说啥」" in fresh["text"]


async def test_label_runs_out_politely(tmp_path: Path) -> None:
    async with FakeServices() as fake:
        with Store.open(tmp_path / "pingfan.db") as store:
            store.content.save_comments([comment("ONLY", text="一般般")])
            store.content.set_comment_scores([("weibo", "ONLY", 0.5, "neutral", "m1")])
            async with bot_running(fake, store, make_config(fake, tmp_path)):
                card = await ask(fake, "/label")
                pk = store.team.stored_comment("weibo", "ONLY").pk  # type: ignore[union-attr]
                await press(fake, card, f"lq:{pk}:u")
                done = current(fake, card)
                empty = await ask(fake, "/label")
            assert store.labels.labels() == [("一般般", "neutral")]
    assert done["text"] == "✓ 上一条已记为「中性」\n暂时没有待标注的评论，谢谢！"
    assert "reply_markup" not in done
    assert empty["text"] == "暂时没有待标注的评论，谢谢！"


# --- buttons on alerts -------------------------------------------------------------------


async def send_alert(fake: FakeServices, store: Store, config: Config) -> dict[str, Any]:
    """A negative-thread alert quoting two stored comments, sent by the Telegram sink."""
    samples = [
        {"id": "C01", "author": "3***", "likes": 49, "text": "排队两个小时，太坑了，我要投诉"},
        {"id": "C02", "author": "3***", "likes": 48, "text": "排队太久了，组织太差"},
    ]
    store.outbox.enqueue_alert(
        AlertRecord(
            kind="negative_thread",
            severity="warning",
            title="负面舆情：微博帖子负面占比 67%（12 条评论）",
            text="代表评论：\n· 3***（赞 49）：「排队两个小时，太坑了，我要投诉」",
            dedupe_key="negative_thread:weibo:P1:2019-08-16",
            created_at=T,
            platform="weibo",
            subject_id="P1",
        ),
        url="https://m.weibo.cn/detail/P1",
        evidence={"post": {"platform": "weibo", "id": "P1"}, "samples": samples},
    )
    async with Dispatcher(config, store, clock=Clock(), env=ENV) as dispatcher:
        await dispatcher.dispatch_pending()
    return fake.bot_messages()[-1]


async def test_alert_buttons_acknowledge_mute_and_label(tmp_path: Path) -> None:
    async with FakeServices() as fake:
        with Store.open(tmp_path / "pingfan.db") as store:
            seed(store)
            config = make_config(fake, tmp_path)
            alert = await send_alert(fake, store, config)
            assert buttons(alert) == [
                "ack:1",
                "mute:1",
                "lab:1:0:p",
                "lab:1:0:u",
                "lab:1:0:n",
                "lab:1:1:p",
                "lab:1:1:u",
                "lab:1:1:n",
            ]
            assert button_texts(alert)["lab:1:1:p"] == "第2条：正面"
            async with bot_running(fake, store, config):
                acked = await press(fake, alert, "ack:1", user=BOB)
                after_ack = current(fake, alert)
                muted = await press(fake, alert, "mute:1")
                after_mute = current(fake, alert)
                mutes = store.team.mutes_at(T)
                unmuted = await press(fake, alert, "unmute:1")
                after_unmute = current(fake, alert)
                labelled = await press(fake, alert, "lab:1:0:p")
                relabelled = await press(fake, alert, "lab:1:0:n")
                after_label = current(fake, alert)
            ack = store.team.alert_ack(1)
            labels = list(store.query("SELECT comment_id, label, text FROM labels ORDER BY pk"))
            active_after = store.outbox.active_mutes(T)
    # acknowledged: the message says who and when, and the button is gone
    assert acked["text"] == "已确认"
    assert after_ack["text"].endswith("\n✅ Bob Li 于 2019-08-16 14:00 确认")
    assert after_ack["text"].startswith(alert["text"])
    assert after_ack["entities"][: len(alert["entities"])] == alert["entities"]  # markup kept
    assert "ack:1" not in buttons(after_ack)
    assert ack is not None and (ack.by, ack.by_id, ack.at) == ("Bob Li", "1002", T)
    # muted for 24 h, and the button offers the undo
    assert muted["text"] == "已静音至 08-17 14:00；再按一次取消"
    assert [(m.platform, m.subject_id, m.until, m.muted_by) for m in mutes] == [
        ("weibo", "P1", T + timedelta(days=1), "Alice")
    ]
    assert button_texts(after_mute)["unmute:1"] == "🔕 静音至 08-17 14:00 · 取消"
    assert unmuted["text"] == "已取消静音"
    assert active_after == set()
    assert button_texts(after_unmute)["mute:1"] == "静音 24 小时"
    # a label on a quoted comment: stored with its full text, the choice checked on its row
    assert labelled["text"] == "已记录：正面" and relabelled["text"] == "已记录：负面"
    assert labels == [
        {"comment_id": "C01", "label": "positive", "text": "排队两个小时，太坑了，我要投诉"},
        {"comment_id": "C01", "label": "negative", "text": "排队两个小时，太坑了，我要投诉"},
    ]
    texts = button_texts(after_label)
    assert (texts["lab:1:0:p"], texts["lab:1:0:n"]) == ("第1条：正面", "✓ 负面")
    assert texts["lab:1:1:n"] == "负面"


async def test_a_second_acknowledgement_names_the_first(tmp_path: Path) -> None:
    async with FakeServices() as fake:
        with Store.open(tmp_path / "pingfan.db") as store:
            seed(store)
            config = make_config(fake, tmp_path)
            alert = await send_alert(fake, store, config)
            store.team.ack_alert(1, by="Carol", by_id="1003", at=T - timedelta(minutes=30))
            async with bot_running(fake, store, config):
                answer = await press(fake, alert, "ack:1")
            edited = current(fake, alert)
    assert answer["text"] == "Carol 已于 2019-08-16 13:30 确认"
    assert edited["text"].endswith("✅ Carol 于 2019-08-16 13:30 确认")


# --- who may use it ----------------------------------------------------------------------


async def test_strangers_get_one_refusal_and_nothing_from_the_store(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with team(tmp_path) as (fake, store):
        stranger = {"chat_id": STRANGER_CHAT_ID, "user": MALLORY}
        refusal = await ask(fake, "/status 秘密口令", **stranger)
        fake.tg_message("/negative 秘密口令", **stranger)  # the same chat again: no answer
        private = await ask(fake, "/kol", chat_id=MALLORY["id"], chat_type="private", user=MALLORY)
        # a listed person in an unlisted group: the group would read the answer
        other = -1008888888888
        elsewhere = await ask(fake, "/status", chat_id=other, user=BOB)
        # the team's group and a listed person's private chat are answered
        ok = await ask(fake, "/help", user=MALLORY)
        bob = await ask(fake, "/status", chat_id=BOB["id"], chat_type="private", user=BOB)
        stranger_messages = fake.bot_messages(STRANGER_CHAT_ID)
        # a button pressed in a stranger's chat changes nothing either
        forged = {
            **refusal,
            "reply_markup": {"inline_keyboard": [[{"text": "负面", "callback_data": "lab:1:0:n"}]]},
        }
        fake.tg_messages[(STRANGER_CHAT_ID, refusal["message_id"])] = forged
        pressed = await press(fake, forged, "lab:1:0:n", user=MALLORY)
        labels = store.labels.labels()
    text = "抱歉，这个机器人只为本项目的运营团队服务，这里无法使用。"
    assert [m["text"] for m in stranger_messages] == [text]
    assert refusal["text"] == private["text"] == elsewhere["text"] == text
    assert ok["text"].startswith("平凡监测机器人")
    assert bob["text"].startswith("采集状态")
    assert pressed == {
        "callback_query_id": pressed["callback_query_id"],
        "text": "抱歉，只有运营团队可以使用这些按钮。",
        "show_alert": True,
    }
    assert labels == []
    refusals = [r.getMessage() for r in caplog.records if r.getMessage().startswith("refused")]
    assert len(refusals) == 5  # each refused update is logged, answered or not
    assert f"from chat {STRANGER_CHAT_ID} (supergroup), user {MALLORY['id']}" in refusals[0]
    assert "秘密口令" not in caplog.text and "lab:1:0:n" not in caplog.text


async def test_forged_and_stale_presses_are_refused(tmp_path: Path) -> None:
    async with FakeServices() as fake:
        with Store.open(tmp_path / "pingfan.db") as store:
            seed(store)
            config = make_config(fake, tmp_path)
            alert = await send_alert(fake, store, config)
            async with bot_running(fake, store, config):
                # data our buttons never carry, or not on this message's keyboard
                made_up = await press(fake, alert, "lab:1:7:n")
                other_alert = await press(fake, alert, "ack:2")
                garbage = await press(fake, alert, "x" * 64)
                # a client still showing the acknowledge button after someone pressed it
                await press(fake, alert, "ack:1")
                assert "ack:1" not in buttons(current(fake, alert))
                gone = await press(fake, alert, "ack:1")
                # a /label card whose comment the retention purge took meanwhile
                card = await ask(fake, "/label")
                store.content.purge_expired_comments(1, now=T)
                stale = await press(fake, card, buttons(card)[0])
            labels = store.labels.labels()
            acks = list(store.query("SELECT alert_id FROM alert_acks"))
    refused = "这个按钮已失效或无效，已拒绝。"
    for answer in (made_up, other_alert, garbage, gone):
        assert (answer["text"], answer["show_alert"]) == (refused, True)
    assert stale["text"] == "这个按钮已失效（对应的提醒或评论已不在库中），已拒绝。"
    assert labels == [] and acks == [{"alert_id": 1}]


# --- the token, start and stop ------------------------------------------------------------


async def test_the_token_appears_in_no_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with team(tmp_path) as (fake, _):
        await ask(fake, "/status")
        card = await ask(fake, "/label")
        await press(fake, card, buttons(card)[0])
    # a rejected token: python-telegram-bot's own error names it
    async with FakeServices() as fake:
        with Store.open(tmp_path / "other.db") as store:
            config = make_config(fake, tmp_path, bot={"token_env": "PF_WRONG"})
            wrong = "999:wrong-token-value"
            async with bot_running(fake, store, config, env={"PF_WRONG": wrong}) as task:
                await asyncio.wait_for(task, 30)
            assert task.result() is None  # the bot stays off; the daemon goes on
    lines = [record.getMessage() for record in caplog.records]
    assert any("bot***/getUpdates" in line for line in lines)  # httpx logged the URLs
    assert any("refused the token in $PF_WRONG" in line for line in lines)
    for secret in (TELEGRAM_TOKEN, wrong, "wrong-token-value"):
        assert secret not in caplog.text
        assert not [line for line in lines if secret in line]


async def test_stop_confirms_what_was_fetched_and_a_restart_answers_only_new(
    tmp_path: Path,
) -> None:
    async with FakeServices() as fake:
        with Store.open(tmp_path / "pingfan.db") as store:
            config = make_config(fake, tmp_path)
            async with bot_running(fake, store, config) as task:
                await ask(fake, "/help")
                last = fake.tg_message("/help")
                await fake.wait_until(lambda: len(fake.bot_messages()) == 2)
            assert task.done() and task.exception() is None
            assert fake.tg_confirmed == last  # the last getUpdates confirmed both
            async with bot_running(fake, store, config):
                reply = await ask(fake, "/ugc")
            assert [m["text"].split("\n")[0] for m in fake.bot_messages()] == [
                "平凡监测机器人",
                "平凡监测机器人",
                reply["text"].split("\n")[0],
            ]


async def test_an_unreachable_api_is_retried_until_stop(tmp_path: Path) -> None:
    async with FakeServices() as fake:
        with Store.open(tmp_path / "pingfan.db") as store:
            fake.down.add("telegram")
            config = make_config(fake, tmp_path)
            async with bot_running(fake, store, config) as task:
                await fake.wait_until(lambda: fake.requests["telegram"] >= 1)
            assert task.exception() is None  # stopped while waiting to retry


async def test_disabled_bot_returns_and_a_missing_token_is_a_config_error(tmp_path: Path) -> None:
    from monitor.errors import ConfigError

    async with FakeServices() as fake:
        with Store.open(tmp_path / "pingfan.db") as store:
            off = make_config(fake, tmp_path, bot={"enabled": False})
            await run_bot(off, store, asyncio.Event(), now=Clock(), env={})
            with pytest.raises(ConfigError, match=r"\$PF_TEST_TELEGRAM is not set"):
                await run_bot(
                    make_config(fake, tmp_path), store, asyncio.Event(), now=Clock(), env={}
                )
    assert fake.requests["telegram"] == 0
