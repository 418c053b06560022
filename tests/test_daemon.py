"""`pingfan run` against the simulator: crash safety, cool-downs across restarts, stopping,
health, retention."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3  # edits a stopped daemon's file from outside, between two runs
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from monitor.config import config_from_dict
from monitor.models import to_utc_iso, utc_now
from monitor.runtime.clock import WallClock, wait_any
from monitor.sim.app import SimServer
from monitor.sim.faults import Fault
from monitor.store import Store
from tests.support.daemon import (
    FAST_SCHEDULE,
    daemon_config_dict,
    eventually,
    in_process_daemon,
    kill_left_behind,
    read_db,
    source_names,
    write_config,
)
from tests.support.factories import comment
from tests.support.sim import MID_CAMPAIGN, TOPIC, running_sim
from tests.support.weibo import expected_post_ids

pytestmark = pytest.mark.timeout(240)


_started: list[asyncio.subprocess.Process] = []


async def start_daemon(config_path: Path, *, own_group: bool = False) -> asyncio.subprocess.Process:
    """`pingfan run` as a child; `own_group`: in a process group of its own, as a shell
    starts it, so that a signal can go to the group as Ctrl-C in a terminal does."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "monitor", "--config", str(config_path),
        "--log-level", "WARNING", "run",
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, process_group=0 if own_group else None,
    )  # fmt: skip
    _started.append(process)
    return process


@pytest.fixture(autouse=True)
def no_daemon_left_behind() -> Iterator[None]:
    """A failing test must not leave a daemon running (it would hold its run lock)."""
    yield
    kill_left_behind(_started)


async def test_sigkill_at_random_points_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    rng = random.Random(20190701)
    async with running_sim(at=MID_CAMPAIGN - timedelta(days=3), requests_per_minute=100_000) as (
        server,
        clock,
    ):
        config_path = write_config(tmp_path / "config.toml", daemon_config_dict(server))
        db = tmp_path / "pingfan.db"
        for _ in range(4):
            process = await start_daemon(config_path)
            await asyncio.sleep(rng.uniform(0.5, 4.0))
            process.kill()
            await process.wait()
            clock.advance(hours=18)  # the campaign goes on while pingfan is down

        process = await start_daemon(config_path)
        world, now = server.sim.world, clock.now()
        want_posts = expected_post_ids(world, now)
        want_comments = {c.id for pid in want_posts for c in world.comments_until(pid, now)}

        def caught_up() -> bool:
            posts = {row[0] for row in read_db(db, "SELECT id FROM posts")}
            comments = {row[0] for row in read_db(db, "SELECT id FROM comments")}
            return posts == want_posts and comments == want_comments

        await eventually(caught_up, 90, "the restarted daemon catches up")
        process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, err.decode()
    assert "Traceback" not in err.decode()
    for table in ("posts", "comments"):
        ((rows, distinct),) = read_db(db, f"SELECT count(*), count(DISTINCT id) FROM {table}")
        assert rows == distinct
    assert read_db(db, "SELECT count(*) FROM comments WHERE sentiment IS NULL") == [(0,)]


class JumpingClock(WallClock):
    """Real time plus jumps the test makes: a long cool-down can end on cue, so a slow
    restart on a loaded machine cannot outlast it by accident."""

    def __init__(self) -> None:
        self.offset = 0.0

    def jump(self, seconds: float) -> None:
        self.offset += seconds

    def now(self) -> datetime:
        return super().now() + timedelta(seconds=self.offset)

    def monotonic(self) -> float:
        return super().monotonic() + self.offset

    async def sleep(self, seconds: float) -> None:
        until = self.monotonic() + seconds
        while (left := until - self.monotonic()) > 0:
            await asyncio.sleep(min(left, 0.05))  # short steps, so that a jump is noticed

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        await wait_any(self, seconds, event)
        return event.is_set()


def weibo_requests(server: SimServer) -> int:
    return server.sim.requests_to("weibo") + server.sim.requests_to("weibo_topic")


def parked_until_the_cool_down_ends(db: Path, names: set[str], ran_since: datetime) -> bool:
    """The circuit is open and every source in `names` has run since `ran_since` and is not
    due before the cool-down ends: the daemon's scheduler will send nothing until then."""
    circuit = read_db(db, "SELECT open_until FROM circuits WHERE platform = 'weibo'"
                          " AND state = 'open'")  # fmt: skip
    if not circuit or circuit[0][0] is None:
        return False
    open_until = datetime.fromisoformat(circuit[0][0])
    rows = {name: (datetime.fromisoformat(run_at), datetime.fromisoformat(due_at), status)
            for name, run_at, due_at, status in read_db(
                db, "SELECT name, last_run_at, due_at, last_status FROM sources"
                " WHERE platform = 'weibo' AND last_run_at IS NOT NULL AND due_at IS NOT NULL")
    }  # fmt: skip
    return names <= rows.keys() and all(
        rows[n][0] >= ran_since
        and rows[n][2] in ("blocked", "skipped")
        # stored to the second: a source parked for the rest of the cool-down is due at its end
        and rows[n][1] >= open_until - timedelta(seconds=1)
        for n in names
    )


