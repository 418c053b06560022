"""`pingfan collect --once`'s pass over the enabled platforms (monitor/app/collect.py adds
the NLP step and the alerts).

Every source runs once, whatever its due time (this is what a cron job wants), through the
same runner as the daemon: the stored circuit is respected, so a pass during a cool-down that
an earlier process started sends nothing to that platform.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

from monitor.config import Config
from monitor.runtime.clock import Clock
from monitor.runtime.platforms import PLATFORMS, enabled_platforms
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
    for name in enabled_platforms(config, platform):
        async with PLATFORMS[name](config, store, clock, None, on_outage) as runtime:
            report = await runtime.runner.run_all(list(runtime.sources))
            while until_done and report.partial and not report.blocked:
                again = {step.name for step in report.partial}
                log.info("%s: %d source(s) partial; reading on (--until-done)", name, len(again))
                more = await runtime.runner.run_all([s for s in runtime.sources if s.name in again])
                report = _merged(report, more)
                if not any(step.requests for step in more.steps):
                    break  # no progress: leave the rest to the next pass
            reports.append(report)
    return reports


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
        skipped = sum(s.status == "skipped" for s in report.steps)
        if skipped:
            lines.append(f"  skipped {skipped} sources while the circuit is open")
    return lines
