"""Which worker runs which source, with which platform identity, at what rate.

One `pingfan run` on SQLite is the only process on its database (its run lock): every source
and every identity is its own, and its pacer lives in memory (`LocalWorker`, no queries, no
waiting: today's behaviour and speed). Several `pingfan run` on one PostgreSQL database share
the work (`PostgresWorker`):

- a source runs in one worker at a time: a worker claims the source's lease when the source
  is due, runs it, and gives the lease back; a heartbeat renews what it holds every third of
  the lease. A worker killed with SIGKILL stops renewing, its leases expire after at most one
  lease period, and the next worker whose loop looks (at least every quarter period) takes
  the source over: within two lease periods. A source's writes (its rows with their cursor,
  its next due time) check the lease in their own transaction, so a worker that lost its
  lease, stalled say, cannot commit a cursor behind the new owner's back (store/leases.py).
- each platform identity (a cookie; "anonymous" when none is set) is leased by one worker
  for as long as it runs, so a cookie is never seen from two machines at once. A worker
  takes the first free one of `cookie_env` and `cookie_envs`, and waits while all are taken.
- one request budget per identity, in the database: GCRA in one UPDATE, so the workers
  together never exceed `requests_per_minute` (+ `burst` back to back) for it.

Why leases of our own rather than procrastinate (PostgreSQL job queue, periodic tasks,
queueing locks, stalled-job recovery): the daemon already schedules sources from rows in the
store (due times, wake-ups when posts arrive, circuits that push due times out, simulated
time in the demo and the tests), and must keep doing so on SQLite in one process, where
procrastinate does not run. Its periodic tasks and stalled-job recovery would replace that
scheduler with a second one for PostgreSQL only, add its schema and worker loop, and still
leave the per-identity budget and identity ownership to us. A lease on the source the
scheduler already has is one table, three statements and a heartbeat.

Lease times are the database server's clock; the budget is too, except under a simulated
clock (one process), where it counts the runtime's own seconds.

The worker talks to the database on a connection of its own, async (store/coordination.py):
claims, releases, budgets and the heartbeat never hold up the event loop, which runs every
source's collector. Only the lease check inside a source's write transaction runs on the
store's own (synchronous) connection, as it must (store/leases.py, `check_held`).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import logging
import os
import secrets
import socket
import time
from dataclasses import dataclass, field
from typing import Protocol

from monitor.errors import CollectorError, PingfanError, StoreError
from monitor.runtime.clock import Clock, WallClock, wait_any
from monitor.runtime.pacing import Pacer
from monitor.store import Store
from monitor.store.coordination import CoordinationConnection, async_connector
from monitor.store.leases import Held, LeaseLost, Leases, check_held

log = logging.getLogger(__name__)

DEFAULT_LEASE_SECONDS = 30.0
PURGE_EVERY = 3600.0  # real seconds between two purges of leases nobody held for a day
ANONYMOUS = "anonymous"

__all__ = ["LeaseLost"]


class IdentityLost(CollectorError):
    """The identity's lease passed to another worker: no request goes out with it."""


class NoIdentity(PingfanError):
    """Stopped while every identity of a platform was held by other workers."""


@dataclass(frozen=True)
class Identity:
    """Who the platform sees: a cookie, or nobody. `key` names it in the database (the
    platform and a hash of the cookie, never the cookie itself)."""

    platform: str
    key: str
    cookie: str | None = field(default=None, repr=False)

    @classmethod
    def of(cls, platform: str, cookie: str | None) -> Identity:
        if not cookie:
            return cls(platform, f"{platform}:{ANONYMOUS}")
        digest = hashlib.sha256(cookie.encode()).hexdigest()[:16]
        return cls(platform, f"{platform}:{digest}", cookie)


def identities(platform: str, cookies: list[str | None]) -> list[Identity]:
    """The platform's identities in the order given, each once; anonymous when no cookie
    is set."""
    found: dict[str, Identity] = {}
    for cookie in cookies:
        if cookie:
            identity = Identity.of(platform, cookie)
            found.setdefault(identity.key, identity)
    return list(found.values()) or [Identity.of(platform, None)]


class SourceLease:
    """The right to run one source now; `with lease:` marks the writes made inside (in this
    task) as made under it."""

    def __init__(self, held: Held | None) -> None:
        self.held = held
        self._token: contextvars.Token[Held | None] | None = None

    def __enter__(self) -> SourceLease:
        self._token = _running.set(self.held)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            _running.reset(self._token)
            self._token = None