async def test_a_block_pauses_weibo_across_a_restart_then_it_catches_up(tmp_path: Path) -> None:
    async with running_sim(requests_per_minute=100_000) as (server, clock):
        raw = daemon_config_dict(server, cooldown="1h")
        config = config_from_dict(raw, tmp_path / "config.toml")
        db = config.storage.path
        server.sim.faults.add(Fault("weibo", "http432", count=None))
        daemon_clock = JumpingClock()
        started = daemon_clock.now().replace(microsecond=0)
        async with in_process_daemon(config, daemon_clock) as daemon:
            weibo = await source_names(daemon, "weibo")
            await eventually(
                lambda: parked_until_the_cool_down_ends(db, weibo, started), 30,
                "every Weibo source met the block and waits for the cool-down to end",
            )  # fmt: skip
            during = weibo_requests(server)
        assert weibo_requests(server) == during, "nothing was sent while cooling down"
        # Every source due at once on the restart: each must still hold back, not send.
        restarted = daemon_clock.now().replace(microsecond=0)
        with sqlite3.connect(db) as conn:
            conn.execute("UPDATE sources SET due_at = ?", (to_utc_iso(restarted),))
        conn.close()
        async with in_process_daemon(config, daemon_clock):  # a restart inside the cool-down
            await eventually(
                lambda: parked_until_the_cool_down_ends(db, weibo, restarted), 30,
                "every due Weibo source ran after the restart and was held back",
            )  # fmt: skip
            statuses = {s for (s,) in read_db(db, "SELECT last_status FROM sources")}
            assert statuses == {"skipped"}, "after the restart the open circuit skips each run"
            assert weibo_requests(server) == during, "the restart respects the cool-down"
            server.sim.faults.clear()
            clock.advance(hours=6)
            daemon_clock.jump(3600)  # the cool-down ends
            want = expected_post_ids(server.sim.world, clock.now())
            await eventually(
                lambda: {r[0] for r in read_db(db, "SELECT id FROM posts")} == want, 30,
                "Weibo resumes and catches up",
            )  # fmt: skip
        titles = read_db(db, "SELECT title FROM alerts WHERE kind = 'collector_health' ORDER BY id")
        assert [t for (t,) in titles] == ["微博采集暂停：被平台拦截", "微博采集已恢复"]


async def test_health_endpoint_and_metrics_while_running(tmp_path: Path) -> None:
    async with running_sim(requests_per_minute=100_000) as (server, _):
        config = config_from_dict(daemon_config_dict(server), tmp_path / "config.toml")
        async with in_process_daemon(config) as daemon, aiohttp.ClientSession() as session:
            base = f"http://127.0.0.1:{daemon.health_port}"

            async def polled() -> bool:
                async with session.get(base + "/healthz") as response:
                    body = await response.json()
                return any(s["last_success_at"] for s in body["sources"])

            await eventually(polled, 30, "a source succeeded, as /healthz reports")
            async with session.get(base + "/healthz") as response:
                health = await response.json()
                assert response.status == 200
            async with session.get(base + "/metrics") as response:
                metrics = await response.text()
        assert health["status"] in ("ok", "degraded")
        assert "worker" not in health  # the only worker on SQLite: no share to tell
        names = {s["name"] for s in health["sources"]}
        assert f"weibo:topic_posts:{TOPIC}" in names and "weibo:comments" in names
        assert 'pingfan_polls_total{platform="weibo"' in metrics
        assert (
            "pingfan_requests_total" in metrics and "pingfan_event_loop_max_lag_seconds" in metrics
        )
        assert daemon.max_loop_lag < 1.0


