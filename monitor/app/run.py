"""`pingfan run`: the daemon, with the alert rules, the dispatcher, the health alerts, the
chat bot and the digest plugged into its seams. Of several workers on one PostgreSQL database,
only the leader runs the rules, the bot and the digest (monitor/runtime/leadership.py), one
leader per campaign; every worker dispatches its campaign's outbox, which its claims keep
once-only."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable
from contextlib import AsyncExitStack

from alerts.bot import config_problems, run_bot
from alerts.digest import bot_hook
from alerts.digest import schedule as digest_schedule
from alerts.dispatch import Dispatcher
from monitor.app.alerting import Alerting
from monitor.app.outages import health_alerts
from monitor.campaign import leader_key
from monitor.config import Config
from monitor.errors import ConfigError
from monitor.runtime.clock import Clock
from monitor.runtime.daemon import Daemon, DaemonOptions
from monitor.runtime.leadership import Leadership
from monitor.store import Store
from monitor.store.leadership import leader_lock

log = logging.getLogger(__name__)

EXIT_INTERRUPTED = 130


def build_daemon(
    config: Config, *, clock: Clock | None = None, options: DaemonOptions | None = None
) -> Daemon:
    """The daemon `pingfan run` and `pingfan demo` run."""
    daemon = Daemon(config, clock=clock, options=options)
    daemon.add_opener(open_alerts)
    return daemon


async def open_alerts(daemon: Daemon, store: Store, stack: AsyncExitStack) -> None:
    """Once the daemon's store is open: the dispatcher (open until the daemon stops), the rules
    after every scoring round, health alerts for pauses and recoveries, and the team's tasks:
    the chat bot (when [bot] enabled) and the weekly digest's schedule. The rules, the bot
    and the digest run while this worker leads (on SQLite: always)."""
    config, clock = daemon.config, daemon.clock
    # one leader per campaign: two campaigns' workers on one database each have their own
    leadership = Leadership(leader_lock(store.sql, key=leader_key(store.campaign)), clock)
    stack.push_async_callback(leadership.close)
    if not await leadership.check():  # a lone worker leads from its first round
        log.info("another worker leads: this one collects, scores and dispatches")
    daemon.leadership = leadership
    daemon.add_task("leadership", lambda running: leadership.watch(running.stop_event))
    dispatcher = await stack.enter_async_context(
        Dispatcher(config, store, clock=clock.now, sleep=clock.sleep)
    )
    alerting = Alerting(
        config, store, clock, dispatcher, daemon.metrics, idle=daemon.options.idle_dispatch
    )
    daemon.on_outage(health_alerts(store, config.ui.language, wake=alerting.wake))
    daemon.add_stage("alert rules", alerting.evaluate)
    daemon.add_task("dispatcher", lambda running: alerting.dispatch_loop(running.stop_event))
    if config.bot.enabled:
        problems = config_problems(config)
        if problems:
            raise ConfigError(problems[0])
        digest = bot_hook(config, store)
        daemon.add_task(
            "chat bot",
            lambda running: leadership.while_leading(
                running.stop_event,
                lambda until: run_bot(config, store, until, now=clock.now, digest=digest),
            ),
        )
    if config.digest.enabled:
        daemon.add_task(
            "digest schedule",
            lambda running: leadership.while_leading(
                running.stop_event,
                lambda until: digest_schedule(config, store, until, clock=clock),
            ),
        )


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


def run_command(config: Config) -> int:
    return asyncio.run(_run(config))


async def _run(config: Config) -> int:
    daemon = build_daemon(config)
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
