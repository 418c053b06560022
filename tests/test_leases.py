"""Source and identity leases, and the per-identity request budget, shared by several workers
on one PostgreSQL database (monitor/runtime/leases.py, monitor/store/leases.py): two store
connections stand for two workers, each with its own async connection for the leases. Expiry
is made by moving a lease's end into the past, so no test waits for the clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.collectors.due import visit_due_threads
from monitor.config import config_from_dict
from monitor.models import Cursor
from monitor.runtime.clock import Clock, VirtualClock, WallClock
from monitor.runtime.leases import (
    Identity,
    IdentityLost,
    LocalWorker,
    NoIdentity,
    PostgresWorker,
    identities,
    work_for,
    worker_for,
)
from monitor.runtime.pacing import Pacer
from monitor.runtime.platforms import open_weibo
from monitor.sim.requests import most_in_any_minute
from monitor.store import Store
from monitor.store.leases import LeaseLost
from tests.support.daemon import daemon_config_dict
from tests.support.factories import comment
from tests.support.postgres import Cluster
from tests.support.sim import running_sim

SOURCE = "weibo:comments"
START = datetime(2019, 7, 1, tzinfo=UTC)


@pytest.fixture
def two_stores(postgres_cluster: Cluster) -> Iterator[tuple[Store, Store]]:
    with (
        postgres_cluster.temporary_url() as url,  # migrated by the first store
        Store.open_postgres(url) as first,
        Store.open_postgres(url) as second,
    ):
        yield first, second


def expire(store: Store, name: str) -> None:
    """The lease's holder stopped renewing it a while ago (killed, or stalled)."""
    store.sql.execute(
        "UPDATE leases SET expires_at = now() - interval '1 second' WHERE name = ?", (name,)
    )


@asynccontextmanager
async def workers(
    stores: tuple[Store, Store], clock: Clock | None = None
) -> AsyncIterator[tuple[PostgresWorker, PostgresWorker]]:
    clock = clock or VirtualClock(START)
    a, b = (PostgresWorker(store, clock, lease_seconds=5.0) for store in stores)
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


async def test_a_source_runs_in_one_worker_at_a_time(two_stores: tuple[Store, Store]) -> None:
    async with workers(two_stores) as (a, b):
        first = await a.claim_source(SOURCE)
        assert first is not None and first.held is not None
        assert await b.claim_source(SOURCE) is None
        again = await a.claim_source(SOURCE)  # its own lease: renewed, same fence
        assert again is not None and again.held == first.held
        await a.release_source(first)
        taken = await b.claim_source(SOURCE)
        assert taken is not None and taken.held is not None
        assert taken.held.fence == first.held.fence + 1
        assert await a.claim_source(SOURCE) is None
        row = (
            two_stores[0]
            .sql.execute("SELECT owner FROM leases WHERE name = ?", (f"source:{SOURCE}",))
            .fetchone()
        )
        assert row[0] == b.owner


async def test_an_expired_lease_is_taken_over_and_its_old_holder_sees_it_lost(
    two_stores: tuple[Store, Store],
) -> None:
    async with workers(two_stores) as (a, b):
        assert await a.claim_source(SOURCE) is not None
        await a.renew()
        assert a.held() == [f"source:{SOURCE}"]
        assert await b.claim_source(SOURCE) is None  # renewed: still a's
        expire(two_stores[0], f"source:{SOURCE}")
        assert await b.claim_source(SOURCE) is not None
        await a.renew()
        assert a.held() == []
        assert b.held() == [f"source:{SOURCE}"]


def _cursor(store: Store) -> str | None:
    return store.content.cursor("weibo:comments", "p1")


