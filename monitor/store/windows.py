"""The topic readings the trending rule reads every round (14 days of 15-minute readings),
kept between rounds: each round reads the readings stored since the last one (a range of the
rowid, `pk > cursor`) and drops those that left the window, so its cost follows the new data,
not the window's or the store's history.

A topic reading is inserted once and never changed (metrics.py), so what the window holds stays
true while it is stored. A window asked for an earlier start than it holds, whose table went
back (a file restored), or whose readings were deleted (one count of each series' index range
notices; SQLite gives a new row a rowid above every stored one unless the newest row was
deleted, which no retention of old readings does) is read again in full. A new process (a
restart) starts empty and reads its first window in full: the answer is the same readings
either way (tests/test_rule_windows.py). On PostgreSQL a reading committed late under a pk
below the cursor (two writers' transactions ending out of order) is caught by the same count.

Comments are not kept this way: their labels, likes and text change after they are stored
(scoring, the team's labels, a thread read again), and nothing records which changed.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from monitor.models import from_iso, to_utc_iso
from monitor.store.backend import Backend


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


def _max_pk(db: Backend, table: str) -> int:
    return int(db.execute(f"SELECT max(pk) FROM {table}").fetchone()[0] or 0)


class TopicWindows:
    """The topic readings observed since `since`, per (platform, topic), kept up to date."""

    def __init__(self, series_keys: Callable[[Backend], list[tuple[str, str]]]) -> None:
        self._series_keys = series_keys
        self._since: str | None = None
        self._through = 0  # the highest topic_metrics pk read
        self._series: dict[tuple[str, str], _Series] = {}

    def read(self, db: Backend, since: datetime, until: datetime) -> list[TopicWindow]:
        """Every series with readings in [since, until], in (platform, topic) order."""
        start, end = to_utc_iso(since), to_utc_iso(until)
        top = _max_pk(db, "topic_metrics")
        if self._since is None or start < self._since or top < self._through:
            self._load(db, start, top)
        else:
            self._add(
                db.execute(
                    "SELECT pk, platform, topic, observed_at, views, discussions"
                    " FROM topic_metrics WHERE pk > ? AND pk <= ?"
                    f" AND {db.dialect.unindexed('observed_at')} >= ?",
                    (self._through, top, start),
                ).fetchall()
            )
            self._trim(start)
            if not self._complete(db, start):
                self._load(db, start, top)
        self._since, self._through = start, top
        windows = []
        for key in sorted(self._series):
            series = self._series[key]
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

    def _load(self, db: Backend, start: str, top: int) -> None:
        self._series = {}
        for platform, topic in self._series_keys(db):  # a range of each series' index
            self._add(
                db.execute(
                    "SELECT pk, platform, topic, observed_at, views, discussions"
                    " FROM topic_metrics WHERE platform = ? AND topic = ?"
                    f" AND observed_at >= ? AND {db.dialect.unindexed('pk')} <= ?",
                    (platform, topic, start, top),
                ).fetchall()
            )

    def _trim(self, start: str) -> None:
        for key, series in list(self._series.items()):
            gone = bisect.bisect_left(series.keys, (start, 0))
            if gone:
                del series.keys[:gone], series.points[:gone]
                series.window = None
            if not series.points:
                del self._series[key]

    def _complete(self, db: Backend, start: str) -> bool:
        """Does every series still hold, in the table, the readings the window holds? (One
        count of each series' index range: a reading deleted under the window is noticed.)"""
        for platform, topic in {*self._series_keys(db), *self._series}:
            held = self._series.get((platform, topic))
            stored = db.execute(
                "SELECT count(*) FROM topic_metrics"
                " WHERE platform = ? AND topic = ? AND observed_at >= ?",
                (platform, topic, start),
            ).fetchone()[0]
            if stored != (len(held.keys) if held else 0):
                return False
        return True

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
