"""The one rule that ends every paged walk (Weibo comments and listings, Douyin lists,
comments and replies, the Open Platform's lists): a walk stops when the platform hands back
the cursor it was just given, a cursor the walk has already followed, or a page it has
already read. It stops with one warning, so a platform that loops (hotflow returning the same
`max_id`) costs a page or two, never a hundred requests.

What a stopped walk means is the walker's business (a listing keeps its watermark, a comment
thread resumes or counts as read); only the detection and the warning live here.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

from monitor.parse.edge import Skipped

log = logging.getLogger(__name__)

UNCHANGED = "a cursor that does not move"
CURSOR_SEEN = "a cursor seen before"
PAGE_SEEN = "a page seen before"


@dataclass
class Trail:
    """The cursors and pages one walk has met so far."""

    cursors: set[Hashable] = field(default_factory=set)
    pages: set[tuple[str, ...]] = field(default_factory=set)

    def loops(self, cursor: Hashable, next_cursor: Hashable, ids: Iterable[object]) -> str | None:
        """After reading the page at `cursor` (its records' `ids`), about to follow
        `next_cursor`: why the walk must end here, or None to go on."""
        self.cursors.add(cursor)
        page = tuple(str(i) for i in ids)
        if page:
            if page in self.pages:
                return PAGE_SEEN
            self.pages.add(page)
        if next_cursor == cursor:
            return UNCHANGED
        if next_cursor in self.cursors:
            return CURSOR_SEEN
        return None


@dataclass
class Warnings:
    """A walker's warnings: the first of a kind at each place at WARNING, repeats at DEBUG,
    so a trap that lasts does not flood the log."""

    seen: set[tuple[str, str]] = field(default_factory=set)

    def walk_ended(self, where: str, reason: str, outcome: str) -> None:
        level = logging.DEBUG if (where, reason) in self.seen else logging.WARNING
        self.seen.add((where, reason))
        log.log(level, "%s: %s; walk ended, %s", where, reason, outcome)


def log_skipped(logger: logging.Logger, where: str, skipped: Iterable[Skipped]) -> None:
    """Each record a page dropped while its neighbours were kept, with the reason."""
    for record in skipped:
        logger.warning(
            "%s: skipped %s %s, its neighbours kept: %s",
            where, record.kind, record.id, record.reason,
        )  # fmt: skip
