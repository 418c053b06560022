"""The seam between the query groups and a database: a `Backend` runs SQL written in SQLite's
style (placeholders and all; dialect.py) on SQLite or PostgreSQL, and names its `Dialect` for
what differs. A query group ported to the seam uses only `self.sql`; one not ported yet still
uses `self.db` (sqlite-utils' Database), which a PostgreSQL store refuses with a clear error.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from sqlite_utils import Database

from monitor.store.dialect import SQLITE, Dialect

Params = Sequence[Any] | Mapping[str, Any]


class Result(Protocol):
    """What a statement returns: tuples by position, and how many rows it changed."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Backend(Protocol):
    dialect: Dialect
    # Where the data lives, for messages: a file, or a PostgreSQL address without a password.
    where: str

    def atomic(self) -> AbstractContextManager[Any]:
        """One transaction (a savepoint when nested): committed at the end, rolled back on
        an error."""

    def execute(self, sql: str, params: Params = ()) -> Result: ...

    def executemany(self, sql: str, rows: Any) -> int:
        """Run `sql` once per row, in order; returns the rows changed in all."""

    def named(self, sql: str, params: Params = ()) -> Sequence[Mapping[str, Any]]:
        """A read's rows, each read by column name (`row["platform"]`)."""

    def stream(self, sql: str, params: Params = ()) -> Iterator[dict[str, Any]]:
        """A read's rows as dicts, streamed."""

    def database(self) -> Database:
        """The SQLite database under the seam, for the groups not ported yet."""

    def close(self) -> None: ...


class SqliteBackend:
    """sqlite-utils' Database under the seam: the statements go to sqlite3 as they are."""

    dialect = SQLITE

    def __init__(self, db: Database, where: str) -> None:
        self.db = db
        self.where = where

    def atomic(self) -> AbstractContextManager[Any]:
        return self.db.atomic()

    def execute(self, sql: str, params: Params = ()) -> Result:
        return self.db.conn.execute(sql, params)

    def executemany(self, sql: str, rows: Any) -> int:
        return self.db.conn.executemany(sql, rows).rowcount

    def named(self, sql: str, params: Params = ()) -> Sequence[Mapping[str, Any]]:
        cursor = self.db.conn.cursor()
        cursor.row_factory = sqlite3.Row
        return cursor.execute(sql, params).fetchall()

    def stream(self, sql: str, params: Params = ()) -> Iterator[dict[str, Any]]:
        cursor = self.db.execute(sql, params if isinstance(params, dict) else list(params))
        names = [column[0] for column in cursor.description]
        for row in cursor:
            yield dict(zip(names, row, strict=True))

    def database(self) -> Database:
        return self.db

    def close(self) -> None:
        self.db.close()
