"""`[web] enabled = true`: `pingfan run` serves the console on its own store, and stops it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from monitor.app.run import wire_console
from monitor.config import config_from_dict
from monitor.runtime.daemon import Daemon, DaemonOptions
from tests.support.daemon import daemon_config_dict, eventually
from tests.support.sim import running_sim


async def test_the_daemon_serves_the_console_when_enabled(tmp_path: Path) -> None:
    async with running_sim() as (server, _):
        raw = daemon_config_dict(server)
        raw["web"] = {"enabled": True, "port": 0}
        config = config_from_dict(raw, tmp_path / "config.toml")
        daemon = Daemon(config, options=DaemonOptions(pooled_scoring=False, grace=2, health_port=0))
        ports: list[int] = []
        wire_console(daemon, started=ports.append)
        task = asyncio.create_task(daemon.run())
        try:
            await eventually(lambda: bool(ports), 30, "the console listens")
            base = f"http://127.0.0.1:{ports[0]}"
            async with aiohttp.ClientSession() as session:
                async with session.get(f"{base}/login") as answer:
                    assert answer.status == 200 and "csrf_token" in await answer.text()
                async with session.get(f"{base}/api/summary") as answer:
                    assert answer.status == 401
        finally:
            daemon.request_stop()
            assert await asyncio.wait_for(task, timeout=30) == 0
        async with aiohttp.ClientSession() as session:
            try:
                async with session.get(f"{base}/login"):
                    stopped = False
            except aiohttp.ClientConnectionError:
                stopped = True
        assert stopped, "the console stops with the daemon"


def test_the_console_is_off_unless_enabled(tmp_path: Path) -> None:
    config = config_from_dict({}, tmp_path / "config.toml")
    daemon = Daemon(config)
    wire_console(daemon)
    assert daemon.extra_tasks == []
