"""Housekeeping for a SQLite file that runs for months: retention in batches off the event
loop, WAL checkpoints that stall nobody, the file's free pages handed back, the planner's
statistics kept fresh.

The daemon's connection lives on the event loop. Whatever here may take long runs in a worker
thread on a second connection to the same file (WAL: readers and the loop's writers go on),
one short transaction at a time, so the loop never waits for more than one short step:

- `purge_comments`: comments past `[storage] comment_retention_days`, a batch per transaction,
  each batch sized from the last one's duration to hold the write lock for about
  `STEP_TARGET_S` (10 ms; a comment's trigram full-text rows are most of its cost, and it varies
  with the machine's load: measured at 1,000,000 comments, a batch of 1,000 took ~0.7 s on a
  loaded machine), with a pause as long as the batch (25 ms at least) after each: retention
  takes at most half of a core and the loop's writers find the lock free at least half of
  the time; a PASSIVE checkpoint every few batches keeps the WAL small;
- `checkpoint`: a PASSIVE checkpoint, which neither waits for readers nor blocks writers; the
  daemon turns SQLite's own auto-checkpoint off (it would run inside a commit on the loop);
- `release_free_pages`: `PRAGMA incremental_vacuum` in steps sized the same way, for files
  created with `auto_vacuum = INCREMENTAL` (every file pingfan creates; an older file reuses
  its free pages for new rows instead, and `pingfan doctor` says how many there are);
- `optimize_statistics`: `PRAGMA optimize` (bounded by `analysis_limit`) a few times a day,
  on the loop's own connection, whose queries tell SQLite which tables need statistics.

A store in memory (tests) has no second connection: there the same batches run on the loop,
yielding between them.

On PostgreSQL the retention purge runs the same statements in the same batches on the store's
own connection (the server takes row locks, so the loop's writers wait for no file lock; the
trigram index is a GIN index on `comments.text`, kept by the server), pausing between them.
WAL checkpoints, incremental vacuum and `PRAGMA optimize` are SQLite's: on PostgreSQL they do
nothing, autovacuum does that work.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from monitor.models import to_utc_iso
from monitor.store.backend import Backend
from monitor.store.connection import BUSY_TIMEOUT_MS, StoreBase

log = logging.getLogger(__name__)

T = TypeVar("T")

# Work per transaction: the longest the loop's own writers should wait for the write lock.
# On a loaded machine a step's time grows by whatever the thread waits for the CPU while it
# holds the lock: there, 10 ms steps held it less long than 20 ms steps did (p99 129 and 256
# ms against 179 and 303; longest 144 and 406 against 368 and 839).
STEP_TARGET_S = 0.010
PURGE_FIRST_BATCH = 50  # comments in the first batch, before one was measured
PURGE_MAX_BATCH = 2000  # comments per transaction at most, however fast they go
VACUUM_FIRST_STEP = 200  # pages in the first incremental vacuum step (800 KB of 4 KB pages)
VACUUM_MAX_STEP = 4000
# Between steps at least: longer than SQLite's busy handler sleeps between its first tries,
# so that a writer on the loop waiting for the lock gets it at its next try.
PAUSE_MIN_S = 0.025
CHECKPOINT_EVERY_BATCHES = 8  # a PASSIVE checkpoint between batches: the WAL stays small
ANALYSIS_LIMIT = 1000  # rows `PRAGMA optimize` samples per index: bounded, fresh enough

# The citizen's words copied into a team label go with the comment: a label naming a comment
# that is purged now, or an old label whose comment is gone already. Labels the team typed
# (no comment_id) stay.
_PURGE_LABELS = """
DELETE FROM labels WHERE comment_id IS NOT NULL AND (
    EXISTS (SELECT 1 FROM comments c WHERE c.platform = labels.platform
            AND c.id = labels.comment_id AND c.created_at < :cutoff)
    OR (given_at < :cutoff AND NOT EXISTS (SELECT 1 FROM comments c
            WHERE c.platform = labels.platform AND c.id = labels.comment_id))
)
"""
# The oldest first, by the created_at index: each batch costs its own rows, not the table's.
_PURGE_BATCH = """
DELETE FROM comments WHERE pk IN (
    SELECT pk FROM comments WHERE created_at < ? ORDER BY created_at LIMIT ?
)
"""


@dataclass(frozen=True)
class FileFacts:
    """What `pingfan doctor` says of the file."""

    bytes: int  # the database file plus its WAL
    wal_bytes: int
    page_size: int
    pages: int
    free_pages: int
    auto_vacuum: str  # none, full or incremental

    @property
    def free_bytes(self) -> int:
        return self.free_pages * self.page_size


_AUTO_VACUUM = {0: "none", 1: "full", 2: "incremental"}


def file_facts(store: StoreBase) -> FileFacts:
    """The file's size, pages and free pages (0 bytes for a store in memory)."""
    db = store.db

    def pragma(name: str) -> int:
        return int(db.execute(f"PRAGMA {name}").fetchone()[0])

    size = wal = 0
    if store.path != ":memory:":
        main = Path(store.path)
        size = main.stat().st_size if main.exists() else 0
        wal_file = Path(store.path + "-wal")
        wal = wal_file.stat().st_size if wal_file.exists() else 0
    return FileFacts(
        bytes=size + wal,
        wal_bytes=wal,
        page_size=pragma("page_size"),
        pages=pragma("page_count"),
        free_pages=pragma("freelist_count"),
        auto_vacuum=_AUTO_VACUUM.get(pragma("auto_vacuum"), "none"),
    )


