"""A throwaway PostgreSQL cluster for the tests: Debian's server binaries, `initdb` in a temporary
directory, `pg_ctl` on a free loopback port, run as a non-root user (PostgreSQL refuses root),
removed afterwards. One cluster per pytest process (each xdist worker has its own), started
the first time a test asks for it; each test gets a database of its own, cloned from a template.
The cluster is thrown away, so it trades durability for speed (no fsync, no full-page writes,
no waiting for the WAL), and databases are made and dropped over one kept connection rather
than a psql process each.

Without a server, the PostgreSQL tests skip on a developer's machine and fail in CI (`CI` set):
`make test` installs the server, so there a missing one is a broken set-up, not a reason to
pass.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import psycopg
import pytest

# Debian installs each major version under its own directory; /usr/local/bin may hold links
# to one of them, or something else entirely, so the search starts from Debian's own layout.
_DEBIAN_ROOT = Path("/usr/lib/postgresql")
_SERVER_USER = "postgres"  # Debian's package creates it; the cluster runs as it under root
_START_TIMEOUT_S = 60
_PORT_ATTEMPTS = 3
# Nothing here must survive a crash: no fsync (-F), no full-page images, commits that do not
# wait for their WAL to be written.
_THROWAWAY = "-F -c full_page_writes=off -c synchronous_commit=off"


# Each cluster's database migrated once, when the cluster starts; a test's database copies it.
TEMPLATE = "pingfan_template"


class NoServer(RuntimeError):
    """No PostgreSQL server binaries here, or the cluster would not start."""


def server_bin() -> Path:
    """The newest installed version's bin directory (it holds initdb, pg_ctl and postgres)."""
    candidates = sorted(
        (path for path in _DEBIAN_ROOT.glob("*/bin") if (path / "initdb").is_file()),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
    )
    if not candidates:
        raise NoServer(
            f"no PostgreSQL server under {_DEBIAN_ROOT}: install Debian's `postgresql` package "
            "(`make test` does)"
        )
    return candidates[-1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Cluster:
    """A running cluster: its directory, port and superuser; `database()` makes a new one."""

    root: Path
    port: int
    user: str
    _bin: Path
    _as_user: tuple[str, ...]
    _counter: itertools.count[int]
    _admin: psycopg.Connection[tuple[object, ...]] | None = None

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run `sql` with Debian's psql (no Python driver needed to set a database up)."""
        done = subprocess.run(
            [
                str(self._bin / "psql"),
                "-X",
                "-q",
                "-At",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                self.user,
                "-d",
                database,
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql {sql!r}: {done.stderr.strip()}")
        return done.stdout

    def database(self, template: str = "template1") -> str:
        """A new, empty database (a copy of `template`); returns its name."""
        name = f"t{os.getpid()}_{next(self._counter)}"
        self._admin_execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return name

    def drop(self, name: str) -> None:
        self._admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    @contextmanager
    def temporary_url(self, template: str = "template1") -> Iterator[str]:
        """The address of a new database (a copy of `template`), dropped afterwards."""
        name = self.database(template)
        try:
            yield self.url(name)
        finally:
            self.drop(name)

    def _admin_execute(self, sql: str) -> None:
        """`sql` (CREATE or DROP DATABASE: autocommit) on the kept connection to `postgres`,
        opened again once if it was lost (a test may end other sessions)."""
        for attempt in (1, 2):
            if self._admin is None or self._admin.closed:
                self._admin = psycopg.connect(self.url("postgres"), autocommit=True)
            try:
                self._admin.execute(sql)
                return
            except psycopg.OperationalError:
                if not self._admin.broken or attempt == 2:
                    raise
                self._close_admin()

    def _close_admin(self) -> None:
        if self._admin is not None:
            self._admin.close()
            self._admin = None

    def stop(self) -> None:
        self._close_admin()
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, program: str, *args: str, check: bool = True) -> None:
        done = subprocess.run(
            [*self._as_user, str(self._bin / program), *args],
            capture_output=True,
            text=True,
            check=False,
        )
        if check and done.returncode != 0:
            log = (
                (self.root / "server.log").read_text(errors="replace")[-2000:]
                if (self.root / "server.log").exists()
                else ""
            )
            raise NoServer(f"{program} failed: {done.stderr.strip()}\n{log}")


def _as_server_user() -> tuple[str, ...]:
    """The prefix that runs a server binary as a non-root user: nothing when we are not root,
    else `runuser` to Debian's `postgres` user."""
    if os.geteuid() != 0:
        return ()
    try:
        pwd.getpwnam(_SERVER_USER)
    except KeyError as err:
        raise NoServer(
            f"running as root and no {_SERVER_USER!r} user to run PostgreSQL as: install "
            "Debian's `postgresql` package, which creates it"
        ) from err
    return ("runuser", "-u", _SERVER_USER, "--")


def start_cluster(superuser: str = "pingfan") -> Cluster:
    """initdb and start a cluster in a new temporary directory; on any failure nothing is left."""
    bin_dir = server_bin()
    as_user = _as_server_user()
    root = Path(tempfile.mkdtemp(prefix="pingfan-pg-"))
    if as_user:
        shutil.chown(root, user=_SERVER_USER)
    cluster = Cluster(root, free_port(), superuser, bin_dir, as_user, itertools.count(1))
    try:
        # C.UTF-8: text compares by code point, as SQLite does, and pg_trgm sees Chinese
        # characters as letters, so a Chinese substring has trigrams to look up.
        cluster._run(
            "initdb",
            "-D",
            str(cluster.data),
            "-U",
            superuser,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        # A port found free can be taken by another worker before the server binds it: then
        # the start fails, and another port is tried.
        for attempt in range(_PORT_ATTEMPTS):
            if attempt:
                cluster.port = free_port()
            options = f"-h 127.0.0.1 -p {cluster.port} -k {root} -c max_connections=50 {_THROWAWAY}"
            try:
                cluster._run(
                    "pg_ctl",
                    "-D",
                    str(cluster.data),
                    "-o",
                    options,
                    "-l",
                    str(root / "server.log"),
                    "-t",
                    str(_START_TIMEOUT_S),
                    "-w",
                    "start",
                )
                break
            except NoServer:
                if attempt == _PORT_ATTEMPTS - 1:
                    raise
    except BaseException:
        cluster.stop()
        raise
    return cluster


def required_or_skip(err: Exception) -> NoReturn:
    """A missing server fails the test in CI and skips it elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required in CI: {err}", pytrace=False)
    pytest.skip(f"no PostgreSQL server: {err}")
