"""Opening the one SQLite file: WAL, a busy timeout, migrations, and clear errors."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from monitor.errors import StoreError
from monitor.store.migrations import migrations

Tokenize = Callable[[str], Iterable[str]]

# A writer that holds the lock longer than this makes the other side fail with a clear error
# rather than wait for ever; every write transaction here is short.
BUSY_TIMEOUT_MS = 15_000


def open_database(path: str | Path) -> Database:
    """Open (creating if needed) and migrate the database at `path` (":memory:" works)."""
    try:
        if str(path) == ":memory:":
            db = Database(memory=True)
        else:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            db = Database(Path(path))
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            db.enable_wal()
            db.execute("PRAGMA synchronous = NORMAL")
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        migrations.apply(db)
    except (sqlite3.Error, OSError) as err:
        raise StoreError(f"cannot open database {path}: {err}") from err
    return db


class StoreBase:
    """What every part of the store shares: the connection and the full-text tokenizer."""

    def __init__(self, db: Database, tokenize: Tokenize) -> None:
        self.db = db
        self._tokenize = tokenize

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def query(self, sql: str, params: Iterable[Any] | dict[str, Any] = ()) -> Iterator[dict]:
        """Rows as dicts, streamed. For the store's own named queries and for tests."""
        cursor = self.db.execute(sql, params if isinstance(params, dict) else list(params))
        names = [column[0] for column in cursor.description]
        for row in cursor:
            yield dict(zip(names, row, strict=True))