# --- the steps, each on a connection given --------------------------------------------


def purge_labels(conn: sqlite3.Connection, cutoff: str) -> None:
    with conn:
        conn.execute(_PURGE_LABELS, {"cutoff": cutoff})


def purge_one_batch(conn: sqlite3.Connection, cutoff: str, batch: int = PURGE_MAX_BATCH) -> int:
    """Delete up to `batch` comments made before `cutoff` (their full-text rows go through the
    delete trigger) in one transaction; returns how many went."""
    with conn:
        return conn.execute(_PURGE_BATCH, (cutoff, batch)).rowcount


def _on_sqlite(store: StoreBase) -> bool:
    return store.sql.dialect.name == "sqlite"


def _purge_step(sql: Backend, statement: str, params: Sequence[Any] | Mapping[str, Any]) -> int:
    """One purge statement in a transaction of its own, on a back-end's connection."""
    with sql.atomic():
        return sql.execute(statement, params).rowcount


def vacuum_one_step(conn: sqlite3.Connection, pages: int) -> int:
    """Hand back up to `pages` free pages to the file system; returns the free pages left.
    Nothing to do unless the file was created with auto_vacuum = INCREMENTAL."""
    if int(conn.execute("PRAGMA auto_vacuum").fetchone()[0]) != 2:
        return 0
    # executescript steps the pragma to its end: `execute` frees a single page (the pragma
    # declares no result columns, so the sqlite3 module stops after its first step)
    conn.executescript(f"PRAGMA incremental_vacuum({int(pages)})")
    return int(conn.execute("PRAGMA freelist_count").fetchone()[0])


def next_step_size(size: int, done: int, seconds: float, *, most: int) -> int:
    """The next step's size (comments or pages) for about `STEP_TARGET_S` of work, from the
    last step, which did `done` of `size` in `seconds`: at most twice the last (one fast step
    may have been luck), at least 10 (or `most`, if smaller), at most `most`."""
    if done <= 0:
        return size
    rate = done / max(seconds, 1e-4)
    return min(most, max(10, min(2 * size, int(rate * STEP_TARGET_S))))


def checkpoint_passive(conn: sqlite3.Connection) -> tuple[int, int]:
    """A PASSIVE checkpoint: copies what it can without waiting for anyone. Returns (frames in
    the WAL, frames copied)."""
    _busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return int(frames), int(copied)


def optimize(conn: sqlite3.Connection) -> None:
    conn.execute(f"PRAGMA analysis_limit = {ANALYSIS_LIMIT}")
    conn.execute("PRAGMA optimize").fetchall()


# --- off the loop ----------------------------------------------------------------------


def _second_connection(path: str) -> sqlite3.Connection:
    # Used by one worker thread at a time, each call handed over by `_in_thread`.
    # isolation_level "" (the default): `with conn:` commits each step. As durable as the
    # store's own connection (a commit does not wait for the disk; a checkpoint does), and
    # it checkpoints only when told (`checkpoint_passive`), not inside a timed step.
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    return conn


def _timed(work: Callable[..., T], *args: object) -> tuple[T, float]:
    started = time.perf_counter()
    result = work(*args)
    return result, time.perf_counter() - started


async def _in_thread(work: Callable[..., T], *args: object) -> T:
    """`work(*args)` in a worker thread. Cancelled meanwhile (the daemon stopping), it
    waits for the thread's transaction to end before passing the cancellation on, so that the
    connection is never closed under a running statement."""
    running = asyncio.ensure_future(asyncio.to_thread(work, *args))
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        await asyncio.wait({running})
        raise


async def _off_loop(store: StoreBase, work: Callable[[sqlite3.Connection], T]) -> T:
    """`work(connection)` in a worker thread on a second connection to the store's file."""
    conn = _second_connection(store.path)
    try:
        return await _in_thread(work, conn)
    finally:
        conn.close()


async def _pause_after(seconds: float) -> None:
    """As long as the step took: the loop, its writers and the CPU get as much time as
    housekeeping does."""
    await asyncio.sleep(max(PAUSE_MIN_S, seconds))


