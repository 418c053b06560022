"""Two `pingfan run` workers on one PostgreSQL database against the simulator, one killed
with SIGKILL mid-run: every post and comment of the simulator's script is stored once, the
killed worker's sources are taken over within two lease periods, and no identity ever sent
more than `requests_per_minute` + `burst` requests in any minute (the simulator's log)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from contextlib import suppress
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from monitor.sim.requests import by_identity, most_in_any_minute
from monitor.store import Store
from tests.support.daemon import eventually
from tests.support.postgres import Cluster
from tests.support.sim import MID_CAMPAIGN, running_sim
from tests.support.weibo import expected_post_ids
from tests.support.workers import cookie, owner_of, start_worker, workers_config, write_toml

pytestmark = pytest.mark.timeout(300)

LEASE = 3.0  # seconds: short, so that a takeover comes quickly
REQUESTS_PER_MINUTE = 180  # per identity: low enough that the budget binds in this run
BURST = 3

_started: list[asyncio.subprocess.Process] = []


@pytest.fixture(autouse=True)
def no_worker_left_behind() -> Iterator[None]:
    yield
    while _started:
        process = _started.pop()
        if process.returncode is None:
            with suppress(ProcessLookupError):
                process.kill()


@pytest.fixture
def database(postgres_cluster: Cluster) -> Iterator[str]:
    name = postgres_cluster.database()
    url = postgres_cluster.url(name)
    Store.open_postgres(url).close()  # migrated once, before the workers start
    try:
        yield url
    finally:
        postgres_cluster.drop(name)


def _server_now(store: Store) -> datetime:
    (row,) = list(store.query("SELECT now() AS now"))
    return row["now"]


async def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(
    tmp_path: Path, database: str
) -> None:
    async with running_sim(at=MID_CAMPAIGN - timedelta(days=30), requests_per_minute=100_000) as (
        server,
        clock,
    ):
        raw = workers_config(
            server,
            database,
            identities=2,
            requests_per_minute=REQUESTS_PER_MINUTE,
            burst=BURST,
            lease=f"{LEASE:g}s",
        )
        config = write_toml(tmp_path / "config.toml", raw)
        world, now = server.sim.world, clock.now()
        want_posts = expected_post_ids(world, now)
        want_comments = {c.id for pid in want_posts for c in world.comments_until(pid, now)}

        with Store.open_postgres(database) as store:

            def ids(table: str) -> set[str]:
                return {row["id"] for row in store.query(f"SELECT id FROM {table}")}

            def sources_held_by(pid: int) -> list[str]:
                rows = store.query(
                    "SELECT name FROM leases WHERE owner LIKE ? AND name LIKE 'source:%'",
                    (owner_of(pid),),
                )
                return [row["name"] for row in rows]

            victim = await start_worker(config, 2, tmp_path / "victim.log")
            survivor = await start_worker(config, 2, tmp_path / "survivor.log")
            _started.extend([victim, survivor])
            await eventually(
                lambda: bool(ids("comments")) and bool(sources_held_by(victim.pid)),
                120,
                "the first worker stores comments and runs a source",
            )
            held = sources_held_by(victim.pid)
            victim.kill()
            await victim.wait()
            killed_at = _server_now(store)
            assert len(ids("comments")) < len(want_comments), "killed after the work was done"

            def caught_up() -> bool:
                return ids("posts") == want_posts and ids("comments") == want_comments

            await eventually(caught_up, 200, "the surviving worker collects everything")

            taken_at = {
                row["name"]: row["taken_at"]
                for row in store.query("SELECT name, taken_at FROM leases")
                if row["name"] in held
            }
            for table in ("posts", "comments"):
                ((total, distinct),) = [
                    tuple(row.values())
                    for row in store.query(
                        f"SELECT count(*) AS n, count(DISTINCT id) AS d FROM {table}"
                    )
                ]
                assert total == distinct

        survivor.send_signal(signal.SIGTERM)
        await asyncio.wait_for(survivor.wait(), timeout=30)
        assert survivor.returncode == 0, (tmp_path / "survivor.log").read_text()[-2000:]
        assert "Traceback" not in (tmp_path / "survivor.log").read_text()

        for name, moment in taken_at.items():
            assert moment > killed_at, f"{name} was never taken over"
            assert (moment - killed_at).total_seconds() <= 2 * LEASE, name

        seen = by_identity(server.sim.seen)
        assert set(seen) == {f"weibo|{cookie(1)}", f"weibo|{cookie(2)}"}
        for identity, moments in seen.items():
            assert most_in_any_minute(moments) <= REQUESTS_PER_MINUTE + BURST, identity
