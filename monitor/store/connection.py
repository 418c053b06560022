"""Opening the one SQLite file: WAL, a busy timeout, migrations; the connection, and the base
of the query groups.

Nothing leaves the store as a SQLite error (monitor/store/errors.py): opening turns one into
a one-line `StoreError` naming the file and the fix, and every public method of a query group
or of the store does the same for what it meets.
"""

from __future__ import annotations

import inspect
import os
import sqlite3
import tempfile
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlite_utils import Database

from monitor.errors import StoreError
from monitor.store.backend import Backend, SqliteBackend
from monitor.store.errors import (
    DatabaseBusy,
    DatabaseDamaged,
    DatabaseUnavailable,
    damaged,
    describe_sqlite_error,
    translating,
)
from monitor.store.migrations import migrations

_CHECK_PATH = "check [storage] path and the permissions of its directory"

# A writer that holds the lock longer than this makes the other side fail with a clear error
# rather than wait for ever; every write transaction here is short.
BUSY_TIMEOUT_MS = 15_000


def open_database(path: str | Path) -> Database:
    """Open (creating if needed) and migrate the database at `path` (":memory:" works)."""
    db: Database | None = None
    try:
        if str(path) == ":memory:":
            db = Database(memory=True)
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            new = not Path(path).exists() or Path(path).stat().st_size == 0
            db = Database(Path(path))
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if new:
                # A new file hands pages freed by retention back in steps (housekeeping.py);
                # an existing one keeps its mode (changing it rewrites the whole file).
                db.execute("PRAGMA auto_vacuum = INCREMENTAL")
            db.enable_wal()
            db.execute("PRAGMA synchronous = NORMAL")
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        migrations.apply(db)
    except sqlite3.Error as err:
        if db is not None:
            db.close()
        known = describe_sqlite_error(err, path)
        if isinstance(known, DatabaseDamaged | DatabaseBusy):
            raise known from err
        if isinstance(known, DatabaseUnavailable) and Path(path).is_file():
            # the file is there but cannot be written (a read-only folder, a full disk)
            raise known from err
        raise StoreError(f"cannot open database {path}: {err}; {_CHECK_PATH}") from err
    except OSError as err:
        raise StoreError(f"cannot open database {path}: {err}; {_CHECK_PATH}") from err
    return db


