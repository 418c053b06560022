"""One bot, one configuration: [bot] takes token_env and base_url from the telegram sink, and
a bot that differs from the sink is refused at start in one line."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from alerts.bot import run_bot
from monitor.cli import main
from monitor.config import TELEGRAM_BASE_URL, bot_mismatch, config_from_dict
from monitor.store import Store
from tests.support.fake_services import CHAT_ID, FakeServices


def _raw(sink_url: str | None, **bot: Any) -> dict[str, Any]:
    sink: dict[str, Any] = {"type": "telegram", "token_env": "PF_TEST_TELEGRAM", "chat_ids": [1]}
    if sink_url:
        sink["base_url"] = sink_url
    return {
        "storage": {"path": "pingfan.db"},
        "sinks": [sink],
        "bot": {"enabled": True, "allowed_chat_ids": [CHAT_ID], "poll_timeout": "1s", **bot},
    }


def test_the_bot_takes_the_sinks_token_and_server(tmp_path: Path) -> None:
    config = config_from_dict(_raw("http://127.0.0.1:9/bot"), tmp_path / "c.toml")
    assert (config.bot.token_env, config.bot.base_url) == (
        "PF_TEST_TELEGRAM",
        "http://127.0.0.1:9/bot",
    )
    assert bot_mismatch(config) is None
    alone = config_from_dict({"bot": {"enabled": False}}, tmp_path / "c.toml")
    assert (alone.bot.token_env, alone.bot.base_url) == (
        "PINGFAN_TELEGRAM_TOKEN",
        TELEGRAM_BASE_URL,
    )
    same = config_from_dict(
        _raw(None, token_env="PF_TEST_TELEGRAM", base_url=TELEGRAM_BASE_URL + "/"), tmp_path
    )
    assert bot_mismatch(same) is None


async def test_the_inheriting_bot_polls_the_sinks_server(tmp_path: Path) -> None:
    """A self-hosted Bot API server named only on the sink: the bot answers through it."""
    async with FakeServices() as fake:
        config = config_from_dict(_raw(fake.telegram_base_url), tmp_path / "config.toml")
        stop = asyncio.Event()
        with Store.open(config.storage.path) as store:
            task = asyncio.create_task(
                run_bot(config, store, stop, now=lambda: datetime.now(UTC), env=fake.env())
            )
            try:
                fake.tg_message("/help")
                await fake.wait_until(lambda: fake.bot_messages(), timeout=30)
            finally:
                stop.set()
                await asyncio.wait_for(task, 30)
        assert "/top" in fake.bot_messages()[0]["text"]


@pytest.mark.parametrize(
    ("bot", "says"),
    [
        (
            {"token_env": "OTHER_TOKEN"},
            "token_env $OTHER_TOKEN is not the sink's $PF_TEST_TELEGRAM",
        ),
        ({"base_url": "https://api.telegram.org/bot"}, "base_url api.telegram.org is not"),
    ],
)
def test_a_bot_that_differs_from_the_sink_is_refused_at_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bot: dict[str, str], says: str
) -> None:
    raw = _raw("http://127.0.0.1:9/bot", **bot)
    lines = ['[storage]\npath = "pingfan.db"\n[weibo]\nenabled = false\n[douyin]\nenabled = false']
    sink = raw["sinks"][0]
    lines.append(
        f'[[sinks]]\ntype = "telegram"\ntoken_env = "{sink["token_env"]}"\nchat_ids = [1]\n'
        f'base_url = "{sink["base_url"]}"'
    )
    lines.append(f"[bot]\nenabled = true\nallowed_chat_ids = [{CHAT_ID}]")
    lines += [f'{key} = "{value}"' for key, value in bot.items()]
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["run", "--config", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0] and "one bot, one configuration" in err[0]
    assert not (tmp_path / "pingfan.db").exists()
    assert main(["doctor", "--config", str(path)]) == 2
    assert says in capsys.readouterr().out
