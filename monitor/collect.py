"""`pingfan collect --once`: one full pass over the enabled platforms, then the NLP step.

Every source runs once, whatever its due time (this is what a cron job wants), through the
same runner as the daemon: the stored circuit is respected, so a pass during a cool-down that
an earlier process started sends nothing to that platform.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from monitor.config import Config
from monitor.runlock import RunLock
from monitor.runtime.alerting import evaluate_and_dispatch
from monitor.runtime.clock import Clock, WallClock
from monitor.runtime.platforms import PLATFORMS, enabled_platforms
from monitor.runtime.scorer import Scorer, score_pending
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
    config: Config, store: Store, clock: Clock, platform: str | None = None
) -> list[PassReport]:
    """Run every source of every enabled platform once, in order."""
    reports = []
    for name in enabled_platforms(config, platform):
        async with PLATFORMS[name](config, store, clock, None) as runtime:
            reports.append(await runtime.runner.run_all(list(runtime.sources)))
    return reports


async def collect_once(
    config: Config, platform: str | None = None, clock: Clock | None = None
) -> PassOutcome:
    """One pass, scored; returns its report lines. Blocks are reported, not raised."""
    clock = clock or WallClock()
    outcome = PassOutcome()
    scorer = Scorer(config.nlp.model)  # a model that cannot load stops us before any request
    with RunLock(config.storage.path), Store.for_config(config) as store:
        outcome.reports = await collect_pass(config, store, clock, platform)
        for report in outcome.reports:
            outcome.lines.append(report.summary())
            outcome.lines += [
                f"  {s.status}: {s.name}: {s.detail}"
                for s in report.steps
                if s.status in ("blocked", "failed")
            ]
            skipped = sum(s.status == "skipped" for s in report.steps)
            if skipped:
                outcome.lines.append(f"  skipped {skipped} sources while the circuit is open")
        scored = await score_pending(store, config, scorer)
        outcome.lines.append(f"nlp: scored {scored.comments} comments, {scored.posts} posts")
        dispatched = await evaluate_and_dispatch(config, store, clock)
        outcome.lines.append(dispatched.summary())
    return outcome
