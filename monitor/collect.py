"""`pingfan collect --once`: one full pass over the enabled platforms, scored as it reads.

Every source runs once, whatever its due time (this is what a cron job wants), through the
same runner as the daemon: the stored circuit is respected, so a pass during a cool-down that
an earlier process started sends nothing to that platform.

As in the daemon, the stages overlap: the model scores in a worker process what the pass has
stored so far while pages are still being read (benchmarks/ingest.py measures both ways). The
rules run once, when everything read is scored: a rule pass in between would judge threads
half read, and send what the full pass might not confirm.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from dataclasses import dataclass, field, replace

from monitor.config import Config
from monitor.runlock import RunLock
from monitor.runtime.alerting import evaluate_and_dispatch
from monitor.runtime.clock import Clock, WallClock
from monitor.runtime.platforms import PLATFORMS, enabled_platforms
from monitor.runtime.scorer import Scorer, ScoringReport, score_pending
from monitor.runtime.sources import PassReport
from monitor.store import Store
from nlp.search_tokens import jieba_search_tokens

log = logging.getLogger(__name__)

SCORE_EVERY = 0.2  # seconds between two scoring rounds while the pass reads


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
) -> list[PassReport]:
    """Run every source of every enabled platform once, in order. `until_done`: then run the
    sources that stopped at their time budget again, until none has work left (a back-fill),
    a platform blocks, or a run makes no progress."""
    reports = []
    for name in enabled_platforms(config, platform):
        async with PLATFORMS[name](config, store, clock, None) as runtime:
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


async def collect_once(
    config: Config,
    platform: str | None = None,
    clock: Clock | None = None,
    *,
    until_done: bool = False,
) -> PassOutcome:
    """One pass, scored; returns its report lines. Blocks are reported, not raised."""
    clock = clock or WallClock()
    outcome = PassOutcome()
    # The model in a worker process, loaded now: a model that cannot load stops us before
    # any request, and scoring never holds up the reading.
    scorer = Scorer(config.nlp.model, pooled=True)
    try:
        await scorer.start()
        with (
            RunLock(config.storage.path),
            Store.for_config(config, search_tokens=jieba_search_tokens) as store,
        ):
            read = asyncio.Event()
            scoring = asyncio.create_task(score_while_reading(store, config, scorer, read))
            try:
                outcome.reports = await collect_pass(
                    config, store, clock, platform, until_done=until_done
                )
            except BaseException:
                scoring.cancel()
                with suppress(asyncio.CancelledError):
                    await scoring
                raise
            read.set()
            scored = await scoring
            for report in outcome.reports:
                outcome.lines.append(report.summary())
                outcome.lines += [
                    f"  {s.status}: {s.name}: {s.detail}"
                    for s in report.steps
                    if s.status in ("blocked", "failed")
                ]
                outcome.lines += [f"  partial: {s.name}: {s.left}" for s in report.partial]
                skipped = sum(s.status == "skipped" for s in report.steps)
                if skipped:
                    outcome.lines.append(f"  skipped {skipped} sources while the circuit is open")
            outcome.lines.append(f"nlp: scored {scored.comments} comments, {scored.posts} posts")
            dispatched = await evaluate_and_dispatch(config, store, clock)
            outcome.lines.append(dispatched.summary())
    finally:
        scorer.close()
    return outcome


async def score_while_reading(
    store: Store, config: Config, scorer: Scorer, read: asyncio.Event
) -> ScoringReport:
    """Score what is stored, round after round, until the pass has read everything and that
    is scored too."""
    comments = posts = 0
    while True:
        last = read.is_set()
        report = await score_pending(store, config, scorer)
        comments, posts = comments + report.comments, posts + report.posts
        if last:
            return ScoringReport(comments, posts)
        if not report.comments and not report.posts:
            with suppress(TimeoutError):
                await asyncio.wait_for(read.wait(), SCORE_EVERY)
