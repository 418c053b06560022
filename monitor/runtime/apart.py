"""Run one call in a short-lived process of its own (spawned: nothing shared).

For work a long-running process should not host: building jieba's tables holds the GIL for
half a second and leaves its scratch memory behind; drawing digest charts imports matplotlib
(about 45 MB, for ever). The child imports only what the function's module needs, and the
result comes back pickled.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


def leave_with_parent(parent: int) -> None:
    """A pool initializer (`initargs=(os.getpid(),)`): the child exits once `parent` is gone.
    A pool's child holds both ends of its own task queue, so a parent killed with SIGKILL
    would leave it waiting for work for ever (holding the parent's stdout and stderr open).
    The parent's pid comes from the parent: it may be dead before this runs."""
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _one_off() -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=leave_with_parent,
        initargs=(os.getpid(),),
    )


def run_apart(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    with _one_off() as pool:
        return pool.submit(function, *args, **kwargs).result()


async def run_apart_async(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`run_apart` without blocking the event loop while the child works."""
    pool = _one_off()
    try:
        return await asyncio.wrap_future(pool.submit(function, *args, **kwargs))
    finally:
        pool.shutdown(wait=False)  # the child leaves by itself once its work is done
