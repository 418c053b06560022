"""SQLite storage: one file, WAL, schema through migrations, used from one thread.

The store is the only code with SQL, and pingfan's only door to the database: nothing else
imports sqlite3, and SQLite's errors leave it as pingfan's (errors.py). `Store` is the
connection (connection.py: open, migrate, check, back up) and its queries grouped by what they
serve, each a small object over the connection: `store.content` (posts, comments, cursors,
search), `metrics` (time series), `outbox` (alerts, rule state, mutes, deliveries), `signals`
(the rules' facts), `labels` (the team's sentiment labels), `reports` (named reads for the CLI,
the scorer and the collectors), `runtime` (circuits, sources), `team` (the chat bot), `weekly`
(the digest), `watch` (posts watched by link), `campaigns` (the campaigns and which posts each
counts). A store serves one campaign (`use_campaign`; campaigns.py): every group reads and
writes that campaign's rows. It imports nothing from nlp/: the jieba index's tokenizer is
handed in (`search_tokens`).

PostgreSQL is the second back-end (`Store.open_postgres`, or `[storage] url` through
`for_config`; backend.py, dialect.py, postgres.py): every group runs on both (`POSTGRES_READY`).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

# sqlite-utils loads numpy, when it is installed, for column types pingfan never uses (about
# 12 MB per process): hidden while sqlite-utils loads, which then finds it absent.
if "numpy" not in sys.modules:
    sys.modules["numpy"] = None  # type: ignore[assignment]
    try:
        import sqlite_utils  # noqa: F401  (imported here first, lean)
    finally:
        if sys.modules.get("numpy", ...) is None:
            del sys.modules["numpy"]

from sqlite_utils import Database

from monitor.errors import StoreError
from monitor.store.backend import Backend
from monitor.store.campaigns import CampaignsQueries
from monitor.store.connection import (
    DatabaseUnavailable,
    Queries,
    StoreBase,
    open_database,
    open_read_only,
)
from monitor.store.console import ConsoleQueries
from monitor.store.content import (
    DEFAULT_FTS_TOKENIZER,
    FTS_TOKENIZERS,
    ContentQueries,
    FtsTokenizer,
    SearchHit,
    SearchTokens,
    SearchTokensFactory,
)
from monitor.store.content_postgres import PostgresContentQueries
from monitor.store.errors import QueryFailed
from monitor.store.labels import LabelsQueries
from monitor.store.metrics import MetricsQueries
from monitor.store.outbox import OutboxQueries
from monitor.store.reports import EXPORT_KINDS, ReportsQueries
from monitor.store.runtime import CircuitRow, RuntimeQueries, SourceRow
from monitor.store.signals import SignalsQueries
from monitor.store.team import TeamQueries
from monitor.store.watch import WatchQueries
from monitor.store.weekly import WeeklyQueries

if TYPE_CHECKING:
    from monitor.config import Config
    from monitor.models import Campaign

log = logging.getLogger(__name__)

# The query groups that run on PostgreSQL (their tests run on both back-ends): every group of
# `Store` (tests/test_postgres_cli.py checks it), so `[storage] url` is accepted.
POSTGRES_READY = (
    "content",
    "metrics",
    "labels",
    "runtime",
    "watch",
    "reports",
    "outbox",
    "signals",
    "team",
    "weekly",
    "console",
    "housekeeping",  # retention in batches; checkpoints, vacuum and optimize are SQLite's
    "campaigns",
)

__all__ = [
    "DEFAULT_FTS_TOKENIZER",
    "EXPORT_KINDS",
    "FTS_TOKENIZERS",
    "POSTGRES_READY",
    "CircuitRow",
    "ConsoleQueries",
    "FtsTokenizer",
    "SearchHit",
    "SearchTokens",
    "SearchTokensFactory",
    "SourceRow",
    "Store",
]


class Store(StoreBase):
    """The only code that touches the database: the connection, and its queries grouped by
    what they serve (`store.content.save_posts(...)`, `store.outbox.enqueue_alert(...)`)."""

    def __init__(self, db: Database | Backend) -> None:
        super().__init__(db)
        sql = self.sql
        content = ContentQueries if sql.dialect.name == "sqlite" else PostgresContentQueries
        self.content = content(sql, self.path)  # posts, comments, cursors, full-text search
        self.metrics = MetricsQueries(sql, self.path)  # follower and topic time series
        self.outbox = OutboxQueries(sql, self.path)  # alerts, rule state, mutes, delivery per sink
        self.signals = SignalsQueries(sql, self.path)  # the facts the alert rules judge
        self.labels = LabelsQueries(sql, self.path)  # the team's sentiment labels
        self.reports = ReportsQueries(sql, self.path)  # reads for the CLI, scorer, collectors
        self.runtime = RuntimeQueries(sql, self.path)  # circuits and source schedules
        self.team = TeamQueries(sql, self.path)  # the chat bot's reads and writes
        self.weekly = WeeklyQueries(sql, self.path)  # the weekly digest's figures
        self.watch = WatchQueries(sql, self.path)  # posts watched by link
        self.console = ConsoleQueries(sql, self.path)  # the web console (alerts/web/)
        self.campaigns = CampaignsQueries(sql, self.path)  # campaigns and their members
        self.campaign = ""

    def use_campaign(self, campaign_id: str) -> None:
        """Serve campaign `campaign_id` from now on: every group reads and writes its rows only
        (campaigns.py). One store, one campaign, as one config is one campaign."""
        self.campaign = campaign_id
        for group in vars(self).values():
            if isinstance(group, Queries):
                group.campaign = campaign_id

    def read_campaign(self, campaign_id: str) -> None:
        """Serve campaign `campaign_id` for a command that only reads (`status`, `export`,
        `digest`: they write no members). A database where no campaign ever started holds
        one campaign's rows, none adopted yet: they are this one's, read as campaign ''."""
        recorded = [known for known, _ in self.campaigns.campaigns()]
        self.use_campaign(campaign_id if recorded else "")

    def enroll(self, campaign: Campaign) -> None:
        """Record `campaign` with its members (adopting the rows no campaign owns yet, when it
        is the database's first) and serve it."""
        adopted = self.campaigns.enroll(campaign)
        if adopted:
            log.info("campaign %s adopted %d rows stored before campaigns", campaign.id, adopted)
        self.use_campaign(campaign.id)

    @classmethod
    def open_postgres(cls, url: str, *, password_env: str | None = None) -> Store:
        """Connect to the PostgreSQL database at `url` and migrate it (postgres.py); the
        password from the variable `password_env` names, else libpq's own."""
        from monitor.store.postgres import connect  # psycopg loads only for PostgreSQL

        store = cls(connect(url, password_env))
        store.content.open_index(None, None, None)
        return store

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        fts_tokenizer: FtsTokenizer | None = None,
        lexicon: Iterable[str] | None = None,
        search_tokens: SearchTokensFactory | None = None,
    ) -> Store:
        """Open (creating if needed) and migrate the database at `path` (":memory:" works).

        `fts_tokenizer` is the full-text tokenizer, "trigram" or "jieba"; None keeps the one
        that built the index (trigram for a new database). `lexicon` is the jieba mode's own
        words (None: the ones that built the index). A change rebuilds the index here.
        `search_tokens` makes the jieba mode's tokenizer (nlp.search_tokens'
        `jieba_search_tokens`); without it only a trigram index can be opened.
        """
        store = cls(open_database(path))
        try:
            store.content.open_index(fts_tokenizer, lexicon, search_tokens)
        except QueryFailed as err:  # a damaged or busy file says so already, with its recovery
            store.close()
            raise StoreError(f"cannot build the full-text index of {path}: {err.__cause__}") from (
                err.__cause__
            )
        except BaseException:
            store.close()
            raise
        return store

    @classmethod
    def open_to_read(
        cls, path: str | Path, *, search_tokens: SearchTokensFactory | None = None
    ) -> Store:
        """For commands that only read (`status`, `export`, `backup`): opened as usual (so
        an older file is migrated), and read-only when the file or its folder cannot be
        written (a read-only folder, a full disk): what is stored can always be read."""
        try:
            return cls.open(path, search_tokens=search_tokens)
        except DatabaseUnavailable as err:
            log.info("%s; opening it read-only", err)
        store = cls(open_read_only(path))
        try:
            # the index's own tokenizer: nothing to write
            store.content.open_index(None, None, search_tokens)
        except QueryFailed as err:
            store.close()
            raise StoreError(f"cannot read the full-text index of {path}: {err.__cause__}") from (
                err.__cause__
            )
        except BaseException:
            store.close()
            raise
        return store

    @classmethod
    def for_config(
        cls, config: Config, *, search_tokens: SearchTokensFactory, enroll: bool = True
    ) -> Store:
        """The PostgreSQL database at `[storage] url` when it is set (its password from
        `password_env` or libpq's own); else the SQLite file at `[storage] path`, indexed with
        `[storage] fts_tokenizer` and, for jieba, the `[nlp] lexicon` in tokens from
        `search_tokens`. It serves the config's `[campaign]`, enrolled (its members written
        from the config); `enroll=False` writes no members, for a command that then picks
        its campaign with `read_campaign`."""
        from monitor.campaign import campaign_of

        storage = config.storage
        if storage.url is not None:
            store = cls.open_postgres(storage.url, password_env=storage.password_env)
        else:
            tokenizer = getattr(storage, "fts_tokenizer", DEFAULT_FTS_TOKENIZER)
            store = cls.open(
                storage.path,
                fts_tokenizer=tokenizer,
                lexicon=config.nlp.lexicon,
                search_tokens=search_tokens,
            )
        if not enroll:
            return store
        try:
            store.enroll(campaign_of(config))  # the config's campaign, its members as now
        except BaseException:
            store.close()
            raise
        return store

    def __enter__(self) -> Store:
        return self
