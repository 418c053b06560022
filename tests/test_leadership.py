"""One leader among the workers of one PostgreSQL database (it runs the rules, the bot and the
digest): only one of two holds the lock, and the other takes over when the first's
connection closes; the leader's tasks run only while it leads. On SQLite the one process
always leads."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from alerts.engine import evaluate
from monitor.config import Config, config_from_dict
from monitor.models import AlertRecord
from monitor.runtime.clock import VirtualClock
from monitor.runtime.daemon import Daemon, DaemonOptions
from monitor.runtime.leadership import Leadership
from monitor.runtime.scorer import Scorer
from monitor.store import Store
from monitor.store.leadership import LeaderLock, leader_lock
from tests.support.alerts import AT
from tests.support.factories import comment, post
from tests.support.postgres import Cluster

HANG_GUARD = 60.0  # real seconds: a broken hand-over fails instead of hanging


async def eventually_held(lock: LeaderLock) -> bool:
    """Try the lock until it is held: the server frees a closed session's locks as its
    backend exits, a moment after the client has gone."""
    deadline = time.monotonic() + HANG_GUARD
    while time.monotonic() < deadline:
        if await lock.hold():
            return True
        await asyncio.sleep(0.05)
    return False


def end_sessions_holding_the_lock(cluster: Cluster, url: str) -> None:
    """What the server does when a leader's connection dies: its session ends."""
    database = url.rsplit("/", 1)[1]
    cluster.psql(
        "SELECT pg_terminate_backend(pid) FROM pg_locks JOIN pg_stat_activity USING (pid)"
        f" WHERE locktype = 'advisory' AND datname = '{database}'"
    )


@pytest.fixture
def shared_url(postgres_cluster: Cluster) -> Iterator[str]:
    with postgres_cluster.temporary_url() as url:  # migrated by the first store to open it
        yield url


async def test_one_of_two_workers_holds_the_lock_until_its_connection_closes(
    shared_url: str,
) -> None:
    async with AsyncExitStack() as stack:
        first_store = stack.enter_context(Store.open_postgres(shared_url))
        second_store = stack.enter_context(Store.open_postgres(shared_url))
        first, second = leader_lock(first_store.sql), leader_lock(second_store.sql)
        stack.push_async_callback(first.close)
        stack.push_async_callback(second.close)
        assert await first.hold() is True
        assert await second.hold() is False
        assert await first.hold() is True  # checked again: still its
        assert await second.hold() is False
        await first.close()  # the first worker's connection closes (it stopped, or died)
        assert await eventually_held(second)
        assert await first.hold() is False  # back, it follows


async def test_a_leader_whose_session_the_server_ended_steps_down(
    shared_url: str, postgres_cluster: Cluster
) -> None:
    """A killed session (what the server does when a leader's connection dies) frees the lock:
    the other worker takes it, and the old leader learns it no longer leads."""
    async with AsyncExitStack() as stack:
        first_store = stack.enter_context(Store.open_postgres(shared_url))
        second_store = stack.enter_context(Store.open_postgres(shared_url))
        first, second = leader_lock(first_store.sql), leader_lock(second_store.sql)
        stack.push_async_callback(first.close)
        stack.push_async_callback(second.close)
        assert await first.hold() is True
        end_sessions_holding_the_lock(postgres_cluster, shared_url)
        assert await eventually_held(second)
        assert await first.hold() is False


async def test_the_leaders_task_moves_to_the_other_worker(
    shared_url: str, postgres_cluster: Cluster
) -> None:
    """The digest's schedule (any leader task) runs on the leader only; when the leader's
    session ends, the follower's watch takes the lock and starts the task there, and the old
    leader's task is told to stop when it next looks."""
    clock = VirtualClock(AT)
    stop = asyncio.Event()
    started: dict[str, asyncio.Event] = {"a": asyncio.Event(), "b": asyncio.Event()}
    stopped: dict[str, asyncio.Event] = {"a": asyncio.Event(), "b": asyncio.Event()}

    def leader_task(name: str):  # type: ignore[no-untyped-def]
        async def run(until: asyncio.Event) -> None:
            started[name].set()
            await until.wait()
            stopped[name].set()

        return run

    async with AsyncExitStack() as stack:
        stores = [stack.enter_context(Store.open_postgres(shared_url)) for _ in "ab"]
        a, b = (Leadership(leader_lock(s.sql), clock, every=1.0) for s in stores)
        stack.push_async_callback(a.close)
        stack.push_async_callback(b.close)
        assert await a.check() is True
        assert await b.check() is False
        tasks = [
            asyncio.create_task(a.while_leading(stop, leader_task("a"))),
            asyncio.create_task(b.while_leading(stop, leader_task("b"))),
            asyncio.create_task(b.watch(stop)),
        ]
        await asyncio.wait_for(started["a"].wait(), HANG_GUARD)
        for _ in range(5):  # the follower looks at the lock a few times: still not its turn
            await b.check()
        assert not started["b"].is_set() and b.leading is False
        end_sessions_holding_the_lock(postgres_cluster, shared_url)
        await asyncio.wait_for(started["b"].wait(), HANG_GUARD)
        assert b.leading is True
        assert not stopped["a"].is_set()  # it has not looked yet
        assert await a.check() is False  # it looks: its task is told to stop
        await asyncio.wait_for(stopped["a"].wait(), HANG_GUARD)
        stop.set()
        await asyncio.wait_for(asyncio.gather(*tasks), HANG_GUARD)
        assert stopped["b"].is_set()


