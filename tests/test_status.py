"""`pingfan status`: per source and per circuit, in the configured time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.config import config_from_dict
from monitor.runtime.circuit import Circuit
from monitor.runtime.clock import VirtualClock
from monitor.status import render_status
from monitor.store import Store

T0 = datetime(2019, 8, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def test_status_shows_each_source_and_an_open_circuit_in_local_time(tmp_path: Path) -> None:
    config = config_from_dict({"storage": {"path": "p.db"}}, tmp_path / "config.toml")
    clock = VirtualClock(T0)
    with Store.open(config.storage.path) as store:
        store.runtime.record_source_run(
            "weibo:topic_posts:平凡大连人", "weibo", status="ok", at=T0,
            due_at=T0 + timedelta(minutes=5), rows=3, requests=1,
        )  # fmt: skip
        store.runtime.record_source_run(
            "weibo:comments", "weibo", status="blocked", at=T0,
            due_at=T0 + timedelta(minutes=30), error="Weibo answered HTTP 432 (blocked)",
        )  # fmt: skip
        Circuit("weibo", store, clock, cooldown=1800).record_block("HTTP 432")
        text = render_status(store, config)
    assert "weibo: open until 08-01 10:30:00 (HTTP 432)" in text
    topic_line = next(line for line in text.splitlines() if "topic_posts" in line)
    assert "ok" in topic_line and "08-01 10:00:00" in topic_line and "08-01 10:05:00" in topic_line
    comments_line = next(line for line in text.splitlines() if "weibo:comments" in line)
    assert "blocked" in comments_line and "never" in comments_line and "432" in comments_line
    # Columns line up in a terminal: "平凡大连人" takes ten columns, not five.
    table = text[text.index("sources (") :].splitlines()[1:]
    assert len(table) == 3 and table[0].split()[:2] == ["name", "last"]
    assert {_second_column_at(line) for line in table} == {len("  weibo:topic_posts:") + 10 + 1}


def _second_column_at(line: str) -> int:
    """The terminal column where the second field starts (CJK characters are two wide)."""
    name = line.split()[0]
    after = line.index(name) + len(name)
    start = after + len(line[after:]) - len(line[after:].lstrip())
    return sum(2 if "\u4e00" <= ch <= "\u9fff" else 1 for ch in line[:start])
