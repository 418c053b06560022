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
    rows: Iterable[dict[str, Any]], now: datetime, schedule: ScheduleConfig, rising: set[str]
) -> list[tuple[str, int]]:
    """(post id, listed comment count) of the threads to visit, most urgent first.

    `rows` come from `Store.comment_poll_state`; `now` is the runtime's clock, the same one
    that wrote `read_at` into each cursor. Due: never read, or a walk left unfinished (both
    first in line: a cut walk is finished before anything else is re-read); more comments
    listed than at the last read; hot (young at its last reading, or its negative share
    rising) and not read for `comments_hot`; not read for `comments_cold`. Then the longest
    unread first."""
    due: list[tuple[float, str, int]] = []
    for row in rows:
        listed = row["comments"] or 0
        state = json.loads(row["value"]) if row["value"] else {}
        if not state or "resume" in state or "read_at" not in state:
            due.append((NEVER, row["id"], listed))
            continue
        since_read = (now - from_iso(state["read_at"])).total_seconds()
        age = from_iso(row["observed_at"]) - from_iso(row["created_at"])
        hot = age < timedelta(seconds=schedule.hot_window) or row["id"] in rising
        if (
            listed > state.get("count", 0)
            or (hot and since_read >= schedule.comments_hot)
            or since_read >= schedule.comments_cold
        ):
            due.append((since_read, row["id"], listed))
    due.sort(key=lambda item: -item[0])  # stable: equals keep the store's newest-first order
    return [(post_id, listed) for _, post_id, listed in due]