async def test_a_sqlite_process_always_leads_and_watches_nothing(tmp_path: Path) -> None:
    with Store.open(tmp_path / "pingfan.db") as store:
        leadership = Leadership(leader_lock(store.sql), VirtualClock(AT))
        assert leadership.leading is True
        await asyncio.wait_for(leadership.watch(asyncio.Event()), HANG_GUARD)  # returns at once
        assert await leadership.check() is True


# --- a new leader's rules go on from the stored rule state --------------------------------

ANGRY = ["散场的时候一个疏导的都没有", "活动组织得太差了", "为什么不提前发交通管制通知"]


def rules_config(tmp_path: Path) -> Config:
    raw = {
        "topics": [{"name": "平凡大连人"}],
        "douyin": {"enabled": False},
        "alerts": {"health": {"enabled": False}},
    }
    return config_from_dict(raw, tmp_path / "config.toml")


def angry_wave(store: Store, hour: int, count: int) -> None:
    """`count` negative comments (already scored) on thread T1 in the hour before `hour`."""
    start = AT + timedelta(hours=hour, minutes=-50)
    ids = [f"C{hour:02d}{index:03d}" for index in range(count)]
    store.content.save_comments(
        [
            comment(
                cid,
                post_id="T1",
                author_id=f"30000{index:05d}",
                text=ANGRY[index % len(ANGRY)] + "！" * (index // len(ANGRY)),
                created_at=start + timedelta(seconds=40 * index),
                observed_at=start + timedelta(seconds=40 * index + 5),
            )
            for index, cid in enumerate(ids)
        ]
    )
    store.content.set_comment_scores([("weibo", cid, 0.1, "negative", "test") for cid in ids])


def test_a_new_leader_does_not_raise_again_what_the_old_one_raised(
    shared_url: str, tmp_path: Path
) -> None:
    """A negative storm: the first leader raises it, then goes; the second, on a connection
    of its own, sees the storm go on and raises only the escalation, as one leader would."""
    config = rules_config(tmp_path)
    waves = [20, 5, 30, 10]  # breaks, holds, doubles (an escalation), goes on
    raised: dict[str, list[AlertRecord]] = {"old": [], "new": []}
    with Store.open_postgres(shared_url) as old, Store.open_postgres(shared_url) as new:
        old.content.save_posts([post("T1", created_at=AT, observed_at=AT)])
        for hour, wave in enumerate(waves, start=1):
            leader = "old" if hour <= 2 else "new"
            store = old if leader == "old" else new
            angry_wave(store, hour, wave)
            found = evaluate(store, config, AT + timedelta(hours=hour))
            raised[leader] += [a for a in found if a.kind == "negative_thread"]
    (first,) = raised["old"]
    (escalation,) = raised["new"]  # not the storm itself again
    assert escalation.dedupe_key == first.dedupe_key + ":esc1"


# --- the daemon's stages run on the leader only -------------------------------------------


async def test_a_follower_scores_but_runs_no_stage_until_it_leads(
    shared_url: str, tmp_path: Path
) -> None:
    """Two workers: the follower's scoring rounds go on, its stages (the alert rules) wait;
    when the leader's connection closes, the follower's next rounds run them."""
    config = rules_config(tmp_path)
    clock = VirtualClock(AT)
    daemon = Daemon(config, clock=clock, options=DaemonOptions(idle_round=60))
    rounds: list[datetime] = []

    async def stage(now: datetime) -> None:
        rounds.append(now)

    daemon.add_stage("alert rules", stage)
    async with AsyncExitStack() as stack:
        leader_store = stack.enter_context(Store.open_postgres(shared_url))
        follower_store = stack.enter_context(Store.open_postgres(shared_url))
        leader = leader_lock(leader_store.sql)
        stack.push_async_callback(leader.close)
        assert await leader.hold()
        daemon.leadership = Leadership(leader_lock(follower_store.sql), clock, every=60)
        stack.push_async_callback(daemon.leadership.close)
        assert await daemon.leadership.check() is False
        scorer = Scorer(config.nlp.model)
        loop = asyncio.create_task(daemon._scorer_loop(follower_store, scorer))
        try:
            for _ in range(20):  # twenty idle rounds as a follower
                await clock.sleep(0)
            assert rounds == [] and clock.now() > AT
            await leader.close()
            while not await daemon.leadership.check():
                await asyncio.sleep(0.05)
            await asyncio.wait_for(until(lambda: len(rounds) >= 2), HANG_GUARD)
        finally:
            daemon.request_stop()
            await asyncio.wait_for(loop, HANG_GUARD)


async def until(condition: Callable[[], bool]) -> None:
    while not condition():
        await asyncio.sleep(0)
