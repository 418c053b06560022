"""Sliding windows the alert rules read every round, kept between rounds: each round reads the
rows stored since the last one (a range of the rowid, `pk > cursor`) and drops the rows that
left the window, so its cost follows the new data, not the window's or the store's history.

What a window holds never changes once stored: a topic reading is inserted once (metrics.py),
and a comment's or post's author, text and time stay as first stored (an upsert changes counts
and scores, which these windows do not hold). A window asked for an earlier start than it
holds, or whose table went back (a file restored), is read again in full; so is one whose rows
were deleted (retention, see `MessageWindows`). A new process (a restart) starts empty and reads
its first window in full: the answer is the same rows either way (tests/test_rule_windows.py).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from monitor.models import from_iso, to_utc_iso


@dataclass(frozen=True)
class TopicPoint:
    platform: str
    topic: str
    at: datetime
    views: int | None
    discussions: int | None


@dataclass(frozen=True, eq=False)
class TopicWindow:
    """One topic series' readings in a window, oldest first. Compared by identity: the store
    hands back the same object while the series' window is unchanged, so a rule may remember
    what it concluded from it (alerts/rules/trending.py)."""

    platform: str
    topic: str
    points: tuple[TopicPoint, ...]


@dataclass
class _Series:
    keys: list[tuple[str, int]] = field(default_factory=list)  # (observed_at text, pk), sorted
    points: list[TopicPoint] = field(default_factory=list)
    window: TopicWindow | None = None  # built from `points`; None when they changed


def _max_pk(db: Database, table: str) -> int:
    return int(db.execute(f"SELECT max(pk) FROM {table}").fetchone()[0] or 0)


class TopicWindows:
    """The topic readings observed since `since`, per (platform, topic), kept up to date."""

    def __init__(self, series_keys: Callable[[Database], list[tuple[str, str]]]) -> None:
        self._series_keys = series_keys
        self._since: str | None = None
        self._through = 0  # the highest topic_metrics pk read
        self._series: dict[tuple[str, str], _Series] = {}

    def read(self, db: Database, since: datetime, until: datetime) -> list[TopicWindow]:
        """Every series with readings in [since, until], in (platform, topic) order."""
        start, end = to_utc_iso(since), to_utc_iso(until)
        top = _max_pk(db, "topic_metrics")
        if self._since is None or start < self._since or top < self._through:
            self._series = {}
            for platform, topic in self._series_keys(db):  # a range of each series' index
                self._add(
                    db.execute(
                        "SELECT pk, platform, topic, observed_at, views, discussions"
                        " FROM topic_metrics WHERE platform = ? AND topic = ?"
                        " AND observed_at >= ? AND pk <= ?",
                        (platform, topic, start, top),
                    )
                )
        elif top > self._through:
            self._add(
                db.execute(
                    "SELECT pk, platform, topic, observed_at, views, discussions"
                    " FROM topic_metrics WHERE pk > ? AND pk <= ? AND observed_at >= ?",
                    (self._through, top, start),
                )
            )
        self._since, self._through = start, top
        windows = []
        for key in sorted(self._series):
            series = self._series[key]
            gone = bisect.bisect_left(series.keys, (start, 0))
            if gone:
                del series.keys[:gone], series.points[:gone]
                series.window = None
            if not series.points:
                del self._series[key]
                continue
            if series.window is None:
                series.window = TopicWindow(key[0], key[1], tuple(series.points))
            if series.keys[-1][0] <= end:
                windows.append(series.window)
                continue
            # readings after `until` (a rule run for an earlier moment): a window of its own
            last = bisect.bisect_right(series.keys, (end, 1 << 62))
            if last:
                windows.append(TopicWindow(key[0], key[1], tuple(series.points[:last])))
        return windows

    def _add(self, rows: Iterable[Any]) -> None:
        for pk, platform, topic, at, views, discussions in rows:
            series = self._series.setdefault((platform, topic), _Series())
            point = TopicPoint(platform, topic, from_iso(at), views, discussions)
            key = (at, pk)
            if not series.keys or series.keys[-1] < key:
                series.keys.append(key)
                series.points.append(point)
            else:  # a reading stored late, for an earlier moment
                index = bisect.bisect_left(series.keys, key)
                series.keys.insert(index, key)
                series.points.insert(index, point)
            series.window = None


@dataclass(frozen=True)
class MessageFacts:
    """A comment, or a post (its own id as `post_id`), as near-duplicate search reads it."""

    platform: str
    id: str
    post_id: str
    author_id: str
    text: str
    created_at: datetime


@dataclass
class _Messages:
    since: str
    through: tuple[int, int]  # the highest comments and posts pk read
    keys: list[tuple[str, int, int]] = field(default_factory=list)  # (created_at, table, pk)
    items: list[MessageFacts] = field(default_factory=list)


# A platform's comments, then its posts (a post with its own id as post_id), created since ?2
# (?1 is the platform), `{rows}` choosing which: a range of the time index when a window is read
# in full, a range of the rowid (the rows stored since the last call) otherwise.
_MESSAGES = (
    "SELECT 0, pk, platform, id, post_id, author_id, text, created_at FROM comments"
    " WHERE +platform = ?1 AND {rows}",
    "SELECT 1, pk, platform, id, id, author_id, text, created_at FROM posts"
    " WHERE +platform = ?1 AND {rows}",
)
_IN_FULL = "created_at >= ?2 AND +pk > ?3 AND +pk <= ?4"
_STORED_SINCE = "+created_at >= ?2 AND pk > ?3 AND pk <= ?4"


class MessageWindows:
    """Each platform's comments and posts created since `since`, kept up to date: the rows
    stored since the last call are read by rowid. Unlike topic readings, comments are deleted
    by retention: a window whose row count no longer matches the tables' (one index range
    count each) is read again in full."""

    def __init__(self) -> None:
        self._windows: dict[str, _Messages] = {}

    def read(
        self, db: Database, platform: str, since: datetime, until: datetime, limit: int
    ) -> list[MessageFacts]:
        """The messages created in [since, until], oldest first, at most `limit`."""
        start, end = to_utc_iso(since), to_utc_iso(until)
        top = (_max_pk(db, "comments"), _max_pk(db, "posts"))
        held = self._windows.get(platform)
        if (
            held is None
            or start < held.since
            or top[0] < held.through[0]
            or top[1] < held.through[1]
        ):
            held = self._load(db, platform, start, top)
        else:
            self._add(db, held, platform, start, (held.through, top), _STORED_SINCE)
            gone = bisect.bisect_left(held.keys, (start, 0, 0))
            del held.keys[:gone], held.items[:gone]
            if self._stored(db, platform, start) != len(held.keys):
                held = self._load(db, platform, start, top)
        held.since, held.through = start, top
        last = bisect.bisect_right(held.keys, (end, 2, 0))
        return held.items[: min(last, limit)]

    def _load(self, db: Database, platform: str, start: str, top: tuple[int, int]) -> _Messages:
        held = _Messages(start, top)
        self._add(db, held, platform, start, ((0, 0), top), _IN_FULL)
        self._windows[platform] = held
        return held

    @staticmethod
    def _add(
        db: Database,
        held: _Messages,
        platform: str,
        start: str,
        pks: tuple[tuple[int, int], tuple[int, int]],
        rows_sql: str,
    ) -> None:
        (after_comment, after_post), (top_comment, top_post) = pks
        rows = [
            *db.execute(
                _MESSAGES[0].format(rows=rows_sql),
                (platform, start, after_comment, top_comment),
            ),
            *db.execute(
                _MESSAGES[1].format(rows=rows_sql),
                (platform, start, after_post, top_post),
            ),
        ]
        for table, pk, platform_, id_, post_id, author_id, text, created_at in rows:
            key = (created_at, table, pk)
            message = MessageFacts(platform_, id_, post_id, author_id, text, from_iso(created_at))
            if not held.keys or held.keys[-1] < key:
                held.keys.append(key)
                held.items.append(message)
            else:
                index = bisect.bisect_left(held.keys, key)
                held.keys.insert(index, key)
                held.items.insert(index, message)

    @staticmethod
    def _stored(db: Database, platform: str, start: str) -> int:
        return sum(
            int(
                db.execute(
                    f"SELECT count(*) FROM {table} WHERE +platform = ? AND created_at >= ?",
                    (platform, start),
                ).fetchone()[0]
            )
            for table in ("comments", "posts")
        )
