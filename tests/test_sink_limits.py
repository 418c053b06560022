"""Sinks keep to each service's limits (issue 22, item 5): every message the service receives
counts against the sink's budget, Telegram gets at most one message a second per chat and 20
a minute per group, and a throttled DingTalk or WeCom robot pauses its sink for 10 minutes.
All on the dispatcher's virtual clock: nothing here waits on the wall."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

from alerts.dispatch import Dispatcher, DispatchReport
from alerts.sinks import Meter
from monitor.config import Config, config_from_dict
from monitor.models import AlertRecord
from monitor.store import Store
from tests.support.alerts import AT, Clock, alert, sink_entries
from tests.support.fake_services import CHAT_ID, FakeServices

PRIVATE_CHAT = 424242  # a person's chat: positive id, no per-minute limit
LONG_TEXT = "\n".join(f"· 第 {i} 行：" + "很长的评论内容" * 8 for i in range(300))


def enqueue(store: Store, *alerts: AlertRecord, evidence: dict[str, Any] | None = None) -> None:
    for item in alerts:
        store.outbox.enqueue_alert(item, url=f"https://m.weibo.cn/detail/{item.subject_id}",
                            evidence=evidence or {"n": 1})  # fmt: skip


@dataclass
class Rig:
    fake: FakeServices
    store: Store
    clock: Clock
    tmp_path: Path

    def config(self, *types: str, chat_ids: tuple[int, ...] = (CHAT_ID,)) -> Config:
        entries = sink_entries(self.fake, self.tmp_path, types)
        for entry in entries:
            if entry["type"] == "telegram":
                entry["chat_ids"] = list(chat_ids)
        return config_from_dict({"sinks": entries}, self.tmp_path / "config.toml")

    async def dispatch(self, config: Config) -> DispatchReport:
        async with Dispatcher(
            config, self.store, clock=self.clock, sleep=self.clock.sleep, env=self.fake.env()
        ) as dispatcher:
            return await dispatcher.dispatch_pending()


@asynccontextmanager
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    clock = Clock()
    async with FakeServices(clock=clock) as fake:
        fake.chats.add(PRIVATE_CHAT)
        with Store.open(tmp_path / "pingfan.db") as store:
            yield Rig(fake, store, clock, tmp_path)


def received_at(fake: FakeServices, chat_id: int) -> list[datetime]:
    """When each message and document reached the chat, in the order they arrived."""
    items = fake.received["telegram"] + fake.received["telegram_documents"]
    return sorted(item["received_at"] for item in items if item["chat"]["id"] == chat_id)


def assert_within_telegram_limits(moments: list[datetime], *, group: bool) -> None:
    assert moments, "nothing was sent"
    for earlier, later in pairwise(moments):
        assert later - earlier >= timedelta(seconds=1)  # one a second per chat
    if group:
        for index, start in enumerate(moments):
            in_minute = [m for m in moments[index:] if m < start + timedelta(minutes=1)]
            assert len(in_minute) <= 20  # 20 a minute per group


async def test_the_dispatchers_counts_equal_the_messages_the_services_received(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r:
        page = tmp_path / "2019-W33.html"
        page.write_text("<html><body>周报</body></html>", encoding="utf-8")
        config = r.config("telegram", "wecom", "dingtalk", "feishu", "webhook")
        enqueue(r.store, alert(1), alert(2, text=LONG_TEXT))
        digest = alert(3, kind="digest", severity="info", dedupe_key="digest:2019-W33",
                       subject_id="2019-W33", title="第 33 周周报")  # fmt: skip
        enqueue(r.store, digest, evidence={"week": "2019-W33", "files": {"html": str(page)}})
        reports = [await r.dispatch(config)]
        r.clock.advance(minutes=5)
        enqueue(r.store, *(alert(n) for n in range(4, 30)))  # a burst: coalesced where limited
        reports.append(await r.dispatch(config))

        counted: dict[str, int] = {}
        for report in reports:
            for label, n in report.messages.items():
                counted[label] = counted.get(label, 0) + n
        tg = f"telegram:PF_TEST_TELEGRAM:{CHAT_ID}"
        received = {
            tg: len(r.fake.received["telegram"]) + len(r.fake.received["telegram_documents"]),
            "wecom:PF_TEST_WECOM": len(r.fake.received["wecom"]),
            "dingtalk:PF_TEST_DINGTALK": len(r.fake.received["dingtalk"]),
            "feishu:PF_TEST_FEISHU": len(r.fake.received["feishu"]),
            "webhook:PF_TEST_WEBHOOK": len(r.fake.received["webhook"]),
        }
        assert counted == received
        # the long alert went in several parts, the digest as a message and its page
        assert len(r.fake.received["telegram_documents"]) == 1
        first_round = reports[0].messages
        assert first_round[tg] > 4 and first_round["wecom:PF_TEST_WECOM"] == 3
        # the burst: Telegram's minute held fewer single alerts than WeCom's, because the
        # parts of the long alert counted against it (at most 20 a minute in both)
        assert r.store.outbox.sent_since(tg, AT) == received[tg]
        assert sum(1 for t in r.fake.texts("wecom") if "已合并" in t) == 1
        limited = [tg, "wecom:PF_TEST_WECOM", "dingtalk:PF_TEST_DINGTALK"]
        assert all(reports[1].messages[label] <= 20 for label in limited)


async def test_a_long_alert_to_a_group_keeps_one_a_second_and_twenty_a_minute(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r:
        config = r.config("telegram")
        very_long = "\n".join([LONG_TEXT] * 12)  # ~ 30 parts of 4,096
        enqueue(r.store, alert(1, text=very_long), alert(2))
        report = await r.dispatch(config)
        parts = r.fake.received["telegram"]
        assert len(parts) > 20 and report.messages == {
            f"telegram:PF_TEST_TELEGRAM:{CHAT_ID}": len(parts)
        }
        # sent whole and alone (not folded into a summary line); the next alert waits
        assert report.sent == 1 and report.coalesced == 0
        assert sum(r.clock.slept) >= 60  # over 20 parts: the second minute was waited for
        # a restart at once: the outbox remembers the minute's messages
        assert r.store.outbox.sent_since(report_label := f"telegram:PF_TEST_TELEGRAM:{CHAT_ID}",
                                  r.clock.now - timedelta(minutes=1)) > 0  # fmt: skip
        assert (await r.dispatch(config)).messages == {}
        r.clock.advance(minutes=1, seconds=1)  # recorded when the last part went: conservative
        assert (await r.dispatch(config)).messages == {report_label: 1}
        assert r.fake.texts("telegram")[-1].startswith("【注意】负面舆情 2")
        assert_within_telegram_limits(received_at(r.fake, CHAT_ID), group=True)


async def test_a_burst_to_a_group_and_to_a_private_chat(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        config = r.config("telegram", chat_ids=(CHAT_ID, PRIVATE_CHAT))
        enqueue(r.store, *(alert(n) for n in range(1, 31)))
        report = await r.dispatch(config)
        group = received_at(r.fake, CHAT_ID)
        private = received_at(r.fake, PRIVATE_CHAT)
        assert len(group) == 20  # 19 alerts and one summary of the other 11
        assert len(private) == 30  # a person's chat: one a second, no minute limit
        assert report.coalesced == 11
        assert_within_telegram_limits(group, group=True)
        assert_within_telegram_limits(private, group=False)
        assert report.messages == {
            f"telegram:PF_TEST_TELEGRAM:{CHAT_ID}": 20,
            f"telegram:PF_TEST_TELEGRAM:{PRIVATE_CHAT}": 30,
        }


async def _throttled_robot_pauses_ten_minutes(
    tmp_path: Path, service: str, answer: dict[str, Any]
) -> None:
    async with rig(tmp_path) as r:
        config = r.config(service)
        r.fake.fail_next[service].append((200, answer))
        enqueue(r.store, alert(1), alert(2))
        report = await r.dispatch(config)
        assert report.failed == 1 and report.messages == {}
        tries = r.fake.requests[service]
        for _ in range(9):  # the daemon keeps calling, once a minute, from new processes too
            r.clock.advance(minutes=1)
            await r.dispatch(config)
        assert r.fake.requests[service] == tries  # paused: no request at all
        enqueue(r.store, alert(3))  # a newer alert does not overtake
        r.clock.advance(minutes=1, seconds=1)
        await r.dispatch(config)
        texts = r.fake.texts(service)
        assert [int(t.rsplit("#", 1)[1].split(" ", 1)[0]) for t in texts] == [1, 2, 3]


async def test_dingtalk_send_too_fast_pauses_the_sink_for_ten_minutes(tmp_path: Path) -> None:
    await _throttled_robot_pauses_ten_minutes(
        tmp_path, "dingtalk", {"errcode": 130101, "errmsg": "send too fast, exceed 20 times"}
    )


async def test_wecom_frequency_limit_pauses_the_sink_for_ten_minutes(tmp_path: Path) -> None:
    await _throttled_robot_pauses_ten_minutes(
        tmp_path, "wecom", {"errcode": 45009, "errmsg": "api freq out of limit"}
    )


async def test_the_meter_waits_on_the_clock_it_is_given() -> None:
    clock = Clock()
    meter = Meter(per_second=1, per_minute=3, clock=clock, sleep=clock.sleep)
    moments = []
    for _ in range(5):
        await meter.turn()
        meter.sent()
        moments.append(clock.now - AT)
    assert [m.total_seconds() for m in moments] == [0, 1, 2, 60, 61]
    assert meter.count == 5 and meter.in_last_minute() == 3
    free = Meter(clock=clock, sleep=clock.sleep)
    before = list(clock.slept)
    for _ in range(100):
        await free.turn()
        free.sent()
    assert clock.slept == before  # no limits, no waiting


async def test_a_clock_that_does_not_move_is_not_waited_on_for_ever() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)  # the clock below never moves

    meter = Meter(per_second=1, clock=lambda: AT, sleep=sleep)
    for _ in range(3):
        await meter.turn()
        meter.sent()
    assert meter.count == 3 and slept == [1.0, 1.0]
