"""The store's errors: SQLite's (and PostgreSQL's) own become pingfan's at the store's door.

Nobody outside monitor/store/ imports sqlite3 or psycopg. An environmental error (a damaged, busy or
unwritable file) becomes a `StoreError` subclass whose one-line message names the file and
the fix; any other (a constraint, a missing table: a bug) becomes `QueryFailed`, with SQLite's
error as its cause. Query groups translate at their door: every public method of a
`Queries` subclass (monitor/store/connection.py) is wrapped by `translating`.
"""

from __future__ import annotations

import functools
import inspect
import os
import shlex
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from monitor.errors import StoreError

# Primary result codes (https://sqlite.org/rescode.html) and what they mean for the user.
_BUSY = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED
_DAMAGED = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB
_FULL = {13}  # SQLITE_FULL
_ACCESS = {3, 8, 10, 14}  # SQLITE_PERM, SQLITE_READONLY, SQLITE_IOERR, SQLITE_CANTOPEN
_DAMAGED_TEXT = ("database disk image is malformed", "file is not a database")
_BUSY_TEXT = ("database is locked", "database table is locked")
_ACCESS_TEXT = ("readonly database", "disk i/o error", "unable to open database file")


class DatabaseDamaged(StoreError):
    """The file is not a SQLite database, or some of its pages are damaged (exit 1)."""


class DatabaseBusy(StoreError):
    """Another connection held a write lock longer than the busy timeout (exit 1)."""


class DatabaseUnavailable(StoreError):
    """The disk is full, or the file or its directory cannot be read or written (exit 1)."""


def damaged(path: str | os.PathLike[str], detail: str) -> DatabaseDamaged:
    """The recovery command is shell-quoted: it can be pasted as it is, spaces and all."""
    quoted = shlex.quote(os.fspath(path))
    return DatabaseDamaged(
        f"database {path} is damaged ({detail}); recover with "
        f"`sqlite3 {quoted} .recover | sqlite3 fixed.db`, or restore the copy `pingfan backup` "
        "made"
    )


def describe_sqlite_error(err: sqlite3.Error, path: str | os.PathLike[str]) -> StoreError | None:
    """The one-line `StoreError` for an environmental SQLite error on `path`; None for a bug."""
    code = getattr(err, "sqlite_errorcode", None)
    text = str(err)
    if isinstance(code, int):
        primary = code & 0xFF
        damaged_, busy, full = primary in _DAMAGED, primary in _BUSY, primary in _FULL
        access = primary in _ACCESS
    else:  # raised by hand, without SQLite's code: its usual wording (not e.g. "malformed JSON")
        lowered = text.lower()
        damaged_ = any(part in lowered for part in _DAMAGED_TEXT)
        busy = any(part in lowered for part in _BUSY_TEXT)
        full = "disk is full" in lowered
        access = any(part in lowered for part in _ACCESS_TEXT)
    if damaged_:
        return damaged(path, text)
    if busy:
        return DatabaseBusy(f"database {path} is busy: another process holds a long write; retry")
    if full:
        return DatabaseUnavailable(
            f"database {path}: the disk is full ({text}); free some space and retry"
        )
    if access:
        return DatabaseUnavailable(
            f"database {path}: {text}; check that the file and its directory are readable "
            "and writable by this user"
        )
    return None


class QueryFailed(StoreError):
    """SQLite refused a statement for a reason that means a bug (a constraint, a missing
    table, a closed connection); `__cause__` is SQLite's error. The CLI lets it end in a
    traceback: it is for the developer, not the user."""


def as_store_error(err: Exception, path: str | os.PathLike[str]) -> StoreError:
    """`err` (SQLite's or PostgreSQL's) as pingfan's: the one-line error for the environment,
    else `QueryFailed`."""
    if isinstance(err, sqlite3.Error):
        return describe_sqlite_error(err, path) or QueryFailed(f"database {path}: {err}")
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None and isinstance(err, psycopg.OperationalError):
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        return DatabaseUnavailable(
            f"database {path}: {first}; check that the server is running and reachable"
        )
    return QueryFailed(f"database {path}: {err}")


def driver_errors() -> tuple[type[Exception], ...]:
    """The database drivers' base errors: SQLite's, and PostgreSQL's once psycopg is loaded
    (a SQLite store never loads it)."""
    psycopg = sys.modules.get("psycopg")
    return (sqlite3.Error,) if psycopg is None else (sqlite3.Error, psycopg.Error)


@contextmanager
def sqlite_errors(path: str | os.PathLike[str]) -> Iterator[None]:
    """A SQLite error raised inside the block leaves it as pingfan's (`as_store_error`)."""
    try:
        yield
    except driver_errors() as err:
        raise as_store_error(err, path) from err


F = TypeVar("F", bound=Callable[..., Any])


def translating(method: F) -> F:
    """`method` of an object with a `path`, raising pingfan's errors instead of SQLite's
    (a generator, or an iterator it returns, translates while it is consumed)."""

    @functools.wraps(method)
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            result = method(self, *args, **kwargs)
        except driver_errors() as err:
            raise as_store_error(err, self.path) from err
        if inspect.isgenerator(result):
            return _translated_stream(result, self.path)
        return result

    return call  # type: ignore[return-value]


def _translated_stream(rows: Iterator[Any], path: str) -> Iterator[Any]:
    with sqlite_errors(path):
        yield from rows