# The lease of the source whose run is writing, per asyncio task (None: not a source's write).
_running: contextvars.ContextVar[Held | None] = contextvars.ContextVar("source_lease", default=None)
# The daemon's worker, for sources that lease their own parts (set once by the daemon).
_worker: contextvars.ContextVar[Worker | None] = contextvars.ContextVar("worker", default=None)


def work_for(worker: Worker) -> None:
    """Make `worker` the one `claim_part` asks, in this task and those it starts."""
    _worker.set(worker)


async def claim_part(name: str) -> SourceLease | None:
    """The lease of one part of a shared source's work (a comment thread), or None while
    another worker does it. Without workers to share with (SQLite, `collect --once`): always
    granted, at no cost."""
    worker = _worker.get()
    if worker is None or not worker.shared:
        return SourceLease(None)
    return await worker.claim_source(name)


async def release_part(lease: SourceLease) -> None:
    """Give a part's lease back; its row goes too (the next claim starts it afresh)."""
    worker = _worker.get()
    if worker is not None:
        await worker.release_source(lease, forget=True)


class Worker(Protocol):
    # True when other workers share the database: schedules are re-read at least every `poll`.
    shared: bool
    poll: float

    async def claim_source(self, name: str) -> SourceLease | None:
        """The source's lease, or None while another worker runs it."""
        ...

    async def release_source(self, lease: SourceLease, *, forget: bool = False) -> None:
        """Give `lease` back; `forget`: its row too (a comment thread's)."""
        ...

    async def identity(self, candidates: list[Identity]) -> Identity:
        """One of `candidates` held for this worker (waiting while all are taken)."""
        ...

    def pacer(self, identity: Identity, requests_per_minute: float, burst: int) -> Pacer: ...

    async def close(self) -> None: ...


class LocalWorker:
    """The only process on its database: every source and identity is its own."""

    shared = False
    poll = float("inf")

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def claim_source(self, name: str) -> SourceLease | None:
        return SourceLease(None)

    async def release_source(self, lease: SourceLease, *, forget: bool = False) -> None:
        pass

    async def identity(self, candidates: list[Identity]) -> Identity:
        return candidates[0]

    def pacer(self, identity: Identity, requests_per_minute: float, burst: int) -> Pacer:
        return Pacer(requests_per_minute, self.clock, burst=burst, rng=self.clock.rng)

    async def close(self) -> None:
        pass


