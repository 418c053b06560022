"""How long a PostgreSQL worker's coordination (source leases, the identity's request budget)
holds up its event loop, against a database some milliseconds away.

A latency proxy (a process of its own) sits between the worker and a throwaway cluster
(tests/support/postgres.py) and delays every packet each way. Several "sources" (tasks) each
claim their lease, send a few requests through the identity's shared budget (generous: no
request waits for its slot, so only the round trips count; each is answered in 5 ms) and
give the lease back, over and over, while a probe measures the loop's lag every few
milliseconds: how long the loop could not run anything else (a collector parsing a page, the
health endpoint, the heartbeat).

Two ways, in the same run, on the same statements:
- sync: the statements the worker sent before it had an async connection of its own, on the
  store's synchronous connection, on the loop (two round trips a claim and a request slot,
  one a release);
- async: `PostgresWorker` as it is (monitor/runtime/leases.py, psycopg's AsyncConnection).

Printed: coordination operations per second, the loop's longest stall, its 99th percentile,
and the share of the run the loop was stalled (lagging more than 1 ms), with the probe alone
("idle") for the floor this machine's own scheduling sets.

Run: `python -m benchmarks.worker_stalls [--delay-ms N] [--seconds S]` (part of `make bench`).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from monitor.runtime.clock import WallClock
from monitor.runtime.leases import Identity, PostgresWorker
from monitor.store import Store
from tests.support.postgres import Cluster, NoServer, free_port, start_cluster

SOURCES = 8  # concurrent source loops
REQUESTS_PER_RUN = 3  # paced requests per claimed run
REQUEST_S = 0.005  # the platform's answer to each request (an await, as over HTTP)
PROBE_S = 0.002  # the lag probe's period
STALL_S = 0.001  # lag above this counts as a stall


# What the worker sent before, on the store's connection (SQLite-style placeholders).
_SYNC_CLAIM = """
UPDATE leases SET
    fence = CASE WHEN owner IS NOT DISTINCT FROM :owner THEN fence ELSE fence + 1 END,
    taken_at = CASE WHEN owner IS NOT DISTINCT FROM :owner THEN taken_at ELSE now() END,
    owner = :owner,
    expires_at = now() + make_interval(secs => :seconds)
WHERE name = (
    SELECT name FROM leases
    WHERE name = :name AND (owner IS NULL OR owner = :owner OR expires_at < now())
    FOR UPDATE SKIP LOCKED
)
RETURNING fence
"""
_SYNC_TAKE = """
UPDATE request_budgets SET next_at = greatest(next_at, t.at) + :interval
FROM (SELECT extract(epoch FROM clock_timestamp())::double precision AS at) AS t
WHERE identity = :identity AND EXISTS (
    SELECT 1 FROM leases WHERE name = :lease AND owner = :owner AND expires_at > now()
)
RETURNING greatest(next_at - :burst * :interval - t.at, 0)
"""


# --- the latency proxy ------------------------------------------------------------------


def _proxy_main(listen: int, target: int, delay_s: float, ready: Any) -> None:
    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        try:
            while data := await reader.read(65536):
                # Each chunk leaves `delay_s` after it came, in order (same delay for all).
                loop.call_later(delay_s, writer.write, data)
        except ConnectionError:
            pass
        finally:
            loop.call_later(delay_s, writer.close)

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target)
        for sock in (writer.get_extra_info("socket"), up_writer.get_extra_info("socket")):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def serve() -> None:
        server = await asyncio.start_server(accept, "127.0.0.1", listen)
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(serve())


def start_proxy(target: int, delay_s: float) -> tuple[multiprocessing.Process, int]:
    port = free_port()
    ready = multiprocessing.Event()
    process = multiprocessing.Process(
        target=_proxy_main, args=(port, target, delay_s, ready), daemon=True
    )
    process.start()
    if not ready.wait(30):
        raise RuntimeError("the latency proxy did not start")
    return process, port


# --- the workload -------------------------------------------------------------------------


@dataclass(frozen=True)
class Measured:
    way: str
    operations: int
    seconds: float
    lags: list[float]

    @property
    def per_second(self) -> float:
        return self.operations / self.seconds

    @property
    def longest_ms(self) -> float:
        return max(self.lags, default=0.0) * 1000

    @property
    def p99_ms(self) -> float:
        if len(self.lags) < 2:
            return self.longest_ms
        return statistics.quantiles(self.lags, n=100, method="inclusive")[98] * 1000

    @property
    def stalled_share(self) -> float:
        return sum(lag for lag in self.lags if lag > STALL_S) / self.seconds


Claim = Callable[[str], Awaitable[bool]]
Release = Callable[[str], Awaitable[None]]
Take = Callable[[], Awaitable[float]]


async def _drive(
    claim: Claim, release: Release, take: Take, seconds: float
) -> tuple[int, list[float]]:
    """Run the source loops for `seconds` beside the lag probe: (operations, lags)."""
    operations = 0
    lags: list[float] = []
    stop = time.perf_counter() + seconds

    async def source(n: int) -> None:
        nonlocal operations
        name = f"bench:source:{n}"
        while time.perf_counter() < stop:
            if await claim(name):
                for _ in range(REQUESTS_PER_RUN):
                    await take()
                    operations += 1
                    await asyncio.sleep(REQUEST_S)
                await release(name)
                operations += 2
            await asyncio.sleep(0)

    async def probe() -> None:
        while time.perf_counter() < stop:
            started = time.perf_counter()
            await asyncio.sleep(PROBE_S)
            lags.append(max(time.perf_counter() - started - PROBE_S, 0.0))

    await asyncio.gather(probe(), *(source(n) for n in range(SOURCES)))
    return operations, lags


async def measure_async(store: Store, seconds: float) -> Measured:
    worker = PostgresWorker(store, WallClock(), lease_seconds=30.0)
    identity = Identity.of("weibo", None)
    try:
        await worker.identity([identity])
        pacer = worker.pacer(identity, 10**7, burst=10**6)
        held: dict[str, Any] = {}

        async def claim(name: str) -> bool:
            lease = await worker.claim_source(name)
            if lease is not None:
                held[name] = lease
            return lease is not None

        async def release(name: str) -> None:
            await worker.release_source(held.pop(name))

        started = time.perf_counter()
        operations, lags = await _drive(claim, release, pacer.take, seconds)
        return Measured("async", operations, time.perf_counter() - started, lags)
    finally:
        await worker.close()


async def measure_sync(store: Store, seconds: float) -> Measured:
    """The statements the worker sent before, on the store's connection, on the loop."""
    owner, identity = "bench:sync", "weibo:bench-sync"
    fences: dict[str, int] = {}

    def claim_now(name: str) -> bool:
        store.sql.execute("INSERT INTO leases (name) VALUES (?) ON CONFLICT DO NOTHING", (name,))
        row = store.sql.execute(
            _SYNC_CLAIM, {"name": name, "owner": owner, "seconds": 30.0}
        ).fetchone()
        if row is not None:
            fences[name] = int(row[0])
        return row is not None

    async def claim(name: str) -> bool:
        return claim_now(name)

    async def release(name: str) -> None:
        store.sql.execute(
            "UPDATE leases SET owner = NULL, expires_at = NULL"
            " WHERE name = ? AND owner = ? AND fence = ?",
            (name, owner, fences.pop(name)),
        )

    async def take() -> float:
        store.sql.execute(
            "INSERT INTO request_budgets (identity, next_at) VALUES (?, 0) ON CONFLICT DO NOTHING",
            (identity,),
        )
        row = store.sql.execute(
            _SYNC_TAKE,
            {"identity": identity, "lease": "identity:sync", "owner": owner,
             "interval": 1e-7, "burst": 10**6},
        ).fetchone()  # fmt: skip
        assert row is not None, "the identity's lease is held all along"
        return float(row[0])

    claim_now("identity:sync")
    started = time.perf_counter()
    operations, lags = await _drive(claim, release, take, seconds)
    return Measured("sync", operations, time.perf_counter() - started, lags)


