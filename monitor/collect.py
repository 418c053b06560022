"""`pingfan collect --once`'s pass over the enabled platforms (monitor/app/collect.py adds
the NLP step and the alerts).

Every source runs once, whatever its due time (this is what a cron job wants), through the
same runner as the daemon: the stored circuit is respected, so a pass during a cool-down that
an earlier process started sends nothing to that platform. On PostgreSQL, beside running
workers, the pass takes part as one more worker: it claims each source's lease (a source a
worker runs now is left to it, and said so) and a free identity (a cookie a worker uses is
never sent from here too; with none free, the pass stops before its first request).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace

from monitor.config import Config
from monitor.runtime.clock import Clock
from monitor.runtime.leases import (
    NoIdentity,
    PostgresWorker,
    Worker,
    work_for,
    worker_for,
)
from monitor.runtime.platforms import PLATFORMS, PlatformRuntime, enabled_platforms
from monitor.runtime.runner import OutageReport, unreported
from monitor.runtime.sources import PassReport
from monitor.store import Store

log = logging.getLogger(__name__)


@dataclass
class PassOutcome:
    reports: list[PassReport] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    @property
    def blocked(self) -> bool:
        return any(report.blocked for report in self.reports)


async def collect_pass(
    config: Config,
    store: Store,
    clock: Clock,
    platform: str | None = None,
    *,
    until_done: bool = False,
    on_outage: OutageReport = unreported,
) -> list[PassReport]:
    """Run every source of every enabled platform once, in order. `until_done`: then run the
    sources that stopped at their time budget again, until none has work left (a back-fill),
    a platform blocks, or a run makes no progress. `on_outage`: told of pauses and recoveries."""
    reports = []
    async with _pass_worker(config, store, clock) as worker:
        for name in enabled_platforms(config, platform):
            try:
                async with PLATFORMS[name](
                    config, store, clock, None, on_outage, worker=worker
                ) as runtime:
                    reports.append(await _run_pass(runtime, worker, until_done=until_done))
            except NoIdentity:
                raise NoIdentity(
                    f"{name}: every identity is in use by a running worker, and collect --once "
                    "never sends a cookie another worker uses; give it one of its own "
                    f"([{name}] cookie_envs) or run it while the workers are stopped"
                ) from None
    return reports


@asynccontextmanager
async def _pass_worker(config: Config, store: Store, clock: Clock) -> AsyncIterator[Worker]:
    """The pass's share of the sources: all of them on SQLite (the run lock keeps it alone);
    on PostgreSQL, leased beside the running workers. Its stop is set from the start: a pass
    never waits for an identity to come free."""
    stopped = asyncio.Event()
    stopped.set()
    worker = worker_for(store, clock, lease_seconds=config.schedule.lease, stop=stopped)
    work_for(worker)  # the comment walk leases its threads through it
    if isinstance(worker, PostgresWorker):
        worker.start()  # the heartbeat: a long source keeps its lease
    try:
        yield worker
    finally:
        await worker.close()


async def _run_pass(runtime: PlatformRuntime, worker: Worker, *, until_done: bool) -> PassReport:
    runner, sources = runtime.runner, list(runtime.sources)
    report = await runner.run_all(sources, worker)
    while until_done and report.partial and not report.blocked:
        again = {step.name for step in report.partial}
        log.info("%s: %d source(s) partial; reading on (--until-done)", runner.platform, len(again))
        more = await runner.run_all([s for s in sources if s.name in again], worker)
        report = _merged(report, more)
        if not any(step.requests for step in more.steps):
            break  # no progress: leave the rest to the next pass
    return report


def _merged(first: PassReport, more: PassReport) -> PassReport:
    """One report for a pass and its follow-up runs: each source's last outcome, with the rows
    and requests of all its runs."""
    latest = {step.name: step for step in more.steps}
    merged = PassReport(first.platform)
    for step in first.steps:
        again = latest.get(step.name)
        if again is None:
            merged.steps.append(step)
        else:
            rows, requests = step.rows + again.rows, step.requests + again.requests
            merged.steps.append(replace(again, rows=rows, requests=requests))
    return merged


def pass_lines(reports: list[PassReport]) -> list[str]:
    """What `collect --once` prints for its pass: a summary per platform, then what failed,
    was blocked, is left, or was skipped."""
    lines = []
    for report in reports:
        lines.append(report.summary())
        lines += [
            f"  {s.status}: {s.name}: {s.detail}"
            for s in report.steps
            if s.status in ("blocked", "failed")
        ]
        lines += [f"  partial: {s.name}: {s.left}" for s in report.partial]
        held = sum(s.status == "held" for s in report.steps)
        if held:
            lines.append(f"  held {held} sources that another worker runs now")
        skipped = sum(s.status == "skipped" for s in report.steps)
        if skipped:
            lines.append(f"  skipped {skipped} sources while the circuit is open")
    return lines
