"""Douyin comment threads, for the web API and the Open Platform alike: which threads are
due, and one fair-share visit to a thread (top-level pages by cursor, then the replies of the
comments whose reply count grew).

A thread's state is one cursor row (JSON), saved in the same transaction as the comments it
covers: `count` (the video's comment_count at the last finished read), `newest` (the newest
top-level create_time then), `replies` (reply_comment_total per comment whose replies were
read), `missing`, `read_at`/`full_at`, and `resume` while a walk is unfinished.

Stopping: `statistics.comment_count` counts replies and folded comments too, so it says how
many new items to expect, not exactly how many the list will hold. A walk ends at the list's
end (has_more 0), when it has found as many new items as the count grew, or at a page that
holds nothing new after the first (the first may carry pinned and hot comments). A walk that
ended that way short of the count remembers the shortfall (`missing`), and once a day such a
thread is walked to its end, for new replies under older comments; replies are read only
where a comment's reply_comment_total grew. A thread whose count the platform no longer
reports (`COUNT_UNKNOWN`: an Open Platform video over 30 days old) expects nothing: its walk
ends at the list's end or at a page after the first that holds nothing new.

Traps: has_more 1 with an empty page, a cursor that does not move, or an answer without a
list end the visit at once ("stalled"): the rows are kept, the walk resumes from there at the
next run, and after `STALLS_ALLOWED` stalls at one place the thread counts as read.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from monitor.collectors.due import Plan, due_threads, visit_due_threads
from monitor.collectors.walk import Trail
from monitor.config import Config
from monitor.errors import ParseError
from monitor.models import Comment, Cursor, from_iso, to_utc_iso
from monitor.parse.douyin import CommentPage, DouyinApiError
from monitor.runtime.clock import Clock
from monitor.store import Store

log = logging.getLogger(__name__)

PAGES_PER_VISIT = 5  # top-level pages a visit reads before the next due thread's turn
REPLY_PAGES = 10  # reply pages read for one comment in one visit
FULL_REREAD_EVERY = 86400.0
STALLS_ALLOWED = 3
COUNT_UNKNOWN = -1  # the listed count of a post whose counts are no longer reported

Status = Literal["done", "more", "stalled"]
TopPage = Callable[[str, int], Awaitable[CommentPage]]  # (post id, cursor)
ReplyPage = Callable[[str, str, int], Awaitable[CommentPage]]  # (post id, comment id, cursor)


def page_quirk(page: CommentPage, cursor: int, trail: Trail | None = None) -> str | None:
    """The trap a page falls into, if any (see the module doc); a cursor that does not move
    or comes back, or a page read before, by the walkers' one rule (`walk.Trail`)."""
    if not page.listed:
        return "an answer without a comment list"
    if page.has_more and not page.comments:
        return "has_more with an empty page"
    if page.has_more:
        return (trail or Trail()).loops(cursor, page.cursor, (c.id for c in page.comments))
    return None


def comment_candidates(
    store: Store, config: Config, clock: Clock, platform_now: datetime, source: str
) -> list[tuple[str, int]]:
    """Douyin posts whose comments are due, most overdue first: never read; an unfinished
    walk; comment_count grown since the last read; hot and not read for `comments_hot`; or
    not read for `comments_cold`."""
    rising = store.reports.threads_turning_negative(
        "douyin", since=platform_now - timedelta(hours=6)
    )
    rows = store.reports.comment_poll_state("douyin", source)
    return due_threads(rows, clock.now(), platform_now, config.schedule, rising)


