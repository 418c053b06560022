"""SQLite storage: one file, WAL, schema through migrations, used from one thread.

The store is the only code with SQL. It is split by concern; `Store` puts the parts together:
connection (open, migrate), content (posts, comments, cursors, search), metrics (time
series), outbox (alerts), labels (the team's sentiment labels), reports (named read queries).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from nlp.lean_import import without

with without("numpy"):  # sqlite-utils' numpy column types: never used, ~12 MB per process
    import sqlite_utils  # noqa: F401  (imported here first, lean)

from monitor.errors import StoreError
from monitor.store.connection import (
    DatabaseUnavailable,
    StoreBase,
    Tokenize,
    describe_sqlite_error,
    open_database,
    open_read_only,
)
from monitor.store.console import ConsoleQueries
from monitor.store.content import (
    DEFAULT_FTS_TOKENIZER,
    FTS_TOKENIZERS,
    ContentStore,
    FtsTokenizer,
    SearchHit,
)
from monitor.store.labels import LabelsStore
from monitor.store.metrics import MetricsStore
from monitor.store.outbox import OutboxStore
from monitor.store.reports import EXPORT_KINDS, ReportsStore
from monitor.store.runtime import CircuitRow, RuntimeStore, SourceRow
from monitor.store.signals import SignalsStore
from monitor.store.team import TeamStore
from monitor.store.watch import WatchStore
from monitor.store.weekly import WeeklyStore

if TYPE_CHECKING:
    from monitor.config import Config

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_FTS_TOKENIZER",
    "EXPORT_KINDS",
    "FTS_TOKENIZERS",
    "CircuitRow",
    "ConsoleQueries",
    "FtsTokenizer",
    "SearchHit",
    "SourceRow",
    "Store",
    "Tokenize",
]


class Store(
    ContentStore,
    MetricsStore,
    OutboxStore,
    SignalsStore,
    LabelsStore,
    ReportsStore,
    RuntimeStore,
    TeamStore,
    WeeklyStore,
    WatchStore,
    StoreBase,
):
    """The only code that touches the database."""

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        fts_tokenizer: FtsTokenizer | None = None,
        lexicon: Iterable[str] | None = None,
    ) -> Store:
        """Open (creating if needed) and migrate the database at `path` (":memory:" works).

        `fts_tokenizer` is the full-text tokenizer, "trigram" or "jieba"; None keeps the one
        that built the index (trigram for a new database). `lexicon` is the jieba mode's own
        words (None: the ones that built the index). A change rebuilds the index here.
        """
        store = cls(open_database(path), str.split)
        try:
            store._open_fts(fts_tokenizer, lexicon)
        except sqlite3.Error as err:
            store.close()
            # A damaged or busy file says so, with its recovery; anything else is the index.
            raise describe_sqlite_error(err, path) or StoreError(
                f"cannot build the full-text index of {path}: {err}"
            ) from err
        except BaseException:
            store.close()
            raise
        return store

    @classmethod
    def open_to_read(cls, path: str | Path) -> Store:
        """For commands that only read (`status`, `export`, `backup`): opened as usual (so
        an older file is migrated), and read-only when the file or its folder cannot be
        written (a read-only folder, a full disk): what is stored can always be read."""
        try:
            return cls.open(path)
        except DatabaseUnavailable as err:
            log.info("%s; opening it read-only", err)
        store = cls(open_read_only(path), str.split)
        try:
            store._open_fts(None, None)  # the tokenizer that built the index: nothing to write
        except sqlite3.Error as err:
            store.close()
            raise describe_sqlite_error(err, path) or StoreError(
                f"cannot read the full-text index of {path}: {err}"
            ) from err
        except BaseException:
            store.close()
            raise
        return store

    @classmethod
    def for_config(cls, config: Config) -> Store:
        """The store at `[storage] path`, indexed with `[storage] fts_tokenizer` and, for
        jieba, the `[nlp] lexicon`."""
        storage = config.storage
        tokenizer = getattr(storage, "fts_tokenizer", DEFAULT_FTS_TOKENIZER)
        return cls.open(storage.path, fts_tokenizer=tokenizer, lexicon=config.nlp.lexicon)

    def __enter__(self) -> Store:
        return self