async def test_a_worker_that_lost_its_lease_cannot_write_behind_the_new_owner(
    two_stores: tuple[Store, Store],
) -> None:
    first, second = two_stores
    async with workers(two_stores) as (a, b):
        old = await a.claim_source(SOURCE)
        assert old is not None
        with old:
            first.content.save_comments([comment("c1")], cursor=Cursor(SOURCE, "p1", "1"))
        expire(first, f"source:{SOURCE}")
        new = await b.claim_source(SOURCE)
        assert new is not None
        with new:
            second.content.save_comments([comment("c2")], cursor=Cursor(SOURCE, "p1", "2"))
        # The stalled worker wakes up and writes what it read with its old cursor: refused.
        with old, pytest.raises(LeaseLost):
            first.content.save_comments([comment("c3")], cursor=Cursor(SOURCE, "p1", "3"))
    assert _cursor(first) == "2"
    stored = {row["id"] for row in first.query("SELECT id FROM comments")}
    assert stored == {"c1", "c2"}
    # Writes outside any source's run (the scorer, the rules) are not fenced.
    first.content.save_comments([comment("c4")])
    assert {row["id"] for row in first.query("SELECT id FROM comments")} == {"c1", "c2", "c4"}


async def test_each_identity_is_held_by_one_worker(two_stores: tuple[Store, Store]) -> None:
    choices = identities("weibo", ["SUB=one", None, "SUB=two", "SUB=one"])
    assert [i.cookie for i in choices] == ["SUB=one", "SUB=two"]
    stop = asyncio.Event()
    async with workers(two_stores) as (a, b):
        assert (await a.identity(choices)).cookie == "SUB=one"
        assert (await b.identity(choices)).cookie == "SUB=two"
        third = PostgresWorker(two_stores[1], VirtualClock(START), lease_seconds=5.0, stop=stop)
        stop.set()  # nothing free: it would wait; stopped, it says why
        try:
            with pytest.raises(NoIdentity):
                await third.identity(choices)
        finally:
            await third.close()
        names = [row.name for row in await a.leases.leases("identity:")]
        assert len(names) == 2 and all("SUB" not in name for name in names)  # hashes only
        assert a.identity_keys() == [choices[0].key] and b.identity_keys() == [choices[1].key]


def test_anonymous_is_one_identity_per_platform() -> None:
    assert identities("weibo", [None, ""]) == [Identity("weibo", "weibo:anonymous")]


async def test_the_budget_is_shared_by_every_worker_that_holds_the_identity(
    two_stores: tuple[Store, Store],
) -> None:
    clock = VirtualClock(START)  # the budget counts this clock's seconds (it never moves here)
    who = Identity.of("weibo", "SUB=one")
    async with workers(two_stores, clock) as (a, b):
        await a.identity([who])
        pacer = a.pacer(who, 60, burst=2)
        pacer.jitter = 0.0
        delays = [await pacer.take() for _ in range(5)]
        assert delays == [0.0, 0.0, 1.0, 2.0, 3.0]
        with pytest.raises(IdentityLost):  # b does not hold it: nothing reserved
            await b.pacer(who, 60, burst=2).take()
        # a dies; b takes the identity over and goes on from a's budget, not a full one.
        expire(two_stores[0], f"identity:{who.key}")
        await b.identity([who])
        successor = b.pacer(who, 60, burst=2)
        successor.jitter = 0.0
        assert await successor.take() == 4.0
        with pytest.raises(IdentityLost):
            await pacer.take()
        with pytest.raises(TypeError):  # never the in-memory budget by mistake
            successor.reserve()


async def test_the_budgets_slots_never_exceed_rate_and_burst_in_any_minute(
    two_stores: tuple[Store, Store],
) -> None:
    clock = VirtualClock(START)
    who = Identity.of("weibo", None)
    sent: list[float] = []
    async with workers(two_stores, clock) as (a, _):
        await a.identity([who])
        pacer = a.pacer(who, 30, burst=3)
        pacer.jitter = 0.0  # jitter only ever delays: without it the bound is met exactly
        for step in range(200):
            clock.advance(await pacer.take())  # the request goes out when its slot comes
            sent.append(clock.monotonic())
            if step % 40 == 0:
                clock.advance(120)  # idle a while: the burst is available again
    assert most_in_any_minute(sent) == 30 + 3


