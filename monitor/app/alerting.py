"""Alerts in the daemon: the rules run after every scoring round (they read what was just
stored and scored), and the dispatcher sends the outbox in a task of its own, so a sink that
is slow or rate-limited never holds up collection or scoring. Part of the composition root:
the runtime below knows neither."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from alerts.dispatch import Dispatcher, DispatchReport
from alerts.engine import evaluate
from monitor.config import Config
from monitor.errors import StoreError
from monitor.runtime.clock import Clock, wait_any
from monitor.runtime.metrics import Metrics
from monitor.store import Store

log = logging.getLogger(__name__)

DISPATCH_IDLE = 30.0  # runtime seconds between outbox checks (retries, quiet hours ending)


class Alerting:
    def __init__(
        self,
        config: Config,
        store: Store,
        clock: Clock,
        dispatcher: Dispatcher,
        metrics: Metrics | None = None,
        *,
        wake: asyncio.Event | None = None,
        idle: float = DISPATCH_IDLE,
    ) -> None:
        self.config = config
        self.idle = idle
        self.store = store
        self.clock = clock
        self.dispatcher = dispatcher
        self.metrics = metrics
        self.wake = wake or asyncio.Event()  # set when the outbox has something new

    async def evaluate(self, now: datetime) -> None:
        """The stage after scoring: run the rules; new alerts wake the dispatcher."""
        raised = evaluate(self.store, self.config, now)
        for alert in raised:
            log.info("alert %s: %s", alert.kind, alert.title)
        self.wake.set()

    async def dispatch(self) -> DispatchReport:
        report = await self.dispatcher.dispatch_pending()
        if self.metrics:
            self.metrics.alerts_sent.inc(report.sent)
            self.metrics.pending_alerts.set(self.store.reports.alert_states().get("pending", 0))
        if report.sent or report.failed or report.broken_sinks:
            log.info("%s", report.summary())
        return report

    async def dispatch_loop(self, stop: asyncio.Event) -> None:
        """Until `stop`: dispatch, then wait for news. Nothing a sink does ends this loop (the
        dispatcher keeps a failing delivery pending); only the database's own errors do."""
        failed: str | None = None
        while not stop.is_set():
            self.wake.clear()
            try:
                await self.dispatch()
                failed = None
            except StoreError:
                raise  # the database itself: the daemon stops and says why
            except Exception as err:
                what = type(err).__name__
                if what != failed:
                    log.warning("dispatching alerts failed (%s); trying again later", what)
                failed = what
            await wait_any(self.clock, self.idle, self.wake, stop)


async def evaluate_and_dispatch(config: Config, store: Store, clock: Clock) -> DispatchReport:
    """`collect --once`: the rules, then one dispatch of the outbox."""
    async with Dispatcher(config, store, clock=clock.now, sleep=clock.sleep) as dispatcher:
        alerting = Alerting(config, store, clock, dispatcher)
        await alerting.evaluate(clock.now())
        return await alerting.dispatch()
