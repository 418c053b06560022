"""Run one call in a short-lived process of its own (spawned: nothing shared).

For work a long-running process should not host: building jieba's tables holds the GIL for
half a second and leaves its scratch memory behind; drawing digest charts imports matplotlib
(about 45 MB, for ever). The child imports only what the function's module needs, and the
result comes back pickled.

It lives in monitor/ beside the store rather than in runtime/: the runtime (the scorer,
jieba's tables) and alerts/ (the digest's charts) both use it, and alerts/ never imports the
runtime.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


def leave_with_parent(parent: int) -> None:
    """A pool initializer (`initargs=(os.getpid(),)`): the child exits once `parent` is gone.
    A pool's child holds both ends of its own task queue, so a parent killed with SIGKILL
    would leave it waiting for work for ever (holding the parent's stdout and stderr open).
    The parent's pid comes from the parent: it may be dead before this runs.

    Ctrl-C in a terminal reaches every process of the group: the child ignores it and
    leaves the stopping to its parent, which finishes its work and shuts the pool down
    (a child interrupted mid-wait prints a traceback and loses its task). The child starts
    with SIGINT blocked (`_QuietStartPool`), so a Ctrl-C during its start-up waits until it
    is ignored here, and ignoring it discards it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


class _QuietStartPool(ProcessPoolExecutor):
    """A pool whose process starts with SIGINT blocked. The process is started by the first
    `submit`, in the calling thread, and inherits that thread's signal mask. Without the block,
    a Ctrl-C that comes while the child is still importing (before `leave_with_parent` can
    ignore it) kills it with a traceback and breaks the pool."""

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            return super().submit(fn, *args, **kwargs)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


def spawned_worker(
    initializer: Callable[..., None] = leave_with_parent, *args: Any
) -> ProcessPoolExecutor:
    """A pool of one spawned process (it shares no sockets, locks or SQLite handles with this
    one). `initializer(*args, parent_pid)` runs in it first; it must call `leave_with_parent`
    with that pid, as the default does."""
    return _QuietStartPool(
        1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=initializer,
        initargs=(*args, os.getpid()),
    )


def run_apart(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    with spawned_worker() as pool:
        return pool.submit(function, *args, **kwargs).result()


class LingeringWorker:
    """One spawned process for occasional heavy calls: started by the first call, reused by
    the calls that come within `linger` seconds of the last one, then stopped. A weekly
    digest pays one start and leaves nothing behind; the demo, where a week passes in
    seconds, does not pay a start (and matplotlib's import, ~2 s of CPU) per digest."""

    def __init__(self, linger: float = 60.0) -> None:
        self.linger = linger
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._timer: threading.Timer | None = None

    def run(self, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if self._pool is None:
                self._pool = spawned_worker()
            pool = self._pool
        try:
            return pool.submit(function, *args, **kwargs).result()
        except BrokenProcessPool:
            self._stop(pool)  # the next call starts a fresh process
            raise
        finally:
            with self._lock:
                if self._pool is pool and self._timer is None:
                    self._timer = threading.Timer(self.linger, self._stop, args=(pool,))
                    self._timer.daemon = True
                    self._timer.start()

    @property
    def running(self) -> bool:
        return self._pool is not None

    def _stop(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
                self._timer = None
        pool.shutdown(wait=False)


def call_by_name(target: str, *args: Any) -> Any:
    """`module:function`, imported in the process that calls it: with `run_apart`, the
    parent never imports the module (the point, when the module is heavy)."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)(*args)


async def run_apart_async(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`run_apart` without blocking the event loop while the child works."""
    pool = spawned_worker()
    try:
        # Through the loop's executor hook, so a simulated clock counts the child's work.
        call = functools.partial(function, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(pool, call)
    finally:
        pool.shutdown(wait=False)  # the child leaves by itself once its work is done
