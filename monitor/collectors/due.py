"""Which threads' comments are due: one pure rule for every platform's comment walker."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from monitor.config import ScheduleConfig
from monitor.models import from_iso

NEVER = float("inf")


def due_threads(
    rows: Iterable[dict[str, Any]],
    now: datetime,
    platform_now: datetime,
    schedule: ScheduleConfig,
    rising: set[str],
) -> list[tuple[str, int]]:
    """(post id, listed comment count) of the threads to visit, most urgent first.

    `rows` come from `Store.comment_poll_state`; `now` is the runtime's clock, the same one
    that wrote `read_at` into each cursor; `platform_now` the platform's, which post ages are
    measured against (a post is hot while younger than `hot_window`).

    In this order, the longest unread first within each: never read, or a walk left
    unfinished (a cut walk is finished before anything is re-read); more comments listed
    than at the last read, or hot (young, or its negative share rising) and not read for
    `comments_hot`; not read for `comments_cold`. A run that cannot visit them all leaves
    the cold ones for later, never a thread that is moving."""
    due: list[tuple[int, float, str, int]] = []
    for row in rows:
        listed = row["comments"] or 0
        state = json.loads(row["value"]) if row["value"] else {}
        if not state or "resume" in state or "read_at" not in state:
            due.append((0, NEVER, row["id"], listed))
            continue
        since_read = (now - from_iso(state["read_at"])).total_seconds()
        young = from_iso(row["created_at"]) >= platform_now - timedelta(seconds=schedule.hot_window)
        hot = young or row["id"] in rising
        if listed > state.get("count", 0) or (hot and since_read >= schedule.comments_hot):
            due.append((1, since_read, row["id"], listed))
        elif since_read >= schedule.comments_cold:
            due.append((2, since_read, row["id"], listed))
    # stable: equals keep the store's newest-first order
    due.sort(key=lambda item: (item[0], -item[1]))
    return [(post_id, listed) for _, _, post_id, listed in due]
