"""Small things: the licence as an SPDX string, and one console line per alert in the demo."""

from __future__ import annotations

import io
import tomllib
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from alerts.sinks.base import Outgoing
from alerts.sinks.console import ConsoleSink
from monitor.config import SinkConfig, config_from_dict
from monitor.demo import SimUrls, demo_config
from monitor.errors import ConfigError
from tests.support.sim import bundled_world

ROOT = Path(__file__).resolve().parent.parent


def test_the_licence_is_an_spdx_string_setuptools_accepts() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    assert project["project"]["license"] == "MIT"
    assert "setuptools>=77" in project["build-system"]["requires"]  # first to read SPDX strings
    assert metadata.metadata("pingfan")["License-Expression"] == "MIT"


def _message(text: str) -> Outgoing:
    return Outgoing(
        alert_ids=(1,), kind="ugc", severity="info", title="UGC 与提名：8 条",
        text=text, url=None, created_at=datetime(2019, 8, 1, tzinfo=UTC),
        dedupe_key="ugc:1", language="zh", tz=ZoneInfo("Asia/Shanghai"),
    )  # fmt: skip


async def test_a_brief_console_prints_one_line_per_alert() -> None:
    long_text = "\n".join(f"{n}. 推荐环卫工人刘阿姨\x1b[31m" for n in range(8))
    brief = ConsoleSink("console", SinkConfig("console", brief=True), {})
    brief.stream = io.StringIO()
    await brief.send(_message(long_text))
    await brief.send(_message(long_text))
    assert brief.stream.getvalue() == "【提示】UGC 与提名：8 条\n" * 2
    full = ConsoleSink("console", SinkConfig("console"), {})
    full.stream = io.StringIO()
    await full.send(_message(long_text))
    assert full.stream.getvalue().count("推荐环卫工人刘阿姨") == 8


def test_the_demo_console_is_brief_and_the_jsonl_keeps_the_full_texts(tmp_path: Path) -> None:
    urls = SimUrls("http://127.0.0.1:1", "http://127.0.0.1:2", "http://127.0.0.1:3")
    config = demo_config(urls, bundled_world(), tmp_path)
    by_type = {sink.type: sink for sink in config.sinks}
    assert by_type["console"].brief and by_type["jsonl"].path is not None


def test_brief_is_a_console_key_only(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not take 'brief'"):
        config_from_dict({"sinks": [{"type": "jsonl", "path": "a", "brief": True}]}, tmp_path)