async def test_a_clean_stop_gives_every_lease_back(two_stores: tuple[Store, Store]) -> None:
    who = Identity.of("weibo", "SUB=one")
    async with workers(two_stores) as (a, b):
        a.start()
        await a.identity([who])
        assert await a.claim_source(SOURCE) is not None
        await a.close()
        assert await b.claim_source(SOURCE) is not None
        assert (await b.leases.lease(f"identity:{who.key}")).owner is None  # type: ignore[union-attr]


async def test_sqlite_has_one_worker_and_no_lease_queries() -> None:
    with Store.open(":memory:") as store:
        worker = worker_for(store, VirtualClock(START))
        assert isinstance(worker, LocalWorker)
        lease = await worker.claim_source(SOURCE)
        assert lease is not None and lease.held is None
        assert type(worker.pacer(Identity.of("weibo", None), 20, 2)) is Pacer
        # No leases table on SQLite at all: nothing above asked for one.
        tables = {row["name"] for row in store.query("SELECT name FROM sqlite_master")}
        assert "leases" not in tables


async def test_a_worker_whose_first_identity_is_taken_sends_with_the_next(
    two_stores: tuple[Store, Store], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PINGFAN_TEST_FIRST_COOKIE", "SUB=first")
    monkeypatch.setenv("PINGFAN_TEST_SECOND_COOKIE", "SUB=second")
    async with running_sim(weibo_cookies=("first", "second")) as (server, _):
        raw = daemon_config_dict(
            server, cookie_env="PINGFAN_TEST_FIRST_COOKIE",
            cookie_envs=["PINGFAN_TEST_SECOND_COOKIE"],
        )  # fmt: skip
        config = config_from_dict(raw, tmp_path / "config.toml")
        clock = WallClock()
        async with workers(two_stores, clock) as (a, b):
            await a.identity([Identity.of("weibo", "SUB=first")])
            async with open_weibo(config, two_stores[1], clock, None, worker=b) as runtime:
                login = next(s for s in runtime.sources if s.name == "weibo:login")
                await login.run()
    assert {seen.identity for seen in server.sim.seen} == {"SUB=second"}


async def test_two_workers_walk_the_comment_threads_together_each_thread_once(
    two_stores: tuple[Store, Store],
) -> None:
    threads = [(f"p{n}", 10) for n in range(12)]
    visited: list[tuple[str, str]] = []  # (worker, thread)
    reading: set[str] = set()  # threads being read now, by either worker
    clock = VirtualClock(START)

    async def walk(worker: PostgresWorker, store: Store) -> int:
        work_for(worker)  # this task's worker (a daemon sets it once)

        async def visit(post_id: str, listed: int) -> tuple[int, bool]:
            assert post_id not in reading, f"{post_id} read by two workers at once"
            if store.content.cursor(SOURCE, post_id) is not None:
                return 0, False  # read to its end by the other worker just before
            reading.add(post_id)
            visited.append((worker.owner, post_id))
            await asyncio.sleep(0.01)  # its pages: the other worker gets its turn meanwhile
            store.content.save_comments([], cursor=Cursor(SOURCE, post_id, "{}"))
            reading.discard(post_id)
            return 1, False

        return await visit_due_threads(lambda: threads, visit, clock, store, source=SOURCE)

    async with workers(two_stores, clock) as pair:
        for worker in pair:  # both connected before the walk, as in a running daemon
            await worker.leases.leases("nothing:")
        counts = await asyncio.gather(*(walk(w, s) for w, s in zip(pair, two_stores, strict=True)))
        assert sorted(post_id for _, post_id in visited) == sorted(p for p, _ in threads)
        assert all(count > 0 for count in counts)  # both did some of the work
        assert sum(counts) == len(threads)
        assert pair[0].held() == pair[1].held() == []  # each thread's lease given back
        assert await pair[0].leases.leases(f"source:{SOURCE}:") == []  # and its row deleted


async def test_without_workers_a_walk_leases_nothing(tmp_path: Path) -> None:
    visited: list[str] = []

    async def visit(post_id: str, listed: int) -> tuple[int, bool]:
        visited.append(post_id)
        return 0, False

    with Store.open(tmp_path / "pingfan.db") as store:
        await visit_due_threads(
            lambda: [("p1", 1), ("p2", 1)], visit, VirtualClock(START), store,
            source="weibo:comments",
        )  # fmt: skip
    assert visited == ["p1", "p2"]


async def test_leases_nobody_held_for_a_day_are_purged(two_stores: tuple[Store, Store]) -> None:
    """A killed worker's comment-thread leases (and any source lease left free for a day)
    go; what is held, recent, or an identity's stays."""
    store = two_stores[0]
    async with workers(two_stores) as (a, _):
        for name in ("weibo:comments:dead", "weibo:comments:free", "weibo:comments:recent"):
            assert await a.claim_source(name) is not None
        assert await a.claim_source(SOURCE) is not None
        await a.identity([Identity.of("weibo", None)])
        store.sql.execute(
            "UPDATE leases SET expires_at = now() - interval '25 hours' WHERE name = ?",
            ("source:weibo:comments:dead",),
        )
        store.sql.execute(
            "UPDATE leases SET owner = NULL, expires_at = NULL,"
            " taken_at = now() - interval '2 days' WHERE name = ?",
            ("source:weibo:comments:free",),
        )
        store.sql.execute(
            "UPDATE leases SET expires_at = now() - interval '1 hour' WHERE name = ?",
            ("source:weibo:comments:recent",),
        )
        store.sql.execute(
            "UPDATE leases SET expires_at = now() - interval '2 days' WHERE name LIKE ?",
            ("identity:%",),
        )
        assert await a.leases.purge_stale() == 2
        left = [row.name for row in await a.leases.leases()]
        assert left == [
            "identity:weibo:anonymous",
            f"source:{SOURCE}",
            "source:weibo:comments:recent",
        ]
        # A purged thread is claimed afresh.
        again = await a.claim_source("weibo:comments:dead")
        assert again is not None and again.held is not None and again.held.fence == 1


async def test_a_worker_whose_connection_was_cut_connects_again(
    two_stores: tuple[Store, Store],
) -> None:
    """The server ended the leases' session (a restart, a network cut): the next statement
    goes out on a new connection, and what the worker held is still its."""
    store = two_stores[0]
    async with workers(two_stores) as (a, _):
        assert await a.claim_source(SOURCE) is not None
        ended = store.sql.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = 'pingfan leases' AND datname = current_database()"
        ).fetchone()
        assert ended[0] == 1  # a's (b has not connected: it asked nothing yet)
        await a.renew()
        assert a.held() == [f"source:{SOURCE}"]
        assert await a.claim_source("weibo:posts") is not None


