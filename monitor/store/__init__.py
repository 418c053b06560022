"""SQLite storage: one file, WAL, schema through migrations, used from one thread.

The store is the only code with SQL. It is split by concern; `Store` puts the parts together:
connection (open, migrate), content (posts, comments, cursors, search), metrics (time
series), outbox (alerts), labels (the team's sentiment labels), reports (named read queries).
"""

from __future__ import annotations

from pathlib import Path

from monitor.store.connection import StoreBase, Tokenize, open_database
from monitor.store.content import ContentStore, SearchHit
from monitor.store.labels import LabelsStore
from monitor.store.metrics import MetricsStore
from monitor.store.outbox import OutboxStore
from monitor.store.reports import EXPORT_KINDS, ReportsStore
from nlp.segment import search_tokens

__all__ = ["EXPORT_KINDS", "SearchHit", "Store", "Tokenize"]

default_tokenize: Tokenize = search_tokens


class Store(ContentStore, MetricsStore, OutboxStore, LabelsStore, ReportsStore, StoreBase):
    """The only code that touches the database."""

    @classmethod
    def open(cls, path: str | Path, *, tokenize: Tokenize = default_tokenize) -> Store:
        """Open (creating if needed) and migrate the database at `path` (":memory:" works)."""
        return cls(open_database(path), tokenize)

    def __enter__(self) -> Store:
        return self
