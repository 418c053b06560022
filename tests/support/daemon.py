"""A daemon in this process on the simulator, its config, and reading its database."""

from __future__ import annotations

import asyncio
import inspect
import json
import sqlite3  # reads a running daemon's file from outside, read-only
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from pathlib import Path

import aiohttp

from monitor.app.run import build_daemon
from monitor.config import Config
from monitor.runtime.clock import Clock
from monitor.runtime.daemon import Daemon, DaemonOptions
from monitor.sim.app import SimServer
from tests.support.sim import TOPIC
from tests.support.weibo import KOL, OFFICIAL

FAST_SCHEDULE = {
    "topic_posts": "1s",
    "topic_stats": "1s",
    "kol_posts": "1s",
    "profiles": "5s",
    "comments_hot": "1s",
    "comments_cold": "10s",
}


def daemon_config_dict(server: SimServer, **weibo: object) -> dict:
    return {
        "storage": {"path": "pingfan.db", "comment_retention_days": 0},
        "topics": [{"name": TOPIC}],
        "kols": [{"platform": "weibo", "id": KOL, "name": "大连身边事"}],
        "official": {"weibo": [OFFICIAL]},
        "weibo": {
            "base_url": server.weibo_url,
            "topic_base_url": server.weibo_topic_url,
            "requests_per_minute": 60_000,
            "burst": 5,
            "cookie_env": "PINGFAN_TEST_NO_COOKIE",
            "timeout": "2s",
            **weibo,
        },
        "douyin": {"enabled": False},
        "schedule": FAST_SCHEDULE,
        "health": {"port": 0},
    }


def write_config(path: Path, raw: dict) -> Path:
    """`raw` as a config.toml at `path` (tables and arrays of tables, values as JSON)."""

    def value(v: object) -> str:
        return json.dumps(v, ensure_ascii=False)

    lines = []
    for section, table in raw.items():
        if isinstance(table, list):
            for item in table:
                lines.append(f"[[{section}]]")
                lines += [f"{k} = {value(v)}" for k, v in item.items()]
        else:
            lines.append(f"[{section}]")
            lines += [f"{k} = {value(v)}" for k, v in table.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def read_db(path: Path, sql: str) -> list[tuple]:
    if not path.exists():
        return []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:
        try:
            return db.execute(sql).fetchall()
        except sqlite3.OperationalError:
            return []  # not migrated yet


async def eventually(
    check: Callable[[], bool | Awaitable[bool]], seconds: float, what: str
) -> None:
    """Poll `check` (plain or async) every 0.1 s; fail, naming `what`, when time runs out."""
    for _ in range(int(seconds * 10)):
        outcome = check()
        if inspect.isawaitable(outcome):
            outcome = await outcome
        if outcome:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not within {seconds} s: {what}")


async def source_names(daemon: Daemon, platform: str) -> set[str]:
    """The sources the running daemon schedules on `platform`, run yet or not."""
    url = f"http://127.0.0.1:{daemon.health_port}/healthz"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        body = await response.json()
    return {s["name"] for s in body["sources"] if s["platform"] == platform}


@asynccontextmanager
async def in_process_daemon(config: Config, clock: Clock | None = None) -> AsyncIterator[Daemon]:
    options = DaemonOptions(pooled_scoring=False, grace=2, health_port=0)
    daemon = build_daemon(config, clock=clock, options=options)
    task = asyncio.create_task(daemon.run())
    await asyncio.wait_for(daemon.ready.wait(), timeout=30)
    try:
        yield daemon
    finally:
        daemon.request_stop()
        assert await asyncio.wait_for(task, timeout=30) == 0


def kill_left_behind(started: list[asyncio.subprocess.Process]) -> None:
    """Kill every process of `started` still running (a failing test must not leave a daemon
    running: it would hold its run lock or its leases), and empty the list."""
    while started:
        process = started.pop()
        if process.returncode is None:
            with suppress(ProcessLookupError):
                process.kill()
