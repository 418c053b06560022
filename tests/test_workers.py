"""Two `pingfan run` workers on one PostgreSQL database against the simulator, one killed
with SIGKILL mid-run: every post and comment of the simulator's script is stored once, the
killed worker's sources are taken over within two lease periods, and no identity ever sent
more than `requests_per_minute` + `burst` requests in any minute (the simulator's log)."""

from __future__ import annotations

import asyncio
import signal
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from monitor.sim.requests import by_identity, most_in_any_minute
from monitor.store import Store
from tests.support.daemon import eventually, write_config
from tests.support.sim import MID_CAMPAIGN, running_sim
from tests.support.weibo import expected_post_ids
from tests.support.workers import (
    cookie,
    login,
    owner_of,
    start_worker,
    workers_config,
)

pytestmark = pytest.mark.timeout(300)

LEASE = 3.0  # seconds: short, so that a takeover comes quickly
REQUESTS_PER_MINUTE = 300  # per identity: low enough that the budget binds in this run
BURST = 3


def _alive(*workers: asyncio.subprocess.Process) -> None:
    for worker in workers:
        if worker.returncode is not None:
            raise AssertionError(f"worker {worker.pid} stopped with exit code {worker.returncode}")


def _server_now(store: Store) -> datetime:
    (row,) = list(store.query("SELECT now() AS now"))
    return row["now"]


async def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(
    tmp_path: Path, workers_db_url: str, started_processes: list[asyncio.subprocess.Process]
) -> None:
    async with running_sim(
        at=MID_CAMPAIGN - timedelta(days=30),
        requests_per_minute=100_000,
        weibo_cookies=(login(1), login(2)),
    ) as (server, clock):
        raw = workers_config(
            server,
            workers_db_url,
            identities=2,
            requests_per_minute=REQUESTS_PER_MINUTE,
            burst=BURST,
            lease=f"{LEASE:g}s",
            # The budget goes to comments mostly: listings and counts are read less often.
            schedule={"topic_posts": "5s", "kol_posts": "5s", "topic_stats": "60s",
                      "profiles": "60s"},
        )  # fmt: skip
        config = write_config(tmp_path / "config.toml", raw)
        world, now = server.sim.world, clock.now()
        want_posts = expected_post_ids(world, now)
        want_comments = {c.id for pid in want_posts for c in world.comments_until(pid, now)}

        with Store.open_postgres(workers_db_url) as store:

            def ids(table: str) -> set[str]:
                return {row["id"] for row in store.query(f"SELECT id FROM {table}")}

            def sources_held_by(pid: int) -> list[str]:
                rows = store.query(
                    "SELECT name FROM leases WHERE owner LIKE ? AND name LIKE 'source:%'"
                    # a comment thread's lease moves when the thread is due again
                    " AND name NOT LIKE 'source:%:comments:%'",
                    (owner_of(pid),),
                )
                return [row["name"] for row in rows]

            victim = await start_worker(config, 2, tmp_path / "victim.log")
            survivor = await start_worker(config, 2, tmp_path / "survivor.log")
            started_processes.extend([victim, survivor])

            def both_at_work() -> bool:
                _alive(victim, survivor)
                identities = {seen.identity for seen in server.sim.seen}
                return len(identities) == 2 and bool(sources_held_by(victim.pid))

            await eventually(both_at_work, 120, "both workers send requests, each its own cookie")
            held = sources_held_by(victim.pid)
            victim.kill()
            await victim.wait()
            killed_at = _server_now(store)
            assert len(ids("comments")) < len(want_comments), "killed after the work was done"
            # When another worker first claimed each source the killed one held (a later
            # look may see a later claim: never an earlier one).
            taken_at: dict[str, datetime] = {}

            def taken_over() -> bool:
                _alive(survivor)
                for row in store.query("SELECT name, taken_at FROM leases"):
                    if row["name"] in held and row["taken_at"] > killed_at:
                        taken_at.setdefault(row["name"], row["taken_at"])
                return len(taken_at) == len(held)

            await eventually(taken_over, 60, "the killed worker's sources are taken over")

            def caught_up() -> bool:
                _alive(survivor)
                return ids("posts") == want_posts and ids("comments") == want_comments

            try:
                await eventually(caught_up, 200, "the surviving worker collects everything")
            except AssertionError as err:
                leases = [dict(row) for row in store.query("SELECT * FROM leases ORDER BY name")]
                raise AssertionError(
                    f"{err}: posts {len(ids('posts'))}/{len(want_posts)}, comments "
                    f"{len(ids('comments'))}/{len(want_comments)}; leases {leases}; sources "
                    f"{[dict(row) for row in store.query('SELECT * FROM sources')]}"
                ) from None

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

        for name, moment in taken_at.items():
            assert (moment - killed_at).total_seconds() <= 2 * LEASE, name

        seen = by_identity(server.sim.seen)
        assert set(seen) == {f"weibo|{cookie(1)}", f"weibo|{cookie(2)}"}, {
            name: len(moments) for name, moments in seen.items()
        }
        for identity, moments in seen.items():
            assert most_in_any_minute(moments) <= REQUESTS_PER_MINUTE + BURST, identity
        assert "Traceback" not in (tmp_path / "survivor.log").read_text()
