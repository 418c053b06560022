"""Connections of their own to the store's PostgreSQL database, for the workers' coordination
(leases, request budgets, heartbeats: leases.py; the leader's lock: leadership.py).

They are psycopg 3's async connections, so the event loop never waits on the database for
them: a round trip to a remote server costs milliseconds, and a worker makes one per platform
request (its identity's budget) and per source run (its lease). They run in autocommit: each
statement is a transaction of its own, committed by the server as it ends, so no lock taken
here waits on the client (the store's own connection, synchronous, may wait for one of these
rows; never the other way round). They are opened with the store's own address and password
(never logged), and with TCP keepalives, so a server that went away is noticed within about
30 s rather than at the next write.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from monitor.store.backend import Backend
from monitor.store.errors import as_store_error

if TYPE_CHECKING:
    import psycopg

CONNECT_TIMEOUT_S = 10
# The server drops a silent client's session after about idle + interval × count seconds.
KEEPALIVE_IDLE_S, KEEPALIVE_INTERVAL_S, KEEPALIVE_COUNT = 15, 5, 3

Connect = Callable[[], Awaitable["psycopg.AsyncConnection[Any]"]]


def async_connector(sql: Backend, purpose: str) -> Connect:
    """How to open another connection to the database of the store on `sql` (`store.sql`,
    PostgreSQL): async, in autocommit, with keepalives; `purpose` names it in the server's
    `pg_stat_activity` (application_name `pingfan <purpose>`)."""
    import psycopg

    from monitor.store.postgres import PostgresBackend

    assert isinstance(sql, PostgresBackend), "coordination runs on PostgreSQL only"
    info = sql.conn.info  # the store's own address and password, never logged

    async def connect() -> psycopg.AsyncConnection[Any]:
        return await psycopg.AsyncConnection.connect(
            info.dsn,
            password=info.password,
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT_S,
            keepalives=1,
            keepalives_idle=KEEPALIVE_IDLE_S,
            keepalives_interval=KEEPALIVE_INTERVAL_S,
            keepalives_count=KEEPALIVE_COUNT,
            application_name=f"pingfan {purpose}",
        )

    return connect


Params = Sequence[Any] | Mapping[str, Any]


class CoordinationConnection:
    """One async connection, opened on first use and opened again after it broke (the server
    restarted, the network was away, the session was ended). A statement that finds the
    connection broken is sent once more on a new one: every statement here may run twice
    (a claim or a renewal of our own lease changes nothing the second time; a request slot
    reserved twice only spaces requests further). When the database cannot be reached, the
    statement raises `StoreError` (one line, no password), and the next one tries again.
    Statements from several tasks take turns on the connection (psycopg serialises them);
    each is short."""

    def __init__(self, connect: Connect, where: str) -> None:
        self._connect = connect
        self.where = where
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._opening = asyncio.Lock()

    async def fetch(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        """Run one statement (psycopg's `%s` / `%(name)s` placeholders); its rows, if any."""
        import psycopg

        for attempt in (1, 2):
            try:
                conn, fresh = await self._open()
            except psycopg.Error as err:
                raise as_store_error(err, self.where) from err
            try:
                cursor = await conn.execute(sql, params)
                return await cursor.fetchall() if cursor.description is not None else []
            except psycopg.Error as err:
                broken = conn.closed or conn.broken
                if broken:
                    await self._drop(conn)
                if not (broken and attempt == 1 and not fresh):
                    raise as_store_error(err, self.where) from err
        raise AssertionError("unreachable: the second attempt returns or raises")

    async def _open(self) -> tuple[psycopg.AsyncConnection[Any], bool]:
        """The connection, and whether it was opened just now."""
        async with self._opening:
            if self._conn is not None and not self._conn.closed:
                return self._conn, False
            self._conn = await self._connect()
            return self._conn, True

    async def _drop(self, conn: psycopg.AsyncConnection[Any]) -> None:
        if self._conn is conn:
            self._conn = None
        await conn.close()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()