@dataclass
class CommentWalker:
    """One collector's comment walks: `top` and `replies` fetch and parse one page."""

    store: Store
    clock: Clock
    source: str
    top: TopPage
    replies: ReplyPage
    warned: set[str] = field(default_factory=set)  # traps logged once, then at DEBUG

    async def collect_due(self, plan: Plan) -> int:
        """Visit the threads `plan` says are due (`monitor.collectors.due.visit_due_threads`);
        a stalled thread waits for the next run."""

        async def visit(post_id: str, listed: int) -> tuple[int, bool]:
            found, status = await self.visit(post_id, listed)
            return found, status == "more"

        return await visit_due_threads(
            plan, visit, self.clock, self.store,
            source=self.source, thread_errors=(ParseError, DouyinApiError),
        )  # fmt: skip

    async def visit(
        self, post_id: str, listed: int, max_pages: int = PAGES_PER_VISIT
    ) -> tuple[int, Status]:
        state: dict[str, Any] = json.loads(self.store.content.cursor(self.source, post_id) or "{}")
        state.pop("failed", None)  # a visit that gets this far no longer counts as failing
        now = self.clock.now()
        resume = state.get("resume") or {}
        full = "count" in state and _full_walk_due(state, now)
        watermark = int(state.get("newest", 0))
        expected = listed - int(state.get("count", 0)) + int(state.get("missing", 0))
        unknown = listed == COUNT_UNKNOWN  # no count to go by: read until nothing is new
        newest = max(int(resume.get("newest", 0)), watermark)
        found_new = int(resume.get("found", 0))
        cursor = int(resume.get("cursor", 0))
        replies_known: dict[str, int] = dict(state.get("replies") or {})
        found: dict[str, Comment] = {}
        status: Status = "more"
        quirk = None
        missing = 0
        trail = Trail()
        try:
            for index in range(max_pages):
                page = await self.top(post_id, cursor)
                self._log_skipped(post_id, page)
                new_here = 0
                for comment in page.comments:
                    found[comment.id] = comment
                    stamp = int(comment.created_at.timestamp())
                    newest = max(newest, stamp)
                    new_here += stamp > watermark
                for comment_id, total in page.reply_totals.items():
                    known = replies_known.get(comment_id, 0)
                    if total > known:
                        replies, complete = await self._replies(post_id, comment_id)
                        found.update((reply.id, reply) for reply in replies)
                        if complete:
                            replies_known[comment_id] = total
                        new_here += total - known
                quirk = page_quirk(page, cursor, trail)
                if quirk:  # this page is read again when the walk resumes: not counted yet
                    status = "stalled"
                    break
                found_new += new_here
                if not page.has_more or (not full and not unknown and found_new >= expected):
                    status = "done"
                    break
                if not full and new_here == 0 and (index > 0 or (expected <= 0 and not unknown)):
                    status, missing = "done", 0 if unknown else max(expected - found_new, 0)
                    break
                cursor = page.cursor
        except BaseException:
            # Rows read so far are kept; the cursor stays where it was, so nothing is skipped.
            self.store.content.save_comments(found.values())
            raise
        resume = {"cursor": cursor, "found": found_new, "newest": newest, "full": int(full)}
        value = self._next_state(post_id, state, status, quirk, now, listed, replies_known, resume)
        if "resume" not in value:
            value["missing"] = missing
        if status == "stalled" and "resume" not in value:
            status = "done"
        self.store.content.save_comments(
            found.values(), cursor=Cursor(self.source, post_id, json.dumps(value))
        )
        return len(found), status

    def _next_state(
        self,
        post_id: str,
        state: dict[str, Any],
        status: Status,
        quirk: str | None,
        now: datetime,
        listed: int,
        replies: dict[str, int],
        resume: dict[str, int],
    ) -> dict[str, Any]:
        """The thread's next cursor value: read, to be resumed, or stalled at a trap."""
        if status == "stalled":
            stalls = int((state.get("resume") or {}).get("stalls", 0)) + 1
            level = logging.DEBUG if quirk in self.warned else logging.WARNING
            self.warned.add(str(quirk))
            if stalls < STALLS_ALLOWED:
                log.log(level, "douyin comments of %s: %s; resuming there next run", post_id, quirk)
                return {**state, "replies": replies, "resume": {**resume, "stalls": stalls}}
            log.log(
                level, "douyin comments of %s: %s %d times in a row; the thread counts as read",
                post_id, quirk, stalls,
            )  # fmt: skip
            status = "done"
        if status == "done":
            first_or_full = resume["full"] or "count" not in state
            return {
                "count": listed,
                "newest": resume["newest"],
                "replies": replies,
                "read_at": to_utc_iso(now),
                "full_at": to_utc_iso(now) if first_or_full else state.get("full_at"),
            }
        return {**state, "replies": replies, "resume": resume}

    def _log_skipped(self, post_id: str, page: CommentPage) -> None:
        for record in page.skipped:
            log.warning(
                "%s of %s: skipped %s %s, its neighbours kept: %s",
                self.source, post_id, record.kind, record.id, record.reason,
            )  # fmt: skip

    async def _replies(self, post_id: str, comment_id: str) -> tuple[list[Comment], bool]:
        """Every reply of one comment (they are few), and whether the list was read to its
        end; the same traps end it early."""
        replies: list[Comment] = []
        cursor = 0
        trail = Trail()
        for _ in range(REPLY_PAGES):
            page = await self.replies(post_id, comment_id, cursor)
            self._log_skipped(post_id, page)
            replies.extend(page.comments)
            if page_quirk(page, cursor, trail):
                return replies, False
            if not page.has_more:
                return replies, True
            cursor = page.cursor
        return replies, False


def _full_walk_due(state: dict[str, Any], now: datetime) -> bool:
    """A walk to the end is under way, or the last walk ended short and a day has passed."""
    if (state.get("resume") or {}).get("full"):
        return True
    if not state.get("missing"):
        return False
    last = state.get("full_at") or state.get("read_at")
    return last is None or (now - from_iso(last)).total_seconds() >= FULL_REREAD_EVERY