async def purge_comments(
    store: StoreBase, retention_days: int, now: datetime, *, max_batch: int = PURGE_MAX_BATCH
) -> int:
    """Delete comments older than `retention_days` before `now` (0 keeps all), with their
    full-text rows and the team labels that copied their words, a batch of at most
    `max_batch` per transaction, off the event loop; returns how many comments went. Then
    hand back the freed pages."""
    if retention_days <= 0:
        return 0
    cutoff = to_utc_iso(now - timedelta(days=retention_days))
    if not _on_sqlite(store):
        return await _purge_on_server(store.sql, cutoff, max_batch)
    in_memory = store.path == ":memory:"
    conn = store.db.conn if in_memory else _second_connection(store.path)
    total, batches, batch = 0, 0, min(PURGE_FIRST_BATCH, max_batch)
    try:
        if in_memory:  # no second connection: the same batches on the loop
            purge_labels(conn, cutoff)
        else:
            await _in_thread(purge_labels, conn, cutoff)
        while True:
            if in_memory:
                deleted, seconds = _timed(purge_one_batch, conn, cutoff, batch)
            else:  # a thread hop per batch: the loop's own writes get the lock in between
                deleted, seconds = await _in_thread(_timed, purge_one_batch, conn, cutoff, batch)
            total += deleted
            if deleted < batch:
                break
            batches += 1
            await _pause_after(seconds)
            if not in_memory and batches % CHECKPOINT_EVERY_BATCHES == 0:
                await _pause_after((await _in_thread(_timed, checkpoint_passive, conn))[1])
            batch = next_step_size(batch, deleted, seconds, most=max_batch)
    finally:
        if not in_memory:
            conn.close()
    if total:
        await release_free_pages(store)
    return total


def purge_on_server(sql: Backend, cutoff: str, batch: int = PURGE_MAX_BATCH) -> int:
    """PostgreSQL's purge in one go (`store.content.purge_expired_comments`): the labels,
    then batches of `batch` comments, each its own transaction, until one is not full."""
    _purge_step(sql, _PURGE_LABELS, {"cutoff": cutoff})
    total = 0
    while deleted := _purge_step(sql, _PURGE_BATCH, (cutoff, batch)):
        total += deleted
    return total


async def _purge_on_server(sql: Backend, cutoff: str, max_batch: int) -> int:
    """PostgreSQL's purge: the same statements and batches, on the store's connection (one
    connection is one session: a worker thread would interleave with the loop's statements),
    with the loop's turn between batches."""
    _purge_step(sql, _PURGE_LABELS, {"cutoff": cutoff})
    total, batch = 0, min(PURGE_FIRST_BATCH, max_batch)
    while True:
        deleted, seconds = _timed(_purge_step, sql, _PURGE_BATCH, (cutoff, batch))
        total += deleted
        if deleted < batch:
            return total
        await _pause_after(seconds)
        batch = next_step_size(batch, deleted, seconds, most=max_batch)


async def release_free_pages(store: StoreBase) -> int:
    """Incremental vacuum in steps, off the loop; returns the free pages left (0 on
    PostgreSQL, where autovacuum keeps the tables)."""
    if not _on_sqlite(store):
        return 0
    in_memory = store.path == ":memory:"
    conn = store.db.conn if in_memory else _second_connection(store.path)
    step, left = VACUUM_FIRST_STEP, -1
    try:
        while True:
            if in_memory:
                now_left, seconds = _timed(vacuum_one_step, conn, step)
            else:
                now_left, seconds = await _in_thread(_timed, vacuum_one_step, conn, step)
            if now_left == left or now_left == 0:
                left = now_left
                break  # done, or nothing moved (the file is not incremental)
            freed = step if left < 0 else left - now_left
            left = now_left
            await _pause_after(seconds)
            step = next_step_size(step, freed, seconds, most=VACUUM_MAX_STEP)
    finally:
        if not in_memory:
            conn.close()
    return max(left, 0)


def take_over_checkpoints(store: StoreBase) -> None:
    """Turn SQLite's auto-checkpoint off on the store's connection: `checkpoint` runs them off
    the loop from now on (the connection still checkpoints when it closes). Nothing on
    PostgreSQL."""
    if not _on_sqlite(store):
        return
    store.db.execute("PRAGMA wal_autocheckpoint = 0")


async def checkpoint(store: StoreBase) -> tuple[int, int]:
    """A PASSIVE WAL checkpoint off the loop; (0, 0) in memory and on PostgreSQL."""
    if store.path == ":memory:" or not _on_sqlite(store):
        return (0, 0)
    return await _off_loop(store, checkpoint_passive)


def optimize_statistics(store: StoreBase) -> None:
    """`PRAGMA optimize` on the store's own connection: SQLite (3.40) analyses the tables whose
    queries on this connection would gain from statistics, so a second connection would find
    nothing to do. `analysis_limit` bounds it to a few ms whatever the table's size. Nothing
    on PostgreSQL (autovacuum analyses)."""
    if _on_sqlite(store):
        optimize(store.db.conn)
