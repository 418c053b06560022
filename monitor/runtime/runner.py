"""Runs sources of one platform under its circuit: one outcome per run, stored with the
source's next due time; one `Paused` report per outage and one `Recovered` when it ends
(the composition root, monitor/app, turns them into health alerts); the circuit also opens
when the platform as a whole stops answering, so a dead platform costs a few requests per
cool-down, not retries on every source.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.errors import AuthExpired, Blocked, CollectorError
from monitor.models import PauseCause, Platform
from monitor.runtime.circuit import Circuit, CircuitState
from monitor.runtime.clock import Clock
from monitor.runtime.fetch import CircuitOpen, TransientHttpError, source_scope
from monitor.runtime.leases import LocalWorker, SourceLease, Worker
from monitor.runtime.metrics import Metrics
from monitor.runtime.sources import PassReport, Source, StepResult, left_text
from monitor.store import Store

log = logging.getLogger(__name__)

# This many sources in a row failing on timeouts or 5xx means the platform is down.
UNREACHABLE_AFTER = 3


@dataclass(frozen=True)
class Paused:
    """The platform's circuit opened: no request to it for `cooldown_seconds`."""

    platform: Platform
    reason: str
    cooldown_seconds: float
    at: datetime
    cause: PauseCause


@dataclass(frozen=True)
class Recovered:
    """The platform answered again and its circuit closed."""

    platform: Platform
    at: datetime


Outage = Paused | Recovered
OutageReport = Callable[[Outage], None]


def unreported(outage: Outage) -> None:
    """Collection without a composition root (a collector under test): the log says it all."""


class PlatformRunner:
    def __init__(
        self,
        platform: Platform,
        store: Store,
        clock: Clock,
        circuit: Circuit,
        *,
        on_outage: OutageReport = unreported,
        metrics: Metrics | None = None,
    ) -> None:
        self.platform = platform
        self.store = store
        self.clock = clock
        self.circuit = circuit
        self.on_outage = on_outage  # told of each pause and recovery, at the moment it happens
        self.metrics = metrics
        self._transient_streak = 0
        self._probing = False
        self._failing: set[str] = set()

    async def run(self, source: Source) -> StepResult:
        """One run of `source`; never raises for platform trouble."""
        if not self.circuit.allow() or (
            self.circuit.state is CircuitState.HALF_OPEN and self._probing
        ):
            return self._finish(source, StepResult(source.name, "skipped", detail="circuit open"))
        probing = self.circuit.state is CircuitState.HALF_OPEN
        self._probing = self._probing or probing
        scope = None
        try:
            with source_scope(self.clock.monotonic() + source.budget) as scope:
                rows = await source.run()
        except (Blocked, AuthExpired) as err:
            self._on_block(err)
            result = StepResult(source.name, "blocked", detail=str(err))
        except CircuitOpen as err:
            result = StepResult(source.name, "skipped", detail=str(err))
        except CollectorError as err:
            result = self._on_failure(source, err)
        else:
            self._on_success(source, answered=bool(scope and scope.requests))
            result = StepResult(source.name, "ok", rows=rows)
        finally:
            if probing:
                self._probing = False
        requests = scope.requests if scope else 0
        left = left_text(scope.left) if scope and result.status == "ok" else ""
        result = StepResult(result.name, result.status, result.rows, requests, result.detail, left)
        log.info(
            "%s: %s rows=%d requests=%d%s",
            source.name,
            result.shown_status,
            result.rows,
            requests,
            f" ({result.left or result.detail})"
            if (result.status != "ok" and result.detail) or result.partial
            else "",
        )
        return self._finish(source, result)

    async def run_all(self, sources: list[Source], worker: Worker | None = None) -> PassReport:
        """Every source once, in order (`collect --once`), each under its lease from `worker`
        (default: the only process on its database, which holds every lease); a source another
        worker runs now is left to it (status `held`). A shared source (the comment walk)
        leases its threads itself, as it goes, as in the daemon."""
        worker = worker or LocalWorker(self.clock)
        report = PassReport(self.platform)
        for source in sources:
            lease = SourceLease(None) if source.shared else await worker.claim_source(source.name)
            if lease is None:
                report.steps.append(StepResult(source.name, "held", detail="run by another worker"))
                continue
            try:
                with lease:
                    report.steps.append(await self.run(source))
            finally:
                await worker.release_source(lease)
        log.info("%s", report.summary())
        return report

    # --- outcomes ----------------------------------------------------------------------

    def _finish(self, source: Source, result: StepResult) -> StepResult:
        now = self.clock.now()
        if result.status in ("blocked", "skipped") and self.circuit.state is CircuitState.OPEN:
            due = now + timedelta(seconds=max(self.circuit.seconds_left(), 1.0))
        else:
            due = now + timedelta(seconds=source.interval)
        self.store.runtime.record_source_run(
            source.name,
            self.platform,
            status=result.status,
            at=now,
            due_at=due,
            rows=result.rows,
            requests=result.requests,
            error=result.detail if result.status in ("failed", "blocked") else None,
        )
        if self.metrics:
            self.metrics.record_poll(source, result)
        return result

    def _on_success(self, source: Source, *, answered: bool) -> None:
        self._transient_streak = 0
        if source.name in self._failing:
            log.info("%s recovered", source.name)
            self._failing.discard(source.name)
        # Only an answer from the platform proves it is back: a run with nothing to fetch
        # (no thread due) says nothing, and must not close the circuit.
        if answered and self.circuit.record_success():
            log.warning("%s circuit closed: collection recovered", self.platform)
            self.on_outage(Recovered(self.platform, self.clock.now()))

    def _on_failure(self, source: Source, err: CollectorError) -> StepResult:
        # Logged when a source starts failing, not on every run it keeps failing.
        level = logging.DEBUG if source.name in self._failing else logging.WARNING
        log.log(level, "%s failed: %s", source.name, err)
        self._failing.add(source.name)
        if isinstance(err, TransientHttpError):
            self._transient_streak += 1
            if self._transient_streak >= UNREACHABLE_AFTER:
                self._on_block(
                    CollectorError(
                        f"{self.platform} unreachable: {self._transient_streak} sources in a row"
                        f" failed ({err})"
                    ),
                    cause="unreachable",
                )
                self._transient_streak = 0
        return StepResult(source.name, "failed", detail=str(err))

    def _on_block(self, err: CollectorError, cause: PauseCause | None = None) -> None:
        transition = self.circuit.record_block(str(err))
        if self.metrics:
            self.metrics.blocks.labels(self.platform).inc()
        if transition is None:
            log.debug("%s still blocked: %s", self.platform, err)
            return
        left = self.circuit.seconds_left()
        cooldown = f"{round(left / 60)} min" if left >= 60 else f"{left:.0f} s"
        log.warning("%s circuit opened for %s: %s", self.platform, cooldown, err)
        self.on_outage(
            Paused(
                self.platform,
                str(err),
                left,
                self.clock.now(),
                cause or ("cookie" if isinstance(err, AuthExpired) else "blocked"),
            )
        )