def open_read_only(path: str | Path) -> Database:
    """Open an existing database for reading only, without migrating it: for `status`,
    `export` and `backup` when the file or its folder cannot be written. In a read-only folder
    SQLite cannot create the WAL's shared-memory file; nobody can write there either, so the
    file is then opened as immutable."""
    uri = f"file:{urllib.parse.quote(os.fspath(path))}?mode=ro"
    conn: sqlite3.Connection | None = None
    try:
        for suffix in ("", "&immutable=1"):
            conn = sqlite3.connect(uri + suffix, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
            try:
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
                break
            except sqlite3.OperationalError:
                conn.close()
                conn = None
                if suffix:
                    raise
    except sqlite3.Error as err:
        raise describe_sqlite_error(err, path) or StoreError(
            f"cannot open database {path} to read it: {err}; {_CHECK_PATH}"
        ) from err
    assert conn is not None
    return Database(conn)


def _file_of(db: Database) -> str:
    """The main database file of `db` ("" in memory)."""
    for _seq, name, file in db.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return str(file or "")
    return ""


def _quick_check(conn: sqlite3.Connection) -> list[str]:
    rows = [str(row[0]) for row in conn.execute("PRAGMA quick_check").fetchall()]
    if rows == ["ok"]:
        return []
    # Findings come as rows of several lines ("*** in database main ***\nPage 7: ...").
    lines = (line.strip() for row in rows for line in row.splitlines())
    return [line for line in lines if line and not line.startswith("***")]


class Queries:
    """One group of named queries (content, outbox, ...) over the store's connection: each
    group is a small object that takes the connection (and the name of the file, for error
    messages), and `Store` composes them. Every public method of a group raises pingfan's
    errors, never SQLite's: `__init_subclass__` wraps each one with `translating`.

    A group ported to PostgreSQL runs its SQL through `self.sql` (backend.py: SQL written once,
    the dialect for what differs); one not ported yet uses `self.db`, sqlite-utils' Database,
    which a PostgreSQL store refuses with a clear error."""

    # The campaign whose rows the group reads and writes (campaigns.py); '' until the store
    # chooses one (`Store.use_campaign`).
    campaign = ""

    def __init__(self, db: Database | Backend, path: str) -> None:
        self.sql: Backend = SqliteBackend(db, path) if isinstance(db, Database) else db
        self.path = path

    @property
    def db(self) -> Database:
        return self.sql.database()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, member in list(vars(cls).items()):
            if not name.startswith("_") and inspect.isfunction(member):
                setattr(cls, name, translating(member))

    @translating
    def query(self, sql: str, params: Iterable[Any] | dict[str, Any] = ()) -> Iterator[dict]:
        """Rows as dicts keyed by column name, streamed."""
        return self.sql.stream(sql, params if isinstance(params, dict) else list(params))

    def _named(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> Any:
        """Run a read; its rows are read by column name (`row["platform"]`), so a record is
        mapped from the names its SELECT gives, never from positions. (Returns sqlite3's
        cursor on SQLite, as the groups not ported yet expect.)"""
        if isinstance(self.sql, SqliteBackend):
            cursor = self.sql.db.conn.cursor()
            cursor.row_factory = sqlite3.Row
            return cursor.execute(sql, params)
        return _Fetched(self.sql.named(sql, params))


class _Fetched:
    """Rows already read, with a cursor's `fetchall`/`fetchone`."""

    def __init__(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self._rows = rows

    def fetchall(self) -> Sequence[Mapping[str, Any]]:
        return self._rows

    def fetchone(self) -> Mapping[str, Any] | None:
        return self._rows[0] if self._rows else None

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        return iter(self._rows)


class StoreBase:
    """The connection itself: open, close, check, back up."""

    def __init__(self, db: Database | Backend) -> None:
        if isinstance(db, Database):
            self.path = _file_of(db) or ":memory:"
            self.sql: Backend = SqliteBackend(db, self.path)
        else:
            self.path = db.where
            self.sql = db

    @property
    def db(self) -> Database:
        return self.sql.database()

    @translating
    def close(self) -> None:
        self.sql.close()

    def __enter__(self) -> Any:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @translating
    def query(self, sql: str, params: Iterable[Any] | dict[str, Any] = ()) -> Iterator[dict]:
        """Rows as dicts, streamed. For tests and benchmarks that look inside."""
        return self.sql.stream(sql, params if isinstance(params, dict) else list(params))

    def quick_check(self) -> list[str]:
        """SQLite's `PRAGMA quick_check`: [] when every page is sound, else its findings.

        It reads the whole file (measured on a 223 MB store: 0.1 s from the page cache, 2.3 s
        from a cold disk), so `pingfan doctor` and `pingfan backup` run it, not every open.
        """
        try:
            return _quick_check(self.db.conn)
        except sqlite3.DatabaseError as err:
            return [str(err)]

    def backup_to(self, target: Path) -> int:
        """Copy the database to `target` with SQLite's online backup, while others may write.

        The copy is made in one step from one read snapshot (in WAL mode writers are not held
        up), written to a temporary file next to `target`, switched to a plain rollback journal
        so that it is one self-contained file, checked with `quick_check`, and only then moved
        onto `target`: a failed backup never leaves a half file or replaces an older copy.
        Returns the size of the copy in bytes.
        """
        fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        os.close(fd)
        try:
            copy = sqlite3.connect(temporary)
            try:
                self.db.conn.backup(copy)
                copy.execute("PRAGMA journal_mode = DELETE")
                problems = _quick_check(copy)
            except sqlite3.Error as err:
                known = describe_sqlite_error(err, self.path)
                if isinstance(known, DatabaseDamaged | DatabaseBusy):
                    raise known from err
                raise DatabaseUnavailable(
                    f"cannot write the backup {target}: {err}; check the free space and the "
                    "permissions there"
                ) from err
            finally:
                copy.close()
            if problems:
                raise damaged(self.path, f"the copy fails quick_check: {problems[0]}")
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return target.stat().st_size