async def test_a_heartbeat_that_finds_the_database_away_logs_and_tries_again(
    two_stores: tuple[Store, Store], postgres_cluster: Cluster, caplog: pytest.LogCaptureFixture
) -> None:
    """The leases' connection is cut and no new one is let in for a moment: the beat says
    so, and the next beat, connected again, renews what the worker still holds."""
    store = two_stores[0]
    (database,) = store.sql.execute("SELECT current_database()").fetchone()
    worker = PostgresWorker(store, VirtualClock(START), lease_seconds=6.0)  # a beat every 2 s
    try:
        worker.start()
        assert await worker.claim_source(SOURCE) is not None
        before = await worker.leases.lease(f"source:{SOURCE}")
        postgres_cluster.psql(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
        try:
            store.sql.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = 'pingfan leases' AND datname = current_database()"
            )
            await asyncio.wait_for(_logged(caplog, "cannot renew"), 30)
        finally:
            postgres_cluster.psql(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')

        async def renewed() -> bool:
            after = await worker.leases.lease(f"source:{SOURCE}")
            assert before is not None and after is not None and after.owner == worker.owner
            return after.expires_at > before.expires_at  # type: ignore[operator]

        async def until_renewed() -> None:
            while not await renewed():
                await asyncio.sleep(0.2)

        await asyncio.wait_for(until_renewed(), 30)
        assert worker.held() == [f"source:{SOURCE}"]
    finally:
        await worker.close()


async def _logged(caplog: pytest.LogCaptureFixture, text: str) -> None:
    while text not in caplog.text:
        await asyncio.sleep(0.05)