class PostgresWorker:
    """One of several workers on a PostgreSQL database (see the module's docstring)."""

    shared = True

    def __init__(
        self,
        store: Store,
        clock: Clock,
        *,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        stop: asyncio.Event | None = None,
    ) -> None:
        """`stop`: set when the daemon stops (a wait for a free identity ends then)."""
        if lease_seconds <= 0:
            raise ValueError("lease_seconds must be positive")
        self.store = store
        self.clock = clock
        self.lease_seconds = lease_seconds
        self.poll = lease_seconds / 4
        self.stop = stop or asyncio.Event()
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.leases = Leases(
            CoordinationConnection(async_connector(store.sql, "leases"), store.sql.where)
        )
        self._held: dict[str, Held] = {}
        self._identities: dict[str, Identity] = {}  # lease name → identity, to claim again
        self._beat: asyncio.Task[None] | None = None
        self._next_purge = 0.0  # time.monotonic() of the next purge of stale leases
        store.sql.on_begin = self._check_running  # type: ignore[attr-defined]

    def _check_running(self) -> None:
        """In the store's write transaction, on its own connection (see check_held)."""
        held = _running.get()
        if held is not None:
            check_held(self.store.sql, held)

    def start(self) -> None:
        """Start the heartbeat (on the running event loop)."""
        if self._beat is None:
            self._beat = asyncio.create_task(self._heartbeat(), name="lease-heartbeat")

    # --- sources ------------------------------------------------------------------------

    async def claim_source(self, name: str) -> SourceLease | None:
        """`name`: a source's (`weibo:comments`), or a part's (`weibo:comments:<post id>`)."""
        held = await self.leases.claim(f"source:{name}", self.owner, self.lease_seconds)
        if held is None:
            return None
        self._held[held.name] = held
        return SourceLease(held)

    async def release_source(self, lease: SourceLease, *, forget: bool = False) -> None:
        if lease.held is None:
            return
        if self._held.get(lease.held.name) == lease.held:
            del self._held[lease.held.name]
        await self.leases.release(lease.held, forget=forget)

    # --- identities and their budgets ------------------------------------------------------

    async def identity(self, candidates: list[Identity]) -> Identity:
        waiting = False
        while True:
            for candidate in candidates:
                if (found := await self._claim_identity(candidate)) is not None:
                    if waiting:
                        log.info("%s: identity %s is free now", candidate.platform, candidate.key)
                    return found
            if not waiting:
                log.warning(
                    "%s: all %d identities are in use by other workers; waiting for one",
                    candidates[0].platform,
                    len(candidates),
                )
                waiting = True
            if self.stop.is_set():
                raise NoIdentity(
                    f"{candidates[0].platform}: stopped while every identity was in use by other "
                    "workers; give each worker a cookie of its own (cookie_envs)"
                )
            await wait_any(WallClock(), self.poll, self.stop)

    async def _claim_identity(self, identity: Identity) -> Identity | None:
        name = f"identity:{identity.key}"
        held = await self.leases.claim(name, self.owner, self.lease_seconds)
        if held is None:
            return None
        await self.leases.open_budget(identity.key)
        self._held[name] = held
        self._identities[name] = identity
        return identity

    def pacer(self, identity: Identity, requests_per_minute: float, burst: int) -> Pacer:
        return SharedPacer(self, identity, requests_per_minute, self.clock, burst=burst)

    async def take_request(self, identity: Identity, interval: float, burst: int) -> float:
        held = self._held.get(f"identity:{identity.key}")
        delay = None
        if held is not None:
            # The server's clock, unless time is simulated (then one process: its own).
            at = None if isinstance(self.clock, WallClock) else self.clock.now().timestamp()
            delay = await self.leases.take_request(
                identity.key, held, interval=interval, burst=burst, at=at
            )
        if delay is None:
            raise IdentityLost(
                f"{identity.platform}: identity {identity.key} is held by another worker now; "
                "no request sent"
            )
        return delay

    # --- heartbeat and stop ------------------------------------------------------------------

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)  # real time: leases are the server's
            try:
                await self.renew()
                if time.monotonic() >= self._next_purge:
                    purged = await self.leases.purge_stale()
                    self._next_purge = time.monotonic() + PURGE_EVERY
                    if purged:
                        log.info("leases: %d not held for a day, deleted", purged)
            except StoreError as err:
                # The database is away a moment: the next beat connects again.
                log.warning("leases: cannot renew (%s); trying again", err)

    async def renew(self) -> None:
        """Extend every lease still held (one statement); take lost identities back when
        free again."""
        held = list(self._held.values())
        renewed = await self.leases.renew(held, self.lease_seconds)
        for lease in held:
            if lease.name in renewed or self._held.get(lease.name) != lease:
                continue
            del self._held[lease.name]
            log.warning("%s: lease lost (expired before it was renewed)", lease.name)
            identity = self._identities.get(lease.name)
            if identity is not None and await self._claim_identity(identity) is not None:
                log.info("%s: lease taken again", lease.name)

    def held(self) -> list[str]:
        return sorted(self._held)

    def identity_keys(self) -> list[str]:
        """The identities this worker holds, by key (a hash, never the cookie)."""
        return sorted(
            identity.key for name, identity in self._identities.items() if name in self._held
        )

    async def close(self) -> None:
        if self._beat is not None:
            self._beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._beat
            self._beat = None
        self.store.sql.on_begin = None  # type: ignore[attr-defined]
        with contextlib.suppress(StoreError):
            await self.leases.release_all(self.owner)
        self._held.clear()
        await self.leases.close()


class SharedPacer(Pacer):
    """The pacer of one identity whose budget is a row in the database (every worker's
    requests with it count), with the local pacer's jitter on top."""

    def __init__(
        self,
        worker: PostgresWorker,
        identity: Identity,
        requests_per_minute: float,
        clock: Clock,
        *,
        burst: int,
    ) -> None:
        super().__init__(requests_per_minute, clock, burst=burst, rng=clock.rng)
        self._worker = worker
        self._identity = identity

    def reserve(self) -> float:
        raise TypeError("a shared budget is reserved in the database: `await take()`")

    async def take(self) -> float:
        delay = await self._worker.take_request(self._identity, self.interval, self.burst)
        self.requests += 1
        if delay > 0 and self.jitter:
            delay += self._rng.uniform(0, self.jitter * self.interval)
        return delay


def worker_for(
    store: Store,
    clock: Clock,
    *,
    lease_seconds: float | None = None,
    stop: asyncio.Event | None = None,
) -> Worker:
    """The worker for this store: shared leases on PostgreSQL, none on SQLite."""
    if store.sql.dialect.name == "postgresql":
        seconds = lease_seconds or DEFAULT_LEASE_SECONDS
        return PostgresWorker(store, clock, lease_seconds=seconds, stop=stop)
    return LocalWorker(clock)
