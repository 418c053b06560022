"""One writer process per database: `pingfan run`, `collect` and `reindex` hold a run lock.

`RunLock(db_path)` takes a non-blocking `flock` on `<db>.lock` next to the database and writes
its pid there. A second process gets `AlreadyRunning` at once (exit code 3 in `pingfan`)
instead of fighting over SQLite's write lock. The lock belongs to the open file, so the
kernel releases it when the process dies, however it dies; the file itself stays (removing
it would let two processes lock two different files). The file descriptor is not inherited
by child processes (a browser started by a collector does not keep the lock).

The lock is taken on the database's real path (symlinks and `..` resolved): two daemons
that reach one database through a symlinked or a relative path share one lock, and the
second gets `AlreadyRunning`. A lock file that cannot be created or written (a read-only
folder, a full disk) is one `DatabaseUnavailable` line (exit 1), and its descriptor is
closed.

On PostgreSQL there is no file to guard and the server takes the writes of several
processes: `run_lock(config)` is then no lock at all, so that several `pingfan run` (on one
machine or several) share one database.
"""

from __future__ import annotations

import errno
import fcntl
import os
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from monitor.errors import PingfanError, StoreError
from monitor.store.errors import DatabaseUnavailable

if TYPE_CHECKING:
    from monitor.config import Config

# The disk or the folder, not the configuration: exit 1 ("free some space", "permissions").
_ENVIRONMENT = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO}


class AlreadyRunning(PingfanError):
    """Another pingfan process holds the run lock of this database."""

    def __init__(self, db_path: str | os.PathLike[str], pid: int | None) -> None:
        holder = f"pid {pid}" if pid else "pid unknown"
        super().__init__(
            f"another pingfan run/collect is using {db_path} ({holder}); stop it or wait"
        )
        self.db_path = str(db_path)
        self.pid = pid


def lock_path(db_path: str | os.PathLike[str]) -> Path:
    """`<db>.lock` beside the database's real file, whatever path led to it."""
    return Path(f"{os.path.realpath(os.fspath(db_path))}.lock")


class RunLock:
    """`with RunLock(db_path): ...` — raises `AlreadyRunning` when another process holds it.

    An in-memory database (":memory:") has nothing to share: the lock is then a no-op.
    """

    def __init__(self, db_path: str | os.PathLike[str]) -> None:
        self.db_path = db_path
        self.path = lock_path(db_path)
        self._fd: int | None = None

    def acquire(self) -> None:
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already held by this RunLock")
        if os.fspath(self.db_path) == ":memory:":
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise _unusable(self.path, "create", err) from err
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(fd)
            os.close(fd)
            raise AlreadyRunning(self.db_path, pid) from None
        except BaseException:
            os.close(fd)
            raise
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError as err:
            os.close(fd)  # closing releases the flock: nothing is held, nothing leaks
            raise _unusable(self.path, "write", err) from err
        self._fd = fd

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)  # no stale pid for the next reader
        finally:
            os.close(fd)  # closing the descriptor releases the flock

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


def run_lock(config: Config) -> AbstractContextManager[object]:
    """The lock `run`, `collect` and the digest hold: the file lock beside the SQLite
    database, or nothing on PostgreSQL (several processes share that database)."""
    if config.storage.is_postgres:
        return nullcontext()
    return RunLock(config.storage.path)


def _unusable(path: Path, doing: str, err: OSError) -> StoreError:
    reason = err.strerror or str(err)
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return DatabaseUnavailable(
            f"cannot {doing} the lock file {path}: the disk is full ({reason}); free some "
            "space and retry"
        )
    if err.errno in _ENVIRONMENT:
        return DatabaseUnavailable(
            f"cannot {doing} the lock file {path}: {reason}; check that its folder is "
            "writable by this user (a read-only folder can still be read: pingfan status, "
            "export, backup)"
        )
    return StoreError(
        f"cannot {doing} the lock file {path}: {reason}; check [storage] path and the "
        "permissions of its directory"
    )


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None
