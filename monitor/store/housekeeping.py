"""Housekeeping for a SQLite file that runs for months: retention in batches off the event
loop, WAL checkpoints that stall nobody, the file's free pages handed back, the planner's
statistics kept fresh.

The daemon's connection lives on the event loop. Whatever here may take long runs in a worker
thread on a second connection to the same file (WAL: readers and the loop's writers go on),
one short transaction at a time, so the loop never waits for more than one batch:

- `purge_comments`: comments past `[storage] comment_retention_days`, a batch per transaction
  (a month of a 1,000,000-comment year is 82,000 rows: in one transaction on the loop it
  stalls the loop for the whole delete, about a minute on this machine);
- `checkpoint`: a PASSIVE checkpoint, which neither waits for readers nor blocks writers; the
  daemon turns SQLite's own auto-checkpoint off (it would run inside a commit on the loop);
- `release_free_pages`: `PRAGMA incremental_vacuum` in bounded steps, for files created with
  `auto_vacuum = INCREMENTAL` (every file pingfan creates; an older file reuses its free pages
  for new rows instead, and `pingfan doctor` says how many there are);
- `optimize_statistics`: `PRAGMA optimize` (bounded by `analysis_limit`) a few times a day,
  on the loop's own connection, whose queries tell SQLite which tables need statistics.

A store in memory (tests) has no second connection: there the same batches run on the loop,
yielding between them.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TypeVar

from monitor.models import to_utc_iso
from monitor.store.connection import BUSY_TIMEOUT_MS, StoreBase

log = logging.getLogger(__name__)

T = TypeVar("T")

# Comments per transaction. Deleting a comment's trigram full-text rows is the cost: measured
# on a 1,000,000-comment year on this (loaded) machine, a batch of 1,000 took ~0.7 s and the
# loop then waited up to 297 ms for the CPU; batches of 200, 107 ms (idle noise 13-38 ms).
PURGE_BATCH = 200
PURGE_PAUSE = 0.005  # seconds between batches: the loop's writers and the CPU get a turn
VACUUM_STEP = 2000  # pages handed back per transaction (8 MB of 4 KB pages)
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


def purge_one_batch(conn: sqlite3.Connection, cutoff: str, batch: int = PURGE_BATCH) -> int:
    """Delete up to `batch` comments made before `cutoff` (their full-text rows go through the
    delete trigger) in one transaction; returns how many went."""
    with conn:
        return conn.execute(_PURGE_BATCH, (cutoff, batch)).rowcount


def vacuum_one_step(conn: sqlite3.Connection, pages: int = VACUUM_STEP) -> int:
    """Hand back up to `pages` free pages to the file system; returns the free pages left.
    Nothing to do unless the file was created with auto_vacuum = INCREMENTAL."""
    if int(conn.execute("PRAGMA auto_vacuum").fetchone()[0]) != 2:
        return 0
    conn.execute(f"PRAGMA incremental_vacuum({int(pages)})").fetchall()
    return int(conn.execute("PRAGMA freelist_count").fetchone()[0])


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
    # Used by one worker thread at a time, each call handed over by `asyncio.to_thread`.
    # isolation_level "" (the default): `with conn:` commits each step
    return sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)


async def _in_thread(work: Callable[..., T], *args: object) -> T:
    """`work(*args)` in a worker thread. Cancelled meanwhile (the daemon stopping), it waits
    for the thread's transaction to end before passing the cancellation on, so that the
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


async def purge_comments(
    store: StoreBase, retention_days: int, now: datetime, *, batch: int = PURGE_BATCH
) -> int:
    """Delete comments older than `retention_days` before `now` (0 keeps all), with their
    full-text rows and the team labels that copied their words, a batch per transaction, off
    the event loop; returns how many comments went. Then hand back the freed pages."""
    if retention_days <= 0:
        return 0
    cutoff = to_utc_iso(now - timedelta(days=retention_days))
    if store.path == ":memory:":
        purge_labels(store.db.conn, cutoff)
        total = 0
        while deleted := purge_one_batch(store.db.conn, cutoff, batch):
            total += deleted
            await asyncio.sleep(0)
        return total
    conn = _second_connection(store.path)
    total = 0
    try:
        await _in_thread(purge_labels, conn, cutoff)
        while True:  # a thread hop per batch: the loop's own writes get the lock in between
            deleted = await _in_thread(purge_one_batch, conn, cutoff, batch)
            total += deleted
            if deleted < batch:
                break
            await asyncio.sleep(PURGE_PAUSE)
    finally:
        conn.close()
    if total:
        await release_free_pages(store)
    return total


async def release_free_pages(store: StoreBase) -> int:
    """Incremental vacuum in steps, off the loop; returns the free pages left."""
    if store.path == ":memory:":
        return vacuum_one_step(store.db.conn)
    conn = _second_connection(store.path)
    try:
        left = -1
        while left != 0:
            now_left = await _in_thread(vacuum_one_step, conn)
            if now_left == left:
                break  # nothing moved (the file is not incremental)
            left = now_left
    finally:
        conn.close()
    return max(left, 0)


def take_over_checkpoints(store: StoreBase) -> None:
    """Turn SQLite's auto-checkpoint off on the store's connection: `checkpoint` runs them off
    the loop from now on (the connection still checkpoints when it closes)."""
    store.db.execute("PRAGMA wal_autocheckpoint = 0")


async def checkpoint(store: StoreBase) -> tuple[int, int]:
    """A PASSIVE WAL checkpoint off the loop; (0, 0) in memory."""
    if store.path == ":memory:":
        return (0, 0)
    return await _off_loop(store, checkpoint_passive)


def optimize_statistics(store: StoreBase) -> None:
    """`PRAGMA optimize` on the store's own connection: SQLite (3.40) analyses the tables whose
    queries on this connection would gain from statistics, so a second connection would find
    nothing to do. `analysis_limit` bounds it to a few ms whatever the table's size."""
    optimize(store.db.conn)
