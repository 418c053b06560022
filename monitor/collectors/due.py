"""Which threads' comments are due, and the order a run visits them in: one rule for every
platform's comment walker."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from monitor.config import ScheduleConfig
from monitor.errors import ParseError
from monitor.models import Cursor, from_iso, to_utc_iso
from monitor.parse.edge import short
from monitor.runtime.clock import Clock
from monitor.runtime.fetch import report_left, time_is_up
from monitor.runtime.leases import SourceLease, claim_part, release_part
from monitor.store import Store

Plan = Callable[[], list[tuple[str, int]]]
# (comments read, more to read): False ends the thread's turn in this run
Visit = Callable[[str, int], Awaitable[tuple[int, bool]]]

NEVER = float("inf")
# A thread whose visit failed waits comments_hot, then twice that, and so on up to this.
FAILED_BACKOFF_MAX = 6 * 3600.0

log = logging.getLogger(__name__)


def retry_delay(failures: int, schedule: ScheduleConfig) -> float:
    """How long a thread that failed `failures` times in a row waits before its next try."""
    return min(schedule.comments_hot * 2 ** min(max(failures - 1, 0), 30), FAILED_BACKOFF_MAX)


def due_threads(
    rows: Iterable[dict[str, Any]],
    now: datetime,
    platform_now: datetime,
    schedule: ScheduleConfig,
    rising: set[str],
) -> list[tuple[str, int]]:
    """(post id, listed comment count) of the threads to visit, most urgent first.

    `rows` come from `store.reports.comment_poll_state`; `now` is the runtime's clock, the same one
    that wrote `read_at` into each cursor; `platform_now` the platform's, which post ages are
    measured against (a post is hot while younger than `hot_window`).

    In this order: never read, or a walk left unfinished (a cut walk is finished before
    anything is re-read); moving: more comments listed than at the last read, or hot (young,
    or its negative share rising) and not read for `comments_hot`; not read for
    `comments_cold`. Among the moving, a rising negative share first, then the most new
    comments listed, then the longest unread: a thread that is turning is read before one
    that merely grew. Otherwise the longest unread first. A run that cannot visit them all
    leaves the cold ones for later, never a thread that is moving.

    A thread whose last visit failed (`failed` in its cursor, see `visit_due_threads`) is
    left alone for `retry_delay`, then tried after all the others."""
    due: list[tuple[int, bool, int, float, str, int]] = []
    for row in rows:
        listed = row["comments"] or 0
        state = json.loads(row["value"]) if row["value"] else {}
        failed = state.get("failed")
        if isinstance(failed, dict):
            waited = (now - from_iso(failed["at"])).total_seconds()
            if waited >= retry_delay(int(failed.get("count", 1)), schedule):
                due.append((3, False, 0, waited, row["id"], listed))
            continue
        if not state or "resume" in state or "read_at" not in state:
            due.append((0, False, 0, NEVER, row["id"], listed))
            continue
        since_read = (now - from_iso(state["read_at"])).total_seconds()
        young = from_iso(row["created_at"]) >= platform_now - timedelta(seconds=schedule.hot_window)
        turning = row["id"] in rising
        new_comments = max(listed - state.get("count", 0), 0)
        if new_comments or ((young or turning) and since_read >= schedule.comments_hot):
            due.append((1, turning, new_comments, since_read, row["id"], listed))
        elif since_read >= schedule.comments_cold:
            due.append((2, False, 0, since_read, row["id"], listed))
    # stable: equals keep the store's newest-first order
    due.sort(key=lambda item: (item[0], not item[1], -item[2], -item[3]))
    return [(post_id, listed) for *_, post_id, listed in due]


async def visit_due_threads(
    plan: Plan,
    visit: Visit,
    clock: Clock,
    store: Store,
    *,
    source: str | None = None,
    thread_errors: tuple[type[Exception], ...] = (ParseError,),
) -> int:
    """Visit due threads one at a time, a few pages a visit, until none is left or the run's
    time is up; returns the comments read.

    The plan is made again when posts were saved since it was made (`store.content.posts_version`):
    a run can last hours at a platform's pace, and a thread listed, grown or turning negative
    meanwhile goes ahead of the cold ones still waiting. (Planning reads every post and the
    last days' labels, so it is not repeated after every visit for nothing.) Threads not yet
    visited in this run go first, in the plan's order; a walk that needs more pages waits
    behind them, so that one long thread cannot starve the rest. A thread whose turn ended
    (read to the end, or stalled) is not visited again in this run.

    A thread whose visit raises one of `thread_errors` (an answer that cannot be read) fails
    alone: the error is recorded on its own cursor in `source` (`failed`: when, how many
    times in a row, what), its turn ends, and the other threads go on. Anything else (a
    block, the circuit, the network) still ends the source, as does any error when no
    `source` is given."""
    isolated = thread_errors if source is not None else ()
    visits: Counter[str] = Counter()
    ended: set[str] = set()
    planned: list[tuple[str, int]] = []
    planned_at: int | None = None
    rows = 0
    while not time_is_up(clock):
        if planned_at != store.content.posts_version:
            planned_at = store.content.posts_version
            planned = plan()
        waiting = [(post_id, listed) for post_id, listed in planned if post_id not in ended]
        if not waiting:
            break
        # min() keeps the first of equals: the plan's order among threads visited as often
        post_id, listed = min(waiting, key=lambda thread: visits[thread[0]])
        visits[post_id] += 1
        # Several workers walk a platform's threads together, one thread each at a time.
        lease = await claim_part(f"{source}:{post_id}") if source else SourceLease(None)
        if lease is None:  # another worker reads this thread now
            ended.add(post_id)
            continue
        try:
            with lease:  # the thread's cursor is written under its lease
                try:
                    found, more = await visit(post_id, listed)
                except isolated as err:
                    assert source is not None
                    record_failure(store, source, post_id, err, clock)
                    ended.add(post_id)
                    continue
        finally:
            await release_part(lease)
        rows += found
        if not more:
            ended.add(post_id)
    if time_is_up(clock):  # cut at the run's budget: say how much waits for the next run
        report_left(sum(post_id not in ended for post_id, _ in planned), "threads")
    return rows


def record_failure(store: Store, source: str, post_id: str, err: Exception, clock: Clock) -> None:
    """Note a failed visit on the thread's cursor, keeping where its walk stands."""
    raw = store.content.cursor(source, post_id)
    state = json.loads(raw) if raw else {}
    previous = state.get("failed")
    if not isinstance(previous, dict):
        previous = {}
    count = int(previous.get("count", 0)) + 1
    state["failed"] = {"at": to_utc_iso(clock.now()), "count": count, "error": short(err)}
    store.content.save_comments([], cursor=Cursor(source, post_id, json.dumps(state)))
    log.warning(
        "%s: the comments of %s could not be read (%s); failure %d in a row, the other "
        "threads go on",
        source, post_id, short(err), count,
    )  # fmt: skip
