"""Runtime state in the store (circuits, source schedules), the same on both back-ends."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.store import CircuitRow, Store
from tests.support.factories import T0

pytestmark = pytest.mark.both_backends


def test_a_circuit_is_saved_and_read_back(store: Store) -> None:
    assert store.runtime.circuit("weibo") is None
    opened = CircuitRow("weibo", "open", "HTTP 418", T0 + timedelta(minutes=10), 600.0, 0)
    store.runtime.save_circuit(opened, T0)
    store.runtime.save_circuit(CircuitRow("douyin", "closed", "", None, 60.0, 0), T0)
    assert store.runtime.circuit("weibo") == opened
    half_open = CircuitRow("weibo", "half_open", "probing", None, 1200.0, 1)
    store.runtime.save_circuit(half_open, T0 + timedelta(minutes=11))
    assert [c.platform for c in store.runtime.circuits()] == ["douyin", "weibo"]
    assert store.runtime.circuit("weibo") == half_open


def test_a_source_counts_failures_until_a_success(store: Store) -> None:
    runtime = store.runtime
    later = T0 + timedelta(minutes=5)
    runtime.record_source_run("weibo:topic", "weibo", status="ok", at=T0, due_at=later, rows=3)
    for minutes in (5, 10):
        at = T0 + timedelta(minutes=minutes)
        runtime.record_source_run(
            "weibo:topic", "weibo", status="error", at=at, due_at=at, error="HTTP 500"
        )
    failing = runtime.source("weibo:topic")
    assert failing is not None
    assert (failing.failures, failing.last_status, failing.last_error) == (2, "error", "HTTP 500")
    assert failing.last_success_at == T0 and failing.last_rows == 0
    end = T0 + timedelta(minutes=15)
    runtime.record_source_run("weibo:topic", "weibo", status="skipped", at=end, due_at=end)
    assert runtime.sources()[0].failures == 2  # a skipped run is not a failure
    runtime.record_source_run("weibo:topic", "weibo", status="ok", at=end, due_at=end, rows=7)
    recovered = runtime.source("weibo:topic")
    assert recovered is not None
    assert (recovered.failures, recovered.last_rows, recovered.last_success_at) == (0, 7, end)
    assert recovered.last_error == "HTTP 500"  # the last error stays for `status`


def test_bring_forward_only_moves_a_source_earlier(store: Store) -> None:
    due = T0 + timedelta(hours=1)
    store.runtime.record_source_run("douyin:kol", "douyin", status="ok", at=T0, due_at=due)
    assert store.runtime.bring_forward("douyin:kol", due + timedelta(minutes=1)) is False
    assert store.runtime.bring_forward("douyin:kol", T0) is True
    source = store.runtime.source("douyin:kol")
    assert source is not None and source.due_at == T0
    assert store.runtime.bring_forward("never:ran", T0) is False
