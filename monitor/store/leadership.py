"""The lock that makes one worker the leader: the one that runs the alert rules, the digest's
schedule and the chat bot while several workers share one PostgreSQL database.

On PostgreSQL it is a session-level advisory lock (`pg_try_advisory_lock`) held on a
connection of its own (async, coordination.py: taking or checking it never holds up the
event loop), rather than a lease row renewed by a heartbeat, because:
- the server drops the lock the moment the holder's session ends (a crash, SIGKILL, a closed
  connection: the kernel closes the socket), so a takeover waits out no lease period;
- no clock is involved, the workers' or the server's, and holding it writes nothing;
- a lease row would add only what the store already gives: the rules' state and the alerts'
  dedupe keys are stored, so a new leader carries on where the old one stopped, and a brief
  overlap (two leaders) inserts each alert once.
Its weakness is a leader cut off from the server (a network partition): it leads on until its
next check fails, and the server drops its session once TCP keepalives give up (about 30 s,
coordination.py); the overlap is harmless for the reason above.

On SQLite one process owns the database (the run lock): it always leads.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Protocol

from monitor.store.backend import Backend
from monitor.store.coordination import Connect, async_connector

if TYPE_CHECKING:
    import psycopg

log = logging.getLogger(__name__)

LEADER_KEY = 7_204_519_337  # the advisory lock's key (per database: deployments apart)


class LeaderLock(Protocol):
    # True: this process is the only one on the database, and always leads.
    always: bool

    async def hold(self) -> bool:
        """Take the lock, or check it is still held; True while this process leads. Never
        raises for the database being away: it answers False and tries again next time."""

    async def close(self) -> None:
        """Let go of the lock (another worker may take it at once)."""


class SoleProcess:
    """SQLite: the run lock already makes this the only process."""

    always = True

    async def hold(self) -> bool:
        return True

    async def close(self) -> None:
        pass


class AdvisoryLock:
    """A PostgreSQL session-level advisory lock on a connection of its own."""

    always = False

    def __init__(self, connect: Connect, key: int = LEADER_KEY) -> None:
        self._connect = connect
        self._key = key
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._held = False

    async def hold(self) -> bool:
        import psycopg

        try:
            if self._conn is None or self._conn.closed:
                self._conn = await self._connect()
                self._held = False  # a new session holds nothing
            if self._held:
                # The lock lives as long as this session: answering proves both still exist.
                await self._conn.execute("SELECT 1")
                return True
            cursor = await self._conn.execute("SELECT pg_try_advisory_lock(%s)", (self._key,))
            row = await cursor.fetchone()
            self._held = bool(row and row[0])
            return self._held
        except psycopg.Error as err:
            log.debug("leader lock: %s", err)
            await self.close()
            return False

    async def close(self) -> None:
        self._held = False
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()  # the session ends: the server drops its locks


def leader_lock(sql: Backend, key: int = LEADER_KEY) -> LeaderLock:
    """The leader lock for the store on `sql` (`store.sql`)."""
    if sql.dialect.name == "sqlite":
        return SoleProcess()
    return AdvisoryLock(async_connector(sql, "leader"), key)
