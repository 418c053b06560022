"""Opening the one SQLite file: WAL, a busy timeout, migrations, and clear errors.

SQLite's own errors for a damaged, busy or unwritable file are turned into `StoreError`s
whose one-line message names the file and the fix (`describe_sqlite_error`); this happens
when opening, when a `with Store.open(...)` block ends in such an error, and, as a last
resort, in `pingfan`'s `main()`. Errors that mean a bug (a constraint, a missing table) are
left as they are.
"""

from __future__ import annotations

import os
import shlex
import sqlite3
import tempfile
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlite_utils import Database

from monitor.errors import StoreError
from monitor.store.migrations import migrations

Tokenize = Callable[[str], Iterable[str]]

# A writer that holds the lock longer than this makes the other side fail with a clear error
# rather than wait for ever; every write transaction here is short.
BUSY_TIMEOUT_MS = 15_000

# Primary result codes (https://sqlite.org/rescode.html) and what they mean for the user.
_BUSY = {5, 6}  # SQLITE_BUSY, SQLITE_LOCKED
_DAMAGED = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB
_FULL = {13}  # SQLITE_FULL
_ACCESS = {3, 8, 10, 14}  # SQLITE_PERM, SQLITE_READONLY, SQLITE_IOERR, SQLITE_CANTOPEN
_DAMAGED_TEXT = ("database disk image is malformed", "file is not a database")
_BUSY_TEXT = ("database is locked", "database table is locked")
_CHECK_PATH = "check [storage] path and the permissions of its directory"
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


class StoreBase:
    """What every part of the store shares: the connection and the full-text tokenizer."""

    def __init__(self, db: Database, tokenize: Tokenize) -> None:
        self.db = db
        self._tokenize = tokenize
        self.path = _file_of(db) or ":memory:"
        # Bumped by every save of posts (listed, or counts refreshed), in this process: a
        # comment run re-plans when it moves.
        self.posts_version = 0

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Any:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Close; a damaged or busy database met inside the block becomes a `StoreError`."""
        self.close()
        if isinstance(exc, sqlite3.Error):
            known = describe_sqlite_error(exc, self.path)
            if known is not None:
                raise known from exc

    def query(self, sql: str, params: Iterable[Any] | dict[str, Any] = ()) -> Iterator[dict]:
        """Rows as dicts, streamed. For the store's own named queries and for tests."""
        cursor = self.db.execute(sql, params if isinstance(params, dict) else list(params))
        names = [column[0] for column in cursor.description]
        for row in cursor:
            yield dict(zip(names, row, strict=True))

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
