"""`pingfan run` with the Telegram sink and the team bot, against the simulator and a local
fake Bot API: alerts arrive with working buttons, and a stop ends the bot with the rest."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from monitor.config import config_from_dict
from monitor.sim.faults import Fault
from tests.support.daemon import daemon_config_dict, in_process_daemon, read_db
from tests.support.fake_services import CHAT_ID, FakeServices
from tests.support.sim import running_sim

pytestmark = pytest.mark.timeout(120)


async def test_alerts_reach_the_team_chat_and_their_buttons_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with FakeServices() as fake, running_sim(requests_per_minute=100_000) as (server, _):
        for name, value in fake.env().items():
            monkeypatch.setenv(name, value)
        raw = daemon_config_dict(server, cooldown="1h")
        raw["sinks"] = [
            {"type": "telegram", "token_env": "PF_TEST_TELEGRAM", "chat_ids": [CHAT_ID],
             "base_url": fake.telegram_base_url},
        ]  # fmt: skip
        raw["bot"] = {
            "enabled": True,
            "token_env": "PF_TEST_TELEGRAM",
            "base_url": fake.telegram_base_url,
            "poll_timeout": "1s",
            "allowed_chat_ids": [CHAT_ID],
        }
        config = config_from_dict(raw, tmp_path / "config.toml")
        server.sim.faults.add(Fault("weibo", "http432", count=None))
        async with in_process_daemon(config):

            def block_alerts() -> list[dict]:
                return [m for m in fake.bot_messages() if "微博采集暂停" in m["text"]]

            # Other alerts may come first: the sink sends one message a second to a chat.
            await fake.wait_until(block_alerts, timeout=30)
            (alert,) = block_alerts()
            buttons = [b["callback_data"] for row in alert["reply_markup"]["inline_keyboard"]
                       for b in row]  # fmt: skip
            assert buttons[:2] == [b for b in buttons if b.startswith(("ack:", "mute:"))]
            fake.tg_press(alert, buttons[0])  # acknowledge
            await fake.wait_until(lambda: fake.answers(), timeout=30)
            acked = fake.tg_messages[(CHAT_ID, alert["message_id"])]
            assert "确认" in acked["text"] and buttons[0] not in str(acked.get("reply_markup"))
            fake.tg_message("/status")

            def status_replies() -> list[dict]:
                return [m for m in fake.bot_messages() if "采集状态" in m["text"]]

            await fake.wait_until(status_replies, timeout=30)
        # the daemon returned 0 (in_process_daemon checks it): the bot stopped with the rest
        acks = read_db(config.storage.path, "SELECT alert_id FROM alert_acks")
    assert len(acks) == 1
    (status,) = [m["text"] for m in fake.bot_messages() if "采集状态" in m["text"]]
    assert "微博" in status
    await asyncio.sleep(0)