async def measure_idle(seconds: float) -> Measured:
    """The probe alone: the floor the machine's own scheduling sets (a loaded machine)."""

    async def nothing(name: str = "") -> Any:
        await asyncio.sleep(seconds)
        return False

    started = time.perf_counter()
    _, lags = await _drive(nothing, nothing, nothing, seconds)
    return Measured("idle", 0, time.perf_counter() - started, lags)


def run(cluster: Cluster, delay_ms: float, seconds: float) -> list[Measured]:
    name = cluster.database()
    proxy, port = start_proxy(cluster.port, delay_ms / 1000)
    try:
        url = cluster.url(name).replace(f":{cluster.port}/", f":{port}/")
        with Store.open_postgres(url) as store:
            return [
                asyncio.run(measure_idle(seconds)),
                asyncio.run(measure_sync(store, seconds)),
                asyncio.run(measure_async(store, seconds)),
            ]
    finally:
        proxy.terminate()
        proxy.join()
        cluster.drop(name)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker_stalls")
    parser.add_argument("--delay-ms", type=float, default=2.0, help="added each way")
    parser.add_argument("--seconds", type=float, default=10.0, help="per way")
    args = parser.parse_args(argv)
    print(
        f"a worker's coordination on PostgreSQL, {args.delay_ms:g} ms added each way: "
        f"{SOURCES} sources, {REQUESTS_PER_RUN} budgeted requests a run, {args.seconds:g} s each"
    )
    try:
        cluster = start_cluster()
    except NoServer as err:
        print(f"  skipped: {err}")
        return
    try:
        results = run(cluster, args.delay_ms, args.seconds)
    finally:
        cluster.stop()
    base = results[1]
    print(f"  {'way':>5} {'ops/s':>7} {'longest stall':>14} {'p99 lag':>8} {'loop stalled':>13}")
    for m in results:
        print(
            f"  {m.way:>5} {m.per_second:>7.0f} {m.longest_ms:>11.1f} ms {m.p99_ms:>5.1f} ms"
            f" {m.stalled_share:>12.0%}"
        )
    after = results[2]
    print(
        f"  async vs sync: {after.per_second / base.per_second:.2f}x the operations, the loop "
        f"stalled {after.stalled_share / max(base.stalled_share, 1e-9):.2f}x as much"
    )


if __name__ == "__main__":
    main()
