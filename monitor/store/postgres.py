"""PostgreSQL under the store's seam (backend.py): a psycopg 3 connection that runs the query
groups' SQL (SQLite placeholders rewritten once per statement), and the schema's migrations.

Only monitor/store imports psycopg (this module, errors.py, leadership.py); a SQLite store
never loads it. The password never comes from the config file: from the environment variable
`[storage] password_env` names, or libpq's own (PGPASSWORD, ~/.pgpass). It is never logged:
the address the store reports (`where`) has no password in it.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.adapt import Dumper, Loader
from psycopg.rows import dict_row
from sqlite_utils import Database

from monitor.errors import StoreError
from monitor.store.backend import Backend, Params, Result
from monitor.store.dialect import POSTGRESQL, params_for, to_pyformat
from monitor.store.errors import DatabaseUnavailable, QueryFailed, sqlite_errors
from monitor.store.postgres_schema import MIGRATIONS

# Migrations of several workers starting at once wait for one another on this lock.
_MIGRATION_LOCK = 7_204_519_311
_CONNECT_TIMEOUT_S = 10


class _BooleanAsInteger(Dumper):
    """Python's True/False go in as 1/0, as SQLite stores them: the schema's flags are
    integers, and a query that sums or compares them reads the same on both."""

    oid = psycopg.postgres.types["int8"].oid

    def dump(self, obj: bool) -> bytes:
        return b"1" if obj else b"0"


class _NumericAsSqlite(Loader):
    """`numeric` (what sum() of integers and avg() give on PostgreSQL) as SQLite gives it: an
    int when it has no fraction (a sum), else a float (an average), never a Decimal."""

    def load(self, data: Any) -> int | float:
        text = bytes(data).decode()
        return int(text) if text.lstrip("-").isdigit() else float(text)  # float: NaN too


def where(url: str) -> str:
    """`url` without a password, for messages and logs."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}@" if parts.username else ""
    return urllib.parse.urlunsplit(parts._replace(netloc=user + host))


class PostgresBackend:
    """A psycopg connection in autocommit mode: each statement commits on its own unless it
    runs inside `atomic()` (a transaction, a savepoint when nested)."""

    dialect = POSTGRESQL

    def __init__(self, conn: psycopg.Connection[Any], where: str) -> None:
        self.conn = conn
        self.where = where
        # Run first in each outermost transaction: several workers' source leases check
        # there that a run's writes still come from the lease's holder (runtime/leases.py).
        self.on_begin: Callable[[], None] | None = None

    @contextmanager
    def atomic(self) -> Iterator[Any]:
        outermost = self.conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        with self.conn.transaction() as transaction:
            if outermost and self.on_begin is not None:
                self.on_begin()
            yield transaction

    def execute(self, sql: str, params: Params = ()) -> Result:
        statement = to_pyformat(sql)
        return self.conn.execute(statement.sql, params_for(statement.style, params))

    def executemany(self, sql: str, rows: Any) -> int:
        statement = to_pyformat(sql)
        with self.conn.cursor() as cursor:
            cursor.executemany(statement.sql, [params_for(statement.style, row) for row in rows])
            return max(cursor.rowcount, 0)

    def named(self, sql: str, params: Params = ()) -> Sequence[Mapping[str, Any]]:
        statement = to_pyformat(sql)
        with self.conn.cursor(row_factory=dict_row) as cursor:
            cursor.execute(statement.sql, params_for(statement.style, params))
            return cursor.fetchall()

    def stream(self, sql: str, params: Params = ()) -> Iterator[dict[str, Any]]:
        for row in self.named(sql, params):
            yield dict(row)

    def database(self) -> Database:
        raise QueryFailed(
            f"database {self.where}: this part of the store runs on SQLite only for now "
            "(PostgreSQL is not complete yet)"
        )

    def close(self) -> None:
        self.conn.close()


