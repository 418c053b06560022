"""`pingfan run` and `pingfan collect --once`: from a validated config to an exit code."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable

from monitor.collect import collect_once
from monitor.config import Config
from monitor.runtime.daemon import Daemon

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_BLOCKED = 4  # the pass ran, but a platform blocked it (see the health alert)
EXIT_INTERRUPTED = 130


def collect_command(config: Config, platform: str | None, *, until_done: bool = False) -> int:
    """One pass; a partial one (a source cut at its time budget) still exits 0, and its
    summary says `partial` and how much is left."""
    outcome = asyncio.run(collect_once(config, platform, until_done=until_done))
    for line in outcome.lines:
        print(line)
    return EXIT_BLOCKED if outcome.blocked else EXIT_OK


def run_command(config: Config) -> int:
    return asyncio.run(_run(config))


def wire_console(daemon: Daemon, started: Callable[[int], None] | None = None) -> None:
    """`[web] enabled`: the team console runs as one of the daemon's tasks, on its store and
    its clock, and stops with it."""
    if not daemon.config.web.enabled:
        return
    from alerts.web import serve

    async def console(daemon: Daemon) -> None:
        assert daemon.store is not None, "tasks start once the store is open"
        await serve(
            daemon.config, daemon.store, daemon.stop_event, now=daemon.clock.now, started=started
        )

    daemon.add_task("web console", console)


async def _run(config: Config) -> int:
    daemon = Daemon(config)
    wire_console(daemon)
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)

    def on_signal(signum: int) -> None:
        if daemon.stop_event.is_set():
            # A second signal: leave at once. SQLite's journal keeps the database whole.
            print("pingfan run: stopped at once (second signal)", file=sys.stderr)
            os._exit(EXIT_INTERRUPTED)
        log.info("received %s", signal.Signals(signum).name)
        daemon.request_stop()

    for signum in signals:
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        return await daemon.run()
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)
