"""One-off and lingering worker processes (monitor/apart.py)."""

from __future__ import annotations

import os
import signal
import time

import pytest

from monitor.apart import (
    LingeringWorker,
    call_by_name,
    run_apart,
    run_apart_async,
    spawned_worker,
)


def test_run_apart_runs_in_another_process() -> None:
    assert run_apart(call_by_name, "os:getpid") != os.getpid()
    assert run_apart(call_by_name, "math:hypot", 3, 4) == 5.0


async def test_run_apart_async_returns_and_raises_what_the_call_does() -> None:
    assert await run_apart_async(call_by_name, "operator:add", 2, 40) == 42
    with pytest.raises(ModuleNotFoundError):
        await run_apart_async(call_by_name, "no_such_module_here:anything")


def test_a_lingering_worker_is_reused_then_stopped() -> None:
    worker = LingeringWorker(linger=3.0)
    first = worker.run(call_by_name, "os:getpid")
    second = worker.run(call_by_name, "os:getpid")
    assert first == second != os.getpid()  # one process for calls close together
    assert worker.running
    deadline = time.monotonic() + 20
    while worker.running and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not worker.running  # stopped after `linger` idle seconds
    third = worker.run(call_by_name, "os:getpid")
    assert third not in (first, os.getpid())  # a fresh process for the next call


def test_an_error_in_the_worker_reaches_the_caller_and_the_worker_stays() -> None:
    worker = LingeringWorker(linger=5.0)
    with pytest.raises(ZeroDivisionError):
        worker.run(call_by_name, "operator:truediv", 1, 0)
    assert worker.run(call_by_name, "operator:mul", 6, 7) == 42


def test_ctrl_c_while_the_worker_starts_neither_kills_it_nor_loses_the_call() -> None:
    """Ctrl-C reaches the whole process group; the worker may still be importing, before its
    initializer can ignore SIGINT. The call must still come back."""
    pool = spawned_worker()
    try:
        future = pool.submit(call_by_name, "operator:mul", 6, 7)
        children = list(pool._processes)  # started by the submit, still starting up
        assert children
        for pid in children:
            os.kill(pid, signal.SIGINT)
        assert future.result(timeout=60) == 42
        assert pool.submit(call_by_name, "os:getpid").result(timeout=60) in children
    finally:
        pool.shutdown()


def test_the_parent_keeps_its_own_ctrl_c() -> None:
    before = signal.pthread_sigmask(signal.SIG_BLOCK, set())
    assert run_apart(call_by_name, "operator:add", 1, 1) == 2
    assert signal.pthread_sigmask(signal.SIG_BLOCK, set()) == before
    assert signal.SIGINT not in before
