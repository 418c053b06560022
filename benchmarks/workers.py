"""Several workers on one PostgreSQL database: comments stored per second with 1, 2 and 4
`pingfan run` workers, one Weibo identity (cookie) each, against the simulator.

Each run gets a fresh database on a throwaway cluster (tests/support/postgres.py: Debian's
server, `make postgres`), the simulator frozen at one moment of the bundled campaign (so each
run has the same comments to collect) and workers that each hold one identity, whose budget is
`requests_per_minute` (+ `burst`): the limit that more identities lift. The clock of a run
starts at the simulator's first request (not at the workers' start-up, which is the same for
any number) and stops when every comment of the simulator's script is stored. The ratio is
against one worker, measured in the same run. Also printed: the most requests one identity
sent in any minute (never above rpm + burst).

Run: `python -m benchmarks.workers [--rpm N]` (part of `make bench`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from monitor.sim.requests import by_identity, most_in_any_minute
from monitor.store import Store
from tests.support.daemon import write_config
from tests.support.postgres import Cluster, NoServer, start_cluster
from tests.support.sim import MID_CAMPAIGN, running_sim
from tests.support.weibo import expected_post_ids
from tests.support.workers import (
    login,
    start_worker,
    workers_config,
)

WORKERS = (1, 2, 4)
REQUESTS_PER_MINUTE = 300  # per identity
BURST = 3
TIMEOUT_S = 600.0


@dataclass(frozen=True)
class Measured:
    workers: int
    comments: int
    seconds: float
    requests: int
    busiest_minute: int  # the most requests one identity sent in any minute

    @property
    def per_second(self) -> float:
        return self.comments / self.seconds


async def measure(cluster: Cluster, workers: int, rpm: int, workdir: Path) -> Measured:
    name = cluster.database()
    url = cluster.url(name)
    Store.open_postgres(url).close()
    logins = tuple(login(n) for n in range(1, workers + 1))
    processes: list[asyncio.subprocess.Process] = []
    try:
        async with running_sim(
            at=MID_CAMPAIGN - timedelta(days=30),
            requests_per_minute=10_000_000,
            weibo_cookies=logins,
        ) as (server, clock):
            world, now = server.sim.world, clock.now()
            posts = expected_post_ids(world, now)
            want = {c.id for pid in posts for c in world.comments_until(pid, now)}
            raw = workers_config(
                server,
                url,
                identities=workers,
                requests_per_minute=rpm,
                burst=BURST,
                lease="10s",
                schedule={"topic_posts": "5s", "kol_posts": "5s", "topic_stats": "60s",
                          "profiles": "60s"},
            )  # fmt: skip
            config = write_config(workdir / f"config-{workers}.toml", raw)
            for n in range(workers):
                log = workdir / f"worker-{workers}-{n}.log"
                processes.append(await start_worker(config, workers, log))
            with Store.open_postgres(url) as store:
                deadline = time.monotonic() + TIMEOUT_S
                while True:
                    if stopped := [p.returncode for p in processes if p.returncode is not None]:
                        # The logs go with the temporary directory: their last lines now.
                        tails = [
                            f"{log.name}: {log.read_text()[-600:].strip()}"
                            for log in sorted(workdir.glob(f"worker-{workers}-*.log"))
                        ]
                        raise RuntimeError(
                            f"a worker stopped (exit code {stopped[0]})\n" + "\n".join(tails)
                        )
                    (row,) = list(store.query("SELECT count(*) AS n FROM comments"))
                    if row["n"] >= len(want) or time.monotonic() > deadline:
                        stored = row["n"]
                        break
                    await asyncio.sleep(0.2)
            done = time.time()
            await _stop(processes)  # while the simulator still answers
            first = min(seen.real for seen in server.sim.seen)
            seen = by_identity(server.sim.seen)
            return Measured(
                workers,
                stored,
                done - first,
                len(server.sim.seen),
                max(most_in_any_minute(moments) for moments in seen.values()),
            )
    finally:
        await _stop(processes)
        cluster.drop(name)


async def _stop(processes: list[asyncio.subprocess.Process]) -> None:
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            await asyncio.wait_for(process.wait(), timeout=30)
        except TimeoutError:
            process.kill()
            await process.wait()


async def run(rpm: int) -> list[Measured]:
    cluster = start_cluster()
    try:
        with tempfile.TemporaryDirectory() as workdir:
            return [await measure(cluster, n, rpm, Path(workdir)) for n in WORKERS]
    finally:
        cluster.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.workers")
    parser.add_argument("--rpm", type=int, default=REQUESTS_PER_MINUTE, help="per identity")
    args = parser.parse_args(argv)
    print(
        f"workers on one PostgreSQL database: Weibo, one identity each, {args.rpm} requests/min "
        f"+ burst {BURST} per identity"
    )
    try:
        results = asyncio.run(run(args.rpm))
    except NoServer as err:
        print(f"  skipped: {err}")
        return
    base = results[0].per_second
    print(f"  {'workers':>7} {'comments':>9} {'seconds':>8} {'comments/s':>11} {'requests':>9}"
          f" {'max/identity/min':>17} {'vs 1 worker':>12}")  # fmt: skip
    for m in results:
        print(
            f"  {m.workers:>7} {m.comments:>9,} {m.seconds:>8.1f} {m.per_second:>11.1f}"
            f" {m.requests:>9,} {m.busiest_minute:>17} {m.per_second / base:>11.2f}x"
        )


if __name__ == "__main__":
    main()
