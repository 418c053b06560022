"""The dispatcher against local fakes of every service: payloads, retries, outages, crashes,
rate limits, broken sinks, quiet hours, mutes, and secrets kept out of logs."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from alerts.dispatch import Dispatcher, DispatchReport, backoff, in_quiet_hours
from alerts.sinks import build_sinks
from monitor.config import Config, config_from_dict
from monitor.models import AlertRecord
from monitor.store import Store
from tests.support.alerts import ALL, AT, Clock, alert, sink_entries
from tests.support.fake_services import (
    CHAT_ID,
    DINGTALK_TOKEN,
    FEISHU_TOKEN,
    TELEGRAM_TOKEN,
    WECOM_KEY,
    FakeServices,
)

TAIL = "链接：https://m.weibo.cn/detail/P1\n#1 · negative_thread:weibo:P1:2019-08-16"


def make_config(
    fake: FakeServices, tmp_path: Path, types: tuple[str, ...] = ALL, **alerts: Any
) -> Config:
    return config_from_dict(
        {"sinks": sink_entries(fake, tmp_path, types), "alerts": alerts},
        tmp_path / "config.toml",
    )


def enqueue(store: Store, *alerts: AlertRecord) -> None:
    for item in alerts:
        store.outbox.enqueue_alert(
            item, url=f"https://m.weibo.cn/detail/{item.subject_id}", evidence={"n": 1}
        )


@dataclass
class Rig:
    fake: FakeServices
    store: Store
    clock: Clock
    tmp_path: Path

    @asynccontextmanager
    async def dispatcher(
        self, config: Config, env: dict[str, str] | None = None
    ) -> AsyncIterator[Dispatcher]:
        async with Dispatcher(
            config,
            self.store,
            clock=self.clock,
            sleep=self.clock.sleep,
            env=self.fake.env() if env is None else env,
        ) as dispatcher:
            yield dispatcher

    async def dispatch(self, config: Config, env: dict[str, str] | None = None) -> DispatchReport:
        async with self.dispatcher(config, env) as dispatcher:
            return await dispatcher.dispatch_pending()

    def jsonl(self) -> list[dict]:
        path = self.tmp_path / "alerts.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@asynccontextmanager
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with FakeServices() as fake:
        with Store.open(tmp_path / "pingfan.db") as store:
            yield Rig(fake, store, Clock(), tmp_path)


def footer_ids(texts: list[str]) -> list[int]:
    return [int(text.rsplit("#", 1)[1].split(" ", 1)[0]) for text in texts]


async def test_every_sink_receives_the_alert_in_its_own_shape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with rig(tmp_path) as r:
        enqueue(r.store, alert(1))
        report = await r.dispatch(make_config(r.fake, tmp_path))
        assert report == DispatchReport(sent=7, messages=dict.fromkeys(report.messages, 1))
        assert len(report.messages) == 7
        (tg,) = r.fake.received["telegram"]
        assert tg["text"].startswith("【注意】负面舆情 1\n第 1 条提醒")
        assert tg["chat"]["id"] == CHAT_ID
        assert [e["type"] for e in tg["entities"]] == ["bold", "text_link", "italic"]
        assert tg["entities"][1]["url"] == "https://m.weibo.cn/detail/P1"
        buttons = [b["callback_data"] for row in tg["reply_markup"]["inline_keyboard"] for b in row]
        assert buttons == ["ack:1", "mute:1"]
        (wecom,) = r.fake.received["wecom"]
        assert wecom["payload"]["msgtype"] == "text" and "mentioned_list" not in wecom["payload"]
        assert wecom["text"].endswith(TAIL)
        (ding,) = r.fake.received["dingtalk"]  # the fake checked the signature
        assert ding["payload"]["at"] == {"isAtAll": False, "atMobiles": [], "atUserIds": []}
        (feishu,) = r.fake.received["feishu"]  # signed too
        rows = feishu["payload"]["content"]["post"]["zh_cn"]["content"]
        assert [e for row in rows for e in row if e["tag"] != "text"] == [
            {"tag": "a", "text": "查看原帖", "href": "https://m.weibo.cn/detail/P1"}
        ]
        (hook,) = r.fake.received["webhook"]  # HMAC header checked
        (line,) = r.jsonl()
        for record in (hook["payload"], line):
            assert {k: record[k] for k in ("id", "kind", "severity", "platform", "subject_id")} == {
                "id": 1,
                "kind": "negative_thread",
                "severity": "warning",
                "platform": "weibo",
                "subject_id": "P1",
            }
            assert record["url"] == "https://m.weibo.cn/detail/P1"
            assert record["evidence"] == {"n": 1} and record["created_at"] == AT.isoformat()
        assert "【注意】负面舆情 1" in capsys.readouterr().out
        assert r.store.outbox.outbox_alert(1) is not None
        assert set(r.store.outbox.delivery_states(1).values()) == {"sent"}
        assert r.store.reports.alert_states() == {"sent": 1}


async def test_a_restart_never_resends_what_was_sent(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        config = make_config(r.fake, tmp_path, ("jsonl", "telegram"))
        enqueue(r.store, alert(1), alert(2))
        assert (await r.dispatch(config)).sent == 4
        r.clock.advance(minutes=5)
        assert (await r.dispatch(config)).sent == 0  # a new process
        enqueue(r.store, alert(3))
        assert (await r.dispatch(config)).sent == 2
        assert footer_ids(r.fake.texts("telegram")) == [1, 2, 3]
        assert [x["id"] for x in r.jsonl()] == [1, 2, 3]


async def test_a_sink_down_for_an_hour_gets_every_alert_afterwards_once_in_order(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r:
        config = make_config(r.fake, tmp_path, ("telegram", "wecom"))
        r.fake.down.add("wecom")
        async with r.dispatcher(config) as dispatcher:
            for n in range(1, 13):  # an alert every five minutes for an hour
                enqueue(r.store, alert(n, r.clock.now))
                report = await dispatcher.dispatch_pending()
                assert report.sent == 1  # Telegram is not held up by WeCom
                r.clock.advance(minutes=5)
            assert footer_ids(r.fake.texts("telegram")) == list(range(1, 13))
            assert r.fake.received["wecom"] == []
            tries_while_down = r.fake.requests["wecom"]
            assert tries_while_down < 12  # backing off, not hammering
            r.fake.down.clear()
            for _ in range(4):  # the daemon keeps calling; the retry time comes
                await dispatcher.dispatch_pending()
                r.clock.advance(minutes=5)
        assert footer_ids(r.fake.texts("wecom")) == list(range(1, 13))
        assert footer_ids(r.fake.texts("telegram")) == list(range(1, 13))
        assert r.store.reports.alert_states() == {"sent": 12}


async def test_a_crash_between_send_and_mark_sent_gives_at_most_one_duplicate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Crash(BaseException):
        pass

    async with rig(tmp_path) as r:
        config = make_config(r.fake, tmp_path, ("jsonl", "telegram"))
        enqueue(r.store, alert(1))
        real = r.store.outbox.mark_delivered

        def crash_once(*args: Any, **kwargs: Any) -> None:
            monkeypatch.setattr(r.store.outbox, "mark_delivered", real)
            raise Crash  # the process dies after the jsonl line is written

        monkeypatch.setattr(r.store.outbox, "mark_delivered", crash_once)
        with pytest.raises(Crash):
            await r.dispatch(config)
        assert len(r.jsonl()) == 1
        await r.dispatch(config)  # the restart
        await r.dispatch(config)  # and another: nothing more
        first, again = r.jsonl()
        assert first["dedupe_key"] == again["dedupe_key"] == "negative_thread:weibo:P1:2019-08-16"
        assert (first["possible_duplicate"], again["possible_duplicate"]) == (False, True)
        (tg,) = r.fake.received["telegram"]  # Telegram had not been reached: no duplicate
        assert "可能重复" not in tg["text"]
        assert r.store.outbox.delivery_states(1) == {
            "jsonl:alerts.jsonl": "sent",
            f"telegram:PF_TEST_TELEGRAM:{CHAT_ID}": "sent",
        }


async def test_a_burst_beyond_the_rate_limit_is_coalesced(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        config = make_config(r.fake, tmp_path, ("jsonl", "wecom"))
        enqueue(r.store, *(alert(n) for n in range(1, 31)))
        report = await r.dispatch(config)
        texts = r.fake.texts("wecom")
        assert len(texts) == 20  # WeCom allows 20 a minute
        assert footer_ids(texts[:19]) == list(range(1, 20))
        summary = texts[19]
        assert summary.startswith("【注意】另有 11 条提醒（已合并，避免超出频率限制）")
        assert [f"负面舆情 {n}" in summary for n in range(20, 31)] == [True] * 11
        assert len(r.jsonl()) == 30  # no limit on the file
        assert report.coalesced == 11 and report.sent == 30 + 20
        states = [r.store.outbox.delivery_states(n)["wecom:PF_TEST_WECOM"] for n in range(1, 31)]
        assert states == ["sent"] * 19 + ["coalesced"] * 11
        enqueue(r.store, alert(31))
        assert (await r.dispatch(config)).sent == 1  # jsonl only: WeCom's minute is used up
        r.clock.advance(seconds=61)
        await r.dispatch(config)
        assert footer_ids(r.fake.texts("wecom")[20:]) == [31]


# python-telegram-bot itself reads RetryAfter.retry_after when it builds the error
@pytest.mark.filterwarnings("ignore:Deprecated since version v22.2")
async def test_transient_errors_retry_with_backoff(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        config = make_config(r.fake, tmp_path, ("wecom", "telegram"))
        limited = {"errcode": -1, "errmsg": "system busy"}  # 45009 pauses (test_sink_limits)
        r.fake.fail_next["wecom"].append((200, limited))
        flood = {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 7",
            "parameters": {"retry_after": 7},
        }
        r.fake.fail_next["telegram"].append((429, flood))
        enqueue(r.store, alert(1), alert(2))
        report = await r.dispatch(config)
        assert report.failed == 2 and report.sent == 0
        r.clock.advance(seconds=10)
        await r.dispatch(config)
        assert footer_ids(r.fake.texts("telegram")) == [1, 2]  # after its retry_after
        assert r.fake.texts("wecom") == []  # WeCom waits its 60 s
        r.clock.advance(seconds=60)
        await r.dispatch(config)
        assert footer_ids(r.fake.texts("wecom")) == [1, 2]
    assert [backoff(n) for n in (1, 2, 3, 6, 10)] == [30, 60, 120, 900, 900]


async def test_a_permanent_error_breaks_the_sink_once_and_tells_the_others(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with rig(tmp_path) as r:
        config = make_config(r.fake, tmp_path, ("telegram", "wecom"))
        env = {**r.fake.env(), "PF_TEST_TELEGRAM": "999:not-the-token"}
        enqueue(r.store, alert(1), alert(2))
        with caplog.at_level(logging.ERROR, logger="alerts.dispatch"):
            report = await r.dispatch(config, env)
            again = await r.dispatch(config, env)  # a restart, still misconfigured
        sink = f"telegram:PF_TEST_TELEGRAM:{CHAT_ID}"
        assert report.broken_sinks == again.broken_sinks == (sink,)
        assert r.fake.requests["telegram"] == 1  # one getMe, no loop
        assert len([rec for rec in caplog.records if "is broken" in rec.message]) == 1
        texts = r.fake.texts("wecom")
        assert footer_ids(texts[:2]) == [1, 2]
        assert len(texts) == 3 and texts[2].startswith("【紧急】提醒通道失效：" + sink)
        assert "token was rejected" in texts[2]
        # the token is fixed and pingfan restarts: Telegram catches up, in order, once
        report = await r.dispatch(config)
        assert report.broken_sinks == () and report.sent == 2
        assert footer_ids(r.fake.texts("telegram")) == [1, 2]  # not its own health line
        assert len(r.fake.texts("wecom")) == 3


async def test_chat_not_found_and_a_bad_webhook_key_are_permanent(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        config = make_config(r.fake, tmp_path, ("telegram", "wecom", "jsonl"))
        r.fake.chats.clear()
        env = {**r.fake.env(), "PF_TEST_WECOM": r.fake.wecom_url.replace(WECOM_KEY, "wrong")}
        enqueue(r.store, alert(1))
        report = await r.dispatch(config, env)
        assert len(report.broken_sinks) == 2
        titles = [x["title"] for x in r.jsonl()]
        assert titles[0] == "负面舆情 1"
        assert sorted(titles[1:]) == [
            f"提醒通道失效：telegram:PF_TEST_TELEGRAM:{CHAT_ID}",
            "提醒通道失效：wecom:PF_TEST_WECOM",
        ]
        reasons = " ".join(x["text"] for x in r.jsonl())
        assert "Chat not found" in reasons and "errcode 93000" in reasons


async def test_a_refused_message_is_recorded_and_the_next_goes(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        config = make_config(r.fake, tmp_path, ("dingtalk",))
        refused = {"errcode": 40035, "errmsg": "invalid parameter"}
        r.fake.fail_next["dingtalk"].append((200, refused))
        enqueue(r.store, alert(1), alert(2))
        report = await r.dispatch(config)
        assert (report.sent, report.failed) == (1, 1)
        assert footer_ids(r.fake.texts("dingtalk")) == [2]
        assert r.store.outbox.delivery_states(1) == {"dingtalk:PF_TEST_DINGTALK": "rejected"}


async def test_quiet_hours_hold_all_but_critical_alerts(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        config = make_config(r.fake, tmp_path, ("telegram",), quiet_hours="23:00-07:30")
        r.clock.now = datetime(2019, 8, 16, 17, 0, tzinfo=UTC)  # 01:00 in Dalian
        enqueue(r.store, alert(1), alert(2, severity="critical"), alert(3, severity="info"))
        report = await r.dispatch(config)
        assert (report.sent, report.held) == (1, 2)
        assert footer_ids(r.fake.texts("telegram")) == [2]
        r.clock.now = datetime(2019, 8, 16, 23, 31, tzinfo=UTC)  # 07:31
        await r.dispatch(config)
        assert footer_ids(r.fake.texts("telegram")) == [2, 1, 3]
    shanghai = config.ui.timezone
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(shanghai)
    assert in_quiet_hours("23:00-07:30", datetime(2019, 8, 16, 15, 30, tzinfo=UTC), zone)
    assert not in_quiet_hours("23:00-07:30", datetime(2019, 8, 16, 14, 59, tzinfo=UTC), zone)
    assert in_quiet_hours("12:00-13:00", datetime(2019, 8, 16, 4, 30, tzinfo=UTC), zone)
    assert not in_quiet_hours("", datetime(2019, 8, 16, 4, 30, tzinfo=UTC), zone)


async def test_mutes_and_min_severity(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        entries = sink_entries(r.fake, tmp_path, ("telegram", "jsonl"))
        entries[1] = {**entries[1], "min_severity": "critical"}
        config = config_from_dict({"sinks": entries}, tmp_path / "config.toml")
        enqueue(r.store, alert(1), alert(2), alert(3, severity="critical"))
        assert r.store.outbox.mute_alert_subject(2, AT + timedelta(hours=24), at=AT, by="tg:42")
        await r.dispatch(config)
        assert footer_ids(r.fake.texts("telegram")) == [1, 3]
        assert [x["id"] for x in r.jsonl()] == [3]
        assert r.store.outbox.delivery_states(2)[f"telegram:PF_TEST_TELEGRAM:{CHAT_ID}"] == "muted"
        assert r.store.outbox.delivery_states(1)["jsonl:alerts.jsonl"] == "skipped"


async def test_the_weekly_digest_reaches_a_sink_that_takes_only_critical_alerts(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r:
        entries = sink_entries(r.fake, tmp_path, ("jsonl",))
        entries[0] = {**entries[0], "min_severity": "critical"}
        config = config_from_dict({"sinks": entries}, tmp_path / "config.toml")
        digest = alert(
            2, kind="digest", severity="info", dedupe_key="digest:2019-W33", subject_id="2019-W33"
        )
        enqueue(r.store, alert(1, severity="info"), digest)
        await r.dispatch(config)
        assert [x["id"] for x in r.jsonl()] == [2]


async def test_a_long_alert_is_split_between_lines_for_telegram_and_cut_for_wecom(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r:
        config = make_config(r.fake, tmp_path, ("telegram", "wecom", "feishu"))
        text = "\n".join(f"· 第 {i} 行：" + "很长的评论内容" * 8 for i in range(300))
        enqueue(r.store, alert(1, text=text))
        assert (await r.dispatch(config)).sent == 3
        messages = r.fake.received["telegram"]
        assert len(messages) > 1
        assert all(len(m["text"].encode("utf-16-le")) // 2 <= 4096 for m in messages)
        assert [("reply_markup" in m) for m in messages] == [False] * (len(messages) - 1) + [True]
        shown = "\n".join(m["text"] for m in messages)
        assert all(f"· 第 {i} 行：" in shown for i in range(300))
        (wecom,) = r.fake.texts("wecom")
        assert len(wecom.encode()) <= 2048
        assert wecom.endswith("…\n" + TAIL)
        assert len(r.fake.received["feishu"]) == 1


async def test_feishu_keeps_to_five_a_second(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        config = make_config(r.fake, tmp_path, ("feishu",))
        enqueue(r.store, *(alert(n) for n in range(1, 13)))
        report = await r.dispatch(config)
        assert report.sent == 12 and report.coalesced == 0
        assert footer_ids(r.fake.texts("feishu")) == list(range(1, 13))
        assert sum(r.clock.slept) >= 2.0  # paced over (at least) two more seconds


async def test_secrets_stay_out_of_logs_reprs_and_the_database(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with rig(tmp_path) as r:
        config = make_config(r.fake, tmp_path)
        env = r.fake.env()
        enqueue(r.store, alert(1))
        r.fake.fail_next["feishu"].append((200, {"code": 11232, "msg": "frequency limited"}))
        with caplog.at_level(logging.DEBUG):
            async with r.dispatcher(config, env) as dispatcher:
                await dispatcher.dispatch_pending()
                shown = repr(dispatcher) + repr(dispatcher.sinks) + repr(config)
            bad = {**env, "PF_TEST_TELEGRAM": "999:secret-bad-token"}
            r.store.outbox.enqueue_alert(alert(2))
            config2 = make_config(r.fake, tmp_path / "b", ("telegram",))
            await r.dispatch(config2, bad)
        stored = json.dumps(list(r.store.query("SELECT * FROM alerts")), ensure_ascii=False)
        stored += json.dumps(list(r.store.query("SELECT * FROM alert_deliveries")))
        stored += json.dumps(list(r.store.query("SELECT * FROM alert_sinks")))
        for secret in (TELEGRAM_TOKEN, "secret-bad-token", WECOM_KEY, DINGTALK_TOKEN,
                       FEISHU_TOKEN, env["PF_TEST_DINGTALK_SECRET"], env["PF_TEST_FEISHU_SECRET"],
                       env["PF_TEST_WEBHOOK_SECRET"]):  # fmt: skip
            assert secret not in caplog.text
            assert secret not in shown
            assert secret not in stored
        assert "frequency limited" in caplog.text  # the failure itself is logged


def test_sinks_are_built_from_the_registry_one_per_telegram_chat(tmp_path: Path) -> None:
    config = config_from_dict(
        {
            "sinks": [
                {"type": "console"},
                {"type": "telegram", "token_env": "T", "chat_ids": [1, 2]},
                {"type": "wecom", "url_env": "W", "enabled": False},
                {"type": "console"},
            ]
        },
        tmp_path / "config.toml",
    )
    labels = [s.label for s in build_sinks(config, {"T": "x"})]
    assert labels == ["console", "telegram:T:1", "telegram:T:2", "console#2"]
