"""A pass cut at a source's time budget says so: `partial`, how much is left, exit code 0;
`collect --once --until-done` reads on until nothing is left."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest

from monitor.app.collect import collect_once
from monitor.collectors.due import visit_due_threads
from monitor.config import ScheduleConfig
from monitor.runtime.circuit import Circuit
from monitor.runtime.clock import VirtualClock
from monitor.runtime.fetch import report_left, source_scope
from monitor.runtime.runner import PlatformRunner
from monitor.runtime.sources import Source
from monitor.store import Store
from tests.support.sim import MID_CAMPAIGN, running_sim
from tests.support.weibo import sim_config


async def test_a_comment_run_cut_at_its_budget_reports_the_threads_left() -> None:
    clock = VirtualClock(MID_CAMPAIGN)
    threads = [(f"t{n}", 10) for n in range(10)]

    async def visit(post_id: str, listed: int) -> tuple[int, bool]:
        await clock.sleep(10)  # every visit takes 10 s of the run's 25
        return 5, False

    with Store.open(":memory:") as store, source_scope(clock.monotonic() + 25) as scope:
        rows = await visit_due_threads(lambda: threads, visit, clock, store)
    assert rows == 15  # three visits, then the time was up
    assert scope.left == (7, "threads")


async def test_a_run_with_nothing_left_is_not_partial() -> None:
    clock = VirtualClock(MID_CAMPAIGN)

    async def visit(post_id: str, listed: int) -> tuple[int, bool]:
        return 1, False

    with Store.open(":memory:") as store, source_scope(clock.monotonic() + 25) as scope:
        await visit_due_threads(lambda: [("a", 1), ("b", 1)], visit, clock, store)
    assert scope.left is None


async def test_the_log_line_says_partial_and_how_much_is_left(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = VirtualClock(MID_CAMPAIGN)

    async def run() -> int:
        report_left(312, "threads")
        return 40

    with Store.open(":memory:") as store:
        runner = PlatformRunner("weibo", store, clock, Circuit("weibo", store, clock, cooldown=600))
        # the demo quiets this logger in-process: ask for INFO on it by name
        with caplog.at_level(logging.INFO, logger="monitor.runtime.runner"):
            report = await runner.run_all([Source("weibo:comments", "weibo", 300, run)])
    (step,) = report.steps
    assert step.status == "ok" and step.shown_status == "partial"
    assert step.left == "312 threads left; the next pass resumes"
    assert (
        "weibo:comments: partial rows=40 requests=0 (312 threads left; the next pass resumes)"
        in (caplog.text)
    )
    assert "(1 partial)" in report.summary()


async def test_collect_once_says_partial_and_until_done_reads_on(tmp_path: Path) -> None:
    async with running_sim(at=MID_CAMPAIGN, requests_per_minute=100_000) as (server, _):
        # one request a second, and 30 s for the comment source: far from every thread
        config = sim_config(server, tmp_path, requests_per_minute=60, burst=1)
        config = dataclasses.replace(config, schedule=ScheduleConfig(comments_hot=30.0))
        first = await collect_once(config, "weibo", clock=VirtualClock(MID_CAMPAIGN))
        assert not first.blocked  # the exit code stays 0
        (partial,) = [line for line in first.lines if line.startswith("  partial:")]
        assert partial.startswith("  partial: weibo:comments: ")
        assert partial.endswith(" threads left; the next pass resumes")
        assert "partial)" in first.lines[0]

        done = await collect_once(
            config, "weibo", clock=VirtualClock(MID_CAMPAIGN), until_done=True
        )
        assert not done.blocked
        assert not [line for line in done.lines if "partial" in line], done.lines
        with Store.open(config.storage.path) as store:
            left = [row for row in store.reports.comment_poll_state("weibo", "weibo:comments")
                    if row["value"] is None or "resume" in row["value"]]  # fmt: skip
        assert left == []
