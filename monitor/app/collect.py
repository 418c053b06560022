"""`pingfan collect --once`: one pass over the enabled platforms (monitor/collect.py), the
NLP step, then the alert rules and one dispatch of the outbox."""

from __future__ import annotations

import asyncio

from monitor.app.alerting import evaluate_and_dispatch
from monitor.app.outages import health_alerts
from monitor.collect import PassOutcome, collect_pass, pass_lines
from monitor.config import Config
from monitor.runlock import RunLock
from monitor.runtime.clock import Clock, WallClock
from monitor.runtime.scorer import Scorer, score_pending
from monitor.store import Store
from nlp.search_tokens import jieba_search_tokens

EXIT_OK = 0
EXIT_BLOCKED = 4  # the pass ran, but a platform blocked it (see the health alert)


def collect_command(config: Config, platform: str | None, *, until_done: bool = False) -> int:
    """One pass; a partial one (a source cut at its time budget) still exits 0, and its
    summary says `partial` and how much is left."""
    outcome = asyncio.run(collect_once(config, platform, until_done=until_done))
    for line in outcome.lines:
        print(line)
    return EXIT_BLOCKED if outcome.blocked else EXIT_OK


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
    scorer = Scorer(config.nlp.model)  # a model that cannot load stops us before any request
    with (
        RunLock(config.storage.path),
        Store.for_config(config, search_tokens=jieba_search_tokens) as store,
    ):
        on_outage = health_alerts(store, config.ui.language)
        outcome.reports = await collect_pass(
            config, store, clock, platform, until_done=until_done, on_outage=on_outage
        )
        outcome.lines += pass_lines(outcome.reports)
        scored = await score_pending(store, config, scorer)
        outcome.lines.append(f"nlp: scored {scored.comments} comments, {scored.posts} posts")
        dispatched = await evaluate_and_dispatch(config, store, clock)
        outcome.lines.append(dispatched.summary())
    return outcome