@pytest.mark.parametrize("to_group", [False, True], ids=["SIGTERM to the daemon", "Ctrl-C"])
async def test_a_stop_signal_stops_the_daemon_with_exit_0(tmp_path: Path, to_group: bool) -> None:
    async with running_sim(requests_per_minute=100_000) as (server, _):
        config_path = write_config(tmp_path / "config.toml", daemon_config_dict(server))
        process = await start_daemon(config_path, own_group=to_group)
        await eventually(
            lambda: bool(read_db(tmp_path / "pingfan.db", "SELECT 1 FROM sources LIMIT 1")),
            30,
            "the daemon polls",
        )
        if to_group:  # the terminal's Ctrl-C: every process of the group, the worker too
            os.killpg(process.pid, signal.SIGINT)
        else:
            process.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(process.communicate(), timeout=20)
    assert process.returncode == 0, err.decode()
    assert "Traceback" not in err.decode() and "KeyboardInterrupt" not in err.decode()


async def test_a_second_daemon_on_the_same_database_says_so(tmp_path: Path) -> None:
    async with running_sim(requests_per_minute=100_000) as (server, _):
        config_path = write_config(tmp_path / "config.toml", daemon_config_dict(server))
        first = await start_daemon(config_path)
        await eventually(
            lambda: bool(read_db(tmp_path / "pingfan.db", "SELECT 1 FROM sources LIMIT 1")),
            30,
            "the first daemon polls",
        )
        second = await start_daemon(config_path)
        _, err = await asyncio.wait_for(second.communicate(), timeout=30)
        first.send_signal(signal.SIGTERM)
        await asyncio.wait_for(first.communicate(), timeout=20)
    assert second.returncode == 3
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and "another pingfan" in lines[0], lines


async def test_retention_purges_old_comments_by_the_real_clock(tmp_path: Path) -> None:
    config = config_from_dict(
        {
            "storage": {"path": "p.db", "comment_retention_days": 30},
            "weibo": {"enabled": False},
            "douyin": {"enabled": False},
            "health": {"port": 0},
        },
        tmp_path / "config.toml",
    )
    now = utc_now()
    with Store.open(config.storage.path) as store:
        store.content.save_comments(
            [
                comment("old", created_at=now - timedelta(days=40), observed_at=now),
                comment("new", created_at=now - timedelta(days=1), observed_at=now),
            ]
        )
    async with in_process_daemon(config):
        await eventually(
            lambda: read_db(config.storage.path, "SELECT id FROM comments") == [("new",)],
            10,
            "the old comment is purged",
        )


async def test_new_posts_wake_the_comment_source_before_its_interval(tmp_path: Path) -> None:
    # Comments every hour; the topic every second. A post that appears is read for comments
    # at once: the listing that stored it wakes the comment source.
    async with running_sim(at=MID_CAMPAIGN, requests_per_minute=100_000) as (server, clock):
        raw = daemon_config_dict(server)
        raw["schedule"] = {**FAST_SCHEDULE, "comments_hot": "1h", "comments_cold": "2h"}
        config = config_from_dict(raw, tmp_path / "config.toml")
        db = tmp_path / "pingfan.db"
        async with in_process_daemon(config):
            await eventually(
                lambda: read_db(db, "SELECT last_run_at FROM sources WHERE name ="
                                    " 'weibo:comments'") not in ([], [(None,)]),
                30, "the first comment run",
            )  # fmt: skip
            before = {r[0] for r in read_db(db, "SELECT id FROM posts")}
            clock.advance(hours=12)  # the campaign moves on: new posts, new comments
            world, now = server.sim.world, clock.now()
            new_posts = expected_post_ids(world, now) - before
            want = {c.id for pid in new_posts for c in world.comments_until(pid, now)}
            assert new_posts and want

            def read_new_threads() -> bool:
                have = {r[0] for r in read_db(db, "SELECT id FROM comments")}
                return want <= have

            # The first comment run had finished before these posts existed, and the next one
            # is an hour away: only a woken run can read them within seconds.
            await eventually(read_new_threads, 30, "comments of the new posts, read at once")


def test_bring_forward_only_moves_a_source_earlier(tmp_path: Path) -> None:
    with Store.open(tmp_path / "s.db") as store:
        now = utc_now().replace(microsecond=0)  # stored to the second
        assert not store.runtime.bring_forward("weibo:comments", now)  # never ran: due anyway
        store.runtime.record_source_run(
            "weibo:comments", "weibo", status="ok", at=now, due_at=now + timedelta(hours=1)
        )
        assert store.runtime.bring_forward("weibo:comments", now + timedelta(minutes=5))
        row = store.runtime.source("weibo:comments")
        assert row is not None and row.due_at == now + timedelta(minutes=5)
        assert not store.runtime.bring_forward("weibo:comments", now + timedelta(minutes=30))
        row = store.runtime.source("weibo:comments")
        assert row is not None and row.due_at == now + timedelta(minutes=5)
