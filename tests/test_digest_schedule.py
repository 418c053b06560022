"""The digest in the daemon: built at [digest] weekday/time in [digest] timezone, put in the
outbox with the ISO week as its dedupe key, delivered once however often the daemon restarts,
sent late after a short outage and not after a long one, retried after a failure."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

import alerts.digest.scheduler as scheduler_module
from alerts.digest import bot_hook, schedule
from alerts.dispatch import Dispatcher
from monitor.config import Config
from monitor.runtime.clock import VirtualClock
from monitor.store import Store
from tests.support.digest import at, fill_week, make_config


class UntilClock(VirtualClock):
    """Virtual time that ends: the daemon is stopped once it reaches `until`."""

    def __init__(self, start: datetime, until: datetime) -> None:
        super().__init__(start)
        self.until = until

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        left = (self.until - self.now()).total_seconds()
        if seconds >= left:
            self.advance(max(left, 0.0))
            event.set()
            return True
        return await super().wait(event, seconds)


async def run_daemon(config: Config, store: Store, start: str, until: str) -> None:
    stop = asyncio.Event()
    clock = UntilClock(at(start), at(until))
    await asyncio.wait_for(schedule(config, store, stop, clock=clock), timeout=60)


def digests(store: Store) -> list[dict]:
    return list(
        store.query(
            "SELECT id, dedupe_key, created_at, state FROM alerts WHERE kind = 'digest' ORDER BY id"
        )
    )


def sink_config(tmp_path: Path, **digest: object) -> Config:
    return make_config(
        tmp_path,
        sinks=[{"type": "jsonl", "path": "sent.jsonl"}],
        digest={"out_dir": "digests", **digest},
    )


async def dispatch(config: Config, store: Store, now: str) -> None:
    async with Dispatcher(config, store, clock=lambda: at(now)) as dispatcher:
        await dispatcher.dispatch_pending()


def sent_digests(tmp_path: Path) -> list[dict]:
    path = tmp_path / "sent.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return [r for r in map(json.loads, lines) if r["kind"] == "digest"]


async def test_each_monday_at_nine_last_weeks_digest_goes_out_once(
    tmp_path: Path, store: Store
) -> None:
    fill_week(store)  # it already holds the digest of 2019-W27
    config = sink_config(tmp_path)
    await run_daemon(config, store, "2019-07-14T20:00", "2019-07-23T00:00")
    rows = digests(store)
    assert [r["dedupe_key"] for r in rows] == [
        "digest:2019-W27",
        "digest:2019-W28",
        "digest:2019-W29",
    ]
    # built at Monday 09:00 in [digest] timezone (01:00 UTC)
    assert [r["created_at"] for r in rows[1:]] == [
        "2019-07-15T01:00:00+00:00",
        "2019-07-22T01:00:00+00:00",
    ]
    html = config.digest.out_dir / "digest-2019-W28.html"
    assert html.exists() and (config.digest.out_dir / "digest-2019-W29.md").exists()

    await dispatch(config, store, "2019-07-22T09:01")
    sent = sent_digests(tmp_path)
    assert [d["dedupe_key"] for d in sent] == [r["dedupe_key"] for r in rows]
    w28 = next(d for d in sent if d["dedupe_key"] == "digest:2019-W28")
    assert w28["evidence"]["files"]["html"] == str(html)
    assert "帖子 5" in w28["text"]

    # Restarts the same morning and later that week: nothing is built or sent again.
    before = html.stat().st_mtime_ns
    await run_daemon(config, store, "2019-07-22T09:30", "2019-07-22T12:00")
    await run_daemon(config, store, "2019-07-24T08:00", "2019-07-24T09:00")
    await dispatch(config, store, "2019-07-24T09:01")
    assert len(digests(store)) == 3
    assert len(sent_digests(tmp_path)) == 3
    assert (config.digest.out_dir / "digest-2019-W29.html").stat().st_mtime_ns > 0
    assert html.stat().st_mtime_ns == before


@pytest.mark.parametrize(
    ("start", "sent_at"),
    [
        ("2019-07-15T10:30", "2019-07-15T02:30:00+00:00"),  # down at 09:00, back within a day
        ("2019-07-17T10:30", None),  # back two days later: that week's digest is left alone
    ],
)
async def test_a_daemon_down_at_nine_catches_up_within_a_day(
    tmp_path: Path, store: Store, start: str, sent_at: str | None
) -> None:
    fill_week(store)
    config = sink_config(tmp_path)
    end = (at(start) + timedelta(hours=2)).isoformat()[:16]
    await run_daemon(config, store, start, end)
    w28 = [r for r in digests(store) if r["dedupe_key"] == "digest:2019-W28"]
    assert [r["created_at"] for r in w28] == ([sent_at] if sent_at else [])


async def test_a_failed_build_is_tried_again(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill_week(store)
    config = sink_config(tmp_path)
    real = scheduler_module.assemble
    calls: list[int] = []

    def flaky(*args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a bug met once")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(scheduler_module, "assemble", flaky)
    await run_daemon(config, store, "2019-07-15T08:59", "2019-07-15T12:00")
    (w28,) = [r for r in digests(store) if r["dedupe_key"] == "digest:2019-W28"]
    assert len(calls) == 2
    assert w28["created_at"] == "2019-07-15T01:10:00+00:00"  # 09:00 + the retry delay


async def test_disabled_digest_does_nothing(tmp_path: Path, store: Store) -> None:
    fill_week(store)
    config = sink_config(tmp_path, enabled=False)
    await run_daemon(config, store, "2019-07-15T08:00", "2019-07-16T00:00")
    assert [r["dedupe_key"] for r in digests(store)] == ["digest:2019-W27"]


async def test_schedule_follows_the_configured_day_time_and_zone(
    tmp_path: Path, store: Store
) -> None:
    fill_week(store)
    config = sink_config(tmp_path, weekday="tuesday", time="18:30", timezone="Europe/Berlin")
    await run_daemon(config, store, "2019-07-15T00:00", "2019-07-17T06:00")
    w28 = [r for r in digests(store) if r["dedupe_key"] == "digest:2019-W28"]
    # Tuesday 18:30 in Berlin (summer time, UTC+2)
    assert [r["created_at"] for r in w28] == ["2019-07-16T16:30:00+00:00"]


async def test_the_bots_digest_is_this_week_so_far(tmp_path: Path, store: Store) -> None:
    fill_week(store)
    config = sink_config(tmp_path)
    text = await bot_hook(config, store)(at("2019-07-12T12:00"))
    lines = text.splitlines()
    assert lines[0] == "#平凡大连人 周报 · 2019-W28"
    assert lines[1] == "本周尚未结束：数据截至 2019-07-12 12:00。"
    assert any(line.startswith("帖子 5") for line in lines)
    assert lines[-1].endswith("digest-2019-W28.html")
    assert (config.digest.out_dir / "digest-2019-W28.html").exists()
    assert [r["dedupe_key"] for r in digests(store)] == ["digest:2019-W27"]  # nothing sent
