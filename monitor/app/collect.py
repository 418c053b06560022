"""`pingfan collect --once`: one pass over the enabled platforms (monitor/collect.py), scored
as it reads, then the alert rules and one dispatch of the outbox.

As in the daemon, the stages overlap, through the daemon's own parts: the model loads and then
scores (`score_pending`, in a worker process) what the pass has stored while pages are still
being read, and WAL checkpoints run off the loop (monitor/store/housekeeping.py);
benchmarks/ingest.py measures this against the stages in sequence. The rules run once, when
everything read is scored: a rule round in between would judge threads half read (a thread's
newest pages first), and could send, with its numbers, what the full pass does not confirm;
they cost milliseconds to a second, against the pass's tens of seconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from contextlib import suppress

from monitor.app.alerting import evaluate_and_dispatch
from monitor.app.outages import health_alerts
from monitor.collect import PassOutcome, collect_pass, pass_lines
from monitor.config import Config
from monitor.runlock import run_lock
from monitor.runtime.clock import Clock, WallClock
from monitor.runtime.scorer import Scorer, ScoringReport, score_pending
from monitor.store import Store, housekeeping
from nlp.search_tokens import jieba_search_tokens

EXIT_OK = 0
EXIT_BLOCKED = 4  # the pass ran, but a platform blocked it (see the health alert)
SCORE_EVERY = 1.0  # seconds between two scoring rounds while the pass reads
CHECKPOINT_EVERY = 2.0  # seconds between two WAL checkpoints while the pass reads


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
    # The model loads in a worker process while the first pages are read (that takes
    # seconds); one that cannot load stops the pass as soon as that is known, with its one
    # line (what was read stays stored, and the next pass scores it).
    scorer = Scorer(config.nlp.model, pooled=True)
    try:
        with (
            run_lock(config),
            Store.for_config(config, search_tokens=jieba_search_tokens) as store,
        ):
            on_outage = health_alerts(store, config.ui.language)
            read = asyncio.Event()
            loading = asyncio.create_task(scorer.start())
            scoring = asyncio.create_task(score_while_reading(store, config, scorer, read, loading))
            checkpoints = asyncio.create_task(checkpoint_while_reading(store, read))
            reading = asyncio.create_task(
                collect_pass(
                    config, store, clock, platform, until_done=until_done, on_outage=on_outage
                )
            )
            scoring.add_done_callback(lambda done: _stop_if_failed(done, reading))
            try:
                outcome.reports = await reading
            except BaseException:
                for task in (reading, scoring, checkpoints):
                    task.cancel()
                with suppress(asyncio.CancelledError):
                    await asyncio.gather(reading, scoring, checkpoints, return_exceptions=True)
                failed = _failure(scoring)
                if failed is not None:
                    raise failed from None  # the model could not load: say that, not "cancelled"
                raise
            read.set()
            scored = await scoring
            await checkpoints
            outcome.lines += pass_lines(outcome.reports)
            outcome.lines.append(f"nlp: scored {scored.comments} comments, {scored.posts} posts")
            dispatched = await evaluate_and_dispatch(config, store, clock)
            outcome.lines.append(dispatched.summary())
    finally:
        scorer.close()
    return outcome


def _failure(task: asyncio.Task) -> BaseException | None:
    if not task.done() or task.cancelled():
        return None
    return task.exception()


def _stop_if_failed(scoring: asyncio.Task, reading: asyncio.Task) -> None:
    """Scoring failed (the model cannot load, the database...): reading on is for nothing."""
    if _failure(scoring) is not None:
        reading.cancel()


async def score_while_reading(
    store: Store,
    config: Config,
    scorer: Scorer,
    read: asyncio.Event,
    loading: Awaitable[None] | None = None,
) -> ScoringReport:
    """Score what is stored, a round every `SCORE_EVERY` (the first once the model has
    loaded), until the pass has read everything and that is scored too. Rounds that far apart
    score a few thousand rows each: every round costs a query and a write transaction on the
    loop, so many small ones slow the reading."""
    if loading is not None:
        await loading
    comments = posts = 0
    while True:
        last = read.is_set()
        report = await score_pending(store, config, scorer)
        comments, posts = comments + report.comments, posts + report.posts
        if last:
            return ScoringReport(comments, posts)
        with suppress(TimeoutError):
            await asyncio.wait_for(read.wait(), SCORE_EVERY)


async def checkpoint_while_reading(store: Store, read: asyncio.Event) -> None:
    """As in the daemon: SQLite's own WAL checkpoints would run inside the pass's commits, on
    the loop; they run in a worker thread instead (monitor/store/housekeeping.py), every
    `CHECKPOINT_EVERY` until the pass has read everything (closing the store checkpoints
    the rest)."""
    if store.path == ":memory:":
        return
    housekeeping.take_over_checkpoints(store)
    while not read.is_set():
        with suppress(TimeoutError):
            await asyncio.wait_for(read.wait(), CHECKPOINT_EVERY)
        await housekeeping.checkpoint(store)
