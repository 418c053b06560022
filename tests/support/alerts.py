"""A dispatch clock, a numbered alert, every channel's config, and reading the file sink."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.models import AlertRecord
from tests.support.fake_services import (
    CHAT_ID,
    FakeServices,
)

AT = datetime(2019, 8, 16, 6, 0, tzinfo=UTC)  # 14:00 in Dalian

ALL = ("console", "jsonl", "telegram", "wecom", "dingtalk", "feishu", "webhook")


def alert(n: int, at: datetime = AT, **changes: Any) -> AlertRecord:
    """The n-th of a run of negative-thread alerts on Weibo post Pn."""
    base = AlertRecord(
        kind="negative_thread",
        severity="warning",
        title=f"负面舆情 {n}",
        text=f"第 {n} 条提醒\n近 6 小时 40 条评论中负面 30 条",
        dedupe_key=f"negative_thread:weibo:P{n}:2019-08-16",
        created_at=at,
        platform="weibo",
        subject_id=f"P{n}",
    )
    return replace(base, **changes)


class Clock:
    def __init__(self, now: datetime = AT) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += timedelta(seconds=seconds)


def sink_entries(fake: FakeServices, tmp_path: Path, types: tuple[str, ...]) -> list[dict]:
    entries = {
        "console": {"type": "console"},
        "jsonl": {"type": "jsonl", "path": str(tmp_path / "alerts.jsonl")},
        "telegram": {
            "type": "telegram",
            "token_env": "PF_TEST_TELEGRAM",
            "chat_ids": [CHAT_ID],
            "base_url": fake.telegram_base_url,
        },
        "wecom": {"type": "wecom", "url_env": "PF_TEST_WECOM"},
        "dingtalk": {
            "type": "dingtalk",
            "url_env": "PF_TEST_DINGTALK",
            "secret_env": "PF_TEST_DINGTALK_SECRET",
        },
        "feishu": {
            "type": "feishu",
            "url_env": "PF_TEST_FEISHU",
            "secret_env": "PF_TEST_FEISHU_SECRET",
        },
        "webhook": {
            "type": "webhook",
            "url_env": "PF_TEST_WEBHOOK",
            "secret_env": "PF_TEST_WEBHOOK_SECRET",
        },
    }
    return [entries[t] for t in types]