def connect(
    url: str, password_env: str | None = None, *, migrate_schema: bool = True
) -> PostgresBackend:
    """Connect to `url` and bring its schema up to date (`migrate_schema=False`: only connect, for
    `pingfan doctor`, which looks and changes nothing)."""
    shown = where(url)
    password = None  # None: libpq's own (PGPASSWORD, ~/.pgpass)
    if password_env:
        password = os.environ.get(password_env)
        if not password:
            raise StoreError(
                f"[storage] password_env names {password_env}, which is not set: export the "
                "database password in it"
            )
    try:
        conn = psycopg.connect(
            url, autocommit=True, connect_timeout=_CONNECT_TIMEOUT_S, password=password
        )
    except psycopg.Error as err:
        secrets = (password, urllib.parse.urlsplit(url).password)
        raise DatabaseUnavailable(
            f"cannot connect to {shown}: {_first_line(err, secrets)}; check [storage] url, "
            "that the server is running, and the password"
        ) from err
    conn.adapters.register_dumper(bool, _BooleanAsInteger)
    conn.adapters.register_loader("numeric", _NumericAsSqlite)
    backend = PostgresBackend(conn, shown)
    if not migrate_schema:
        return backend
    try:
        migrate(backend)
    except psycopg.errors.InsufficientPrivilege as err:
        conn.close()
        raise DatabaseUnavailable(
            f"cannot create pingfan's tables in {shown}: {_first_line(err)}; make the role "
            "the database's owner (createdb --owner ROLE, or ALTER DATABASE ... OWNER TO ROLE)"
        ) from err
    except BaseException:
        conn.close()
        raise
    return backend


def migrate(backend: PostgresBackend) -> list[str]:
    """Apply the migrations not applied yet, in one transaction; returns their names."""
    conn = backend.conn
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS pingfan_schema (name TEXT PRIMARY KEY,"
            " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        done = {row[0] for row in conn.execute("SELECT name FROM pingfan_schema")}
        applied = []
        for name, statements in MIGRATIONS:
            if name in done:
                continue
            conn.execute(statements.encode())  # several statements: no parameters
            conn.execute("INSERT INTO pingfan_schema (name) VALUES (%s)", (name,))
            applied.append(name)
    return applied


def schema_version(backend: Backend) -> str:
    """The last migration applied ("" before the first)."""
    if backend.execute("SELECT to_regclass('pingfan_schema')").fetchone()[0] is None:
        return ""
    row = backend.execute("SELECT name FROM pingfan_schema ORDER BY name DESC LIMIT 1").fetchone()
    return str(row[0]) if row else ""


@dataclass(frozen=True)
class ServerFacts:
    """What `pingfan doctor` reports of a PostgreSQL database it connected to."""

    server_version: str  # "15.10"
    schema_version: str  # the last migration applied; "" before the first
    latest_migration: str  # the last one this pingfan knows
    pg_trgm: str | None  # the extension's version in this database; None: not created
    pg_trgm_available: bool  # the server has it to create (Debian's package ships it)


def server_facts(backend: PostgresBackend) -> ServerFacts:
    """Read-only facts about the server and the schema (no migration runs)."""
    version = backend.conn.info.server_version  # 150010: 15.10
    with sqlite_errors(backend.where):  # psycopg's errors leave as pingfan's
        trgm = backend.execute("SELECT extversion FROM pg_extension WHERE extname = 'pg_trgm'")
        installed = trgm.fetchone()
        available = backend.execute(
            "SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_trgm'"
        ).fetchone()[0]
        schema = schema_version(backend)
    return ServerFacts(
        server_version=f"{version // 10000}.{version % 10000}",
        schema_version=schema,
        latest_migration=MIGRATIONS[-1][0],
        pg_trgm=str(installed[0]) if installed else None,
        pg_trgm_available=bool(available),
    )


def _first_line(err: BaseException, secrets: Iterable[str | None] = ()) -> str:
    """The error's first line, any secret in it masked (libpq may quote the address back)."""
    line = (str(err).strip().splitlines() or [type(err).__name__])[0]
    for secret in secrets:
        if secret:
            line = line.replace(secret, "***")
    return line
