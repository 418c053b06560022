"""`pingfan run`: one asyncio process, a TaskGroup of named tasks.

- one loop per source, each on its own interval, its due time read from the store (so a
  restart resumes the schedule instead of starting over), all sources of a platform sharing
  its pacer, session and circuit;
- the scorer: the model in a worker process, fed in batches when new rows arrive;
- stages that run after scoring (only on the leader of several workers), long-lived tasks,
  and openers run once the store is open:
  seams through which the composition root (monitor/app) plugs in the alert rules, the
  dispatcher, the chat bot and the digest; this module knows none of them;
- housekeeping by the real clock, off the event loop: comment text past
  `[storage] comment_retention_days` purged once a day in batches, WAL checkpoints, the
  planner's statistics; the health endpoint; an event-loop lag monitor.

Stopping (`request_stop`, SIGTERM/SIGINT in the CLI): no new work starts, runs in flight get
`grace` seconds to finish, then they are cancelled (a cancelled walk keeps the rows it read
but not its cursor), the store is closed, and `run` returns 0.

A task that fails for good (the database: disk full, damaged, unwritable) stops the daemon:
the other tasks are cancelled (every write is a transaction, so nothing half-written stays)
and `run` raises that one error, never the TaskGroup's `ExceptionGroup`, so that `pingfan`
prints its one line (a full disk: exit 1, "free some space and retry").
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from monitor.apart import run_apart_async
from monitor.config import Config
from monitor.errors import PingfanError, StoreError
from monitor.runlock import run_lock
from monitor.runtime.clock import Clock, WallClock, wait_any
from monitor.runtime.health import HealthServer, WorkerShare, health_app, health_report
from monitor.runtime.leadership import Leadership
from monitor.runtime.leases import (
    LeaseLost,
    LocalWorker,
    NoIdentity,
    PostgresWorker,
    SourceLease,
    Worker,
    work_for,
    worker_for,
)
from monitor.runtime.memory import return_freed_memory
from monitor.runtime.metrics import Metrics
from monitor.runtime.platforms import PLATFORMS, PlatformRuntime, enabled_platforms
from monitor.runtime.runner import Outage, OutageReport
from monitor.runtime.scorer import Scorer, score_pending
from monitor.runtime.sources import Source
from monitor.store import Store, housekeeping
from nlp.dictionary import install as install_tables
from nlp.dictionary import pack_tables
from nlp.search_tokens import jieba_search_tokens
from nlp.segment import warm_up

log = logging.getLogger(__name__)

Stage = Callable[[datetime], Awaitable[None]]
Task = Callable[["Daemon"], Coroutine[Any, Any, None]]
# Opens what the root's stages and tasks need (the alert dispatcher) on the daemon's exit
# stack, which closes it when the daemon stops.
Opener = Callable[["Daemon", Store, AsyncExitStack], Awaitable[None]]
RETENTION_EVERY = 24 * 3600.0  # real seconds
CHECKPOINT_EVERY = 30.0  # real seconds between WAL checkpoints (off the loop)
OPTIMIZE_EVERY = 6 * 3600.0  # real seconds between two `PRAGMA optimize`
SKIP_RETRY = 30.0  # runtime seconds before a source skipped during a probe tries again
LAG_PROBE = 0.05  # real seconds between event-loop lag probes
SLOW_STAGE = 0.1  # real seconds: a stage slower than this is logged (it stalls the loop)


@dataclass(frozen=True)
class DaemonOptions:
    grace: float = 10.0  # real seconds in-flight runs get after a stop request
    pooled_scoring: bool = True  # the model in a worker process (False: in-process)
    health_port: int | None = None  # None: from the config; 0: any free port
    # Runtime seconds between two scoring rounds (and so rule passes) when nothing new arrived:
    # the time-based rules (a silent KOL, a stale source) need a pass now and then. The demo,
    # whose polls are hours apart, takes an hour.
    idle_round: float = 60.0
    # Runtime seconds between two looks at the outbox when nothing woke the dispatcher (a
    # retry coming due, quiet hours ending); read by the dispatcher the root plugs in.
    idle_dispatch: float = 30.0
    # Runtime seconds a scoring round waits after new rows arrive, so that sources finishing
    # close together are scored (and the rules run) once: 0 in production, where polls are
    # minutes apart; the demo, where they land at the same simulated moments, takes 5 min.
    settle: float = 0.0


class Daemon:
    def __init__(
        self,
        config: Config,
        *,
        clock: Clock | None = None,
        options: DaemonOptions | None = None,
    ) -> None:
        self.config = config
        self.clock = clock or WallClock()
        self.options = options or DaemonOptions()
        self.metrics = Metrics()
        self.stages: list[tuple[str, Stage]] = []
        self.extra_tasks: list[tuple[str, Task]] = []
        self.openers: list[Opener] = []
        # Stages run only while this worker leads (always, on SQLite); an opener may hand in
        # the shared database's leadership (monitor/runtime/leadership.py).
        self.leadership = Leadership()
        self.outage_listeners: list[OutageReport] = []
        self.stop_event = asyncio.Event()
        self.ready = asyncio.Event()
        self.health_port: int | None = None
        self.store: Store | None = None
        self.max_loop_lag = 0.0
        self._ingested = asyncio.Event()
        self._woken: dict[str, asyncio.Event] = {}  # source name → "you are due now"
        self.worker: Worker = LocalWorker(self.clock)  # run() picks the store's

    def add_stage(self, name: str, stage: Stage) -> None:
        """Run `stage(now)` after every scoring round (the alert rules...)."""
        self.stages.append((name, stage))

    def add_task(self, name: str, task: Task) -> None:
        """Another long-lived task of the daemon (the dispatcher, the bot, the digest...)."""
        self.extra_tasks.append((name, task))

    def add_opener(self, opener: Opener) -> None:
        """Run `await opener(daemon, store, stack)` once the store is open and the scorer is up,
        before any task starts; an opener may add stages and tasks."""
        self.openers.append(opener)

    def on_outage(self, listener: OutageReport) -> None:
        """Tell `listener` of every platform pause and recovery, as it happens."""
        self.outage_listeners.append(listener)

    def _report_outage(self, outage: Outage) -> None:
        for listener in self.outage_listeners:
            listener(outage)

    def request_stop(self) -> None:
        if not self.stop_event.is_set():
            log.info("stopping: no new work; in-flight runs get %.0f s", self.options.grace)
            self.stop_event.set()

    async def run(self) -> int:
        config = self.config
        with (
            run_lock(config),
            Store.for_config(config, search_tokens=jieba_search_tokens) as store,
        ):
            self.store = store
            async with AsyncExitStack() as stack:
                self.worker = await self._open_worker(store, stack)
                try:
                    runtimes: list[PlatformRuntime] = [
                        await stack.enter_async_context(PLATFORMS[name](config, store,
                                                                        self.clock, self.metrics,
                                                                        self._report_outage,
                                                                        self.worker))
                        for name in enabled_platforms(config)
                    ]  # fmt: skip
                except NoIdentity as stopped:
                    # Asked to stop while other workers held every identity: a clean stop.
                    log.warning("pingfan run: %s", stopped)
                    return 0
                scorer = Scorer(config.nlp.model, pooled=self.options.pooled_scoring)
                stack.callback(scorer.close)
                await scorer.start()
                # jieba's tables (for keywords) are built in a process of their own, so the
                # build neither holds this loop's GIL nor leaves its scratch memory here.
                install_tables(await run_apart_async(pack_tables))
                await asyncio.to_thread(warm_up, config.nlp.lexicon)
                return_freed_memory()
                for opener in self.openers:
                    await opener(self, store, stack)
                health = await self._start_health(store, runtimes)
                if health is not None:
                    stack.push_async_callback(health.stop)
                sources = [(rt, source) for rt in runtimes for source in rt.sources]
                log.info(
                    "pingfan run: %d sources on %s; health %s",
                    len(sources),
                    ", ".join(rt.platform for rt in runtimes) or "no platform",
                    f"http://127.0.0.1:{self.health_port}/healthz" if health else "off",
                )
                await self._run_tasks(store, scorer, sources)
                await self._final_flush(store, scorer)
        log.info("pingfan run: stopped")
        return 0

    async def _open_worker(self, store: Store, stack: AsyncExitStack) -> Worker:
        """This process's share of the sources: all of them on SQLite; on PostgreSQL, leased
        among the workers on the database (monitor/runtime/leases.py)."""
        worker = worker_for(
            store, self.clock, lease_seconds=self.config.schedule.lease, stop=self.stop_event
        )
        work_for(worker)  # the tasks started from here on lease through it
        if isinstance(worker, PostgresWorker):
            worker.start()
            log.info("worker %s: sources and identities leased for %.0f s", worker.owner,
                     worker.lease_seconds)  # fmt: skip
        stack.push_async_callback(worker.close)
        return worker

    async def _final_flush(self, store: Store, scorer: Scorer) -> None:
        """Score what arrived after the last round, so a clean stop leaves nothing unscored."""
        try:
            await asyncio.wait_for(
                score_pending(store, self.config, scorer, self.metrics), self.options.grace
            )
        except TimeoutError:
            log.warning("stopping before every comment was scored; the next start scores them")

    # --- tasks -------------------------------------------------------------------------

    async def _run_tasks(
        self, store: Store, scorer: Scorer, sources: list[tuple[PlatformRuntime, Source]]
    ) -> None:
        try:
            await self._task_group(store, scorer, sources)
        except BaseExceptionGroup as group:
            raise _the_error(group) from None

    async def _task_group(
        self, store: Store, scorer: Scorer, sources: list[tuple[PlatformRuntime, Source]]
    ) -> None:
        async with asyncio.TaskGroup() as group:
            tasks = [
                group.create_task(self._source_loop(rt, source), name=source.name)
                for rt, source in sources
            ]
            tasks.append(group.create_task(self._scorer_loop(store, scorer), name="scorer"))
            tasks.append(group.create_task(self._retention_loop(store), name="retention"))
            tasks.append(group.create_task(self._lag_monitor(), name="loop-lag"))
            tasks += [group.create_task(task(self), name=name) for name, task in self.extra_tasks]
            self.ready.set()
            await self.stop_event.wait()
            _, pending = await asyncio.wait(tasks, timeout=self.options.grace)
            for task in pending:
                task.cancel()

    async def _source_loop(self, runtime: PlatformRuntime, source: Source) -> None:
        store = runtime.runner.store
        woken = self._woken.setdefault(source.name, asyncio.Event())
        worker = self.worker
        while not self.stop_event.is_set():
            wait = self._until_due(store, source)
            if wait > 0:
                # Shared with other workers: their runs move the due time too, so look again.
                await wait_any(self.clock, min(wait, worker.poll), self.stop_event, woken)
                woken.clear()
                continue  # the due time may have moved (a circuit opened, another woke us)
            # A shared source (the comment walk) leases its threads itself, as it goes.
            lease = SourceLease(None) if source.shared else await worker.claim_source(source.name)
            if lease is None:  # another worker runs it now
                await wait_any(self.clock, worker.poll, self.stop_event, woken)
                woken.clear()
                continue
            try:
                # Claimed: another worker may have run it just before; due still?
                if worker.shared and not source.shared and self._until_due(store, source) > 0:
                    continue
                with lease:
                    await self._run_source(runtime, source, woken)
            except LeaseLost as err:
                log.warning("%s: %s; its writes were rolled back, the holder goes on", source.name,
                            err)  # fmt: skip
            finally:
                await worker.release_source(lease)

    def _until_due(self, store: Store, source: Source) -> float:
        row = store.runtime.source(source.name)
        now = self.clock.now()
        due = row.due_at if row and row.due_at else now
        return (due - now).total_seconds()

    async def _run_source(
        self, runtime: PlatformRuntime, source: Source, woken: asyncio.Event
    ) -> None:
        store = runtime.runner.store
        try:
            result = await runtime.runner.run(source)
        except (StoreError, LeaseLost):
            # The database is in trouble (stop the daemon, say why), or the source's lease
            # moved to another worker (the loop says so).
            raise
        except Exception:
            # A bug on one payload must not take the daemon down: log it, try later.
            log.exception("%s: unexpected error; trying again in %.0f s", source.name,
                          source.interval)  # fmt: skip
            store.runtime.record_source_run(
                source.name, source.platform, status="failed", at=self.clock.now(),
                due_at=self.clock.now() + timedelta(seconds=source.interval),
                error="internal error (see the log)",
            )  # fmt: skip
            return
        if result.rows:
            self._ingested.set()
            self._wake(store, source.wakes)
        if woken.is_set():
            # Woken while running: the run listed its work before the new posts arrived,
            # and its finish has just set the next due time a whole interval away.
            woken.clear()
            store.runtime.bring_forward(source.name, self.clock.now())
        if result.status == "skipped" and runtime.runner.circuit.allow():
            # Skipped while another source probed: try again soon, not a whole interval.
            store.runtime.record_source_run(
                source.name, source.platform, status="skipped", at=self.clock.now(),
                due_at=self.clock.now() + timedelta(seconds=min(SKIP_RETRY, source.interval)),
            )  # fmt: skip

    def _wake(self, store: Store, names: tuple[str, ...]) -> None:
        """Make these sources due now: a waiting one runs at once, a running one again
        as soon as it finishes."""
        for name in names:
            store.runtime.bring_forward(name, self.clock.now())
            self._woken.setdefault(name, asyncio.Event()).set()

    async def _scorer_loop(self, store: Store, scorer: Scorer) -> None:
        while not self.stop_event.is_set():
            self._ingested.clear()
            report = await score_pending(store, self.config, scorer, self.metrics)
            if report.comments or report.posts:
                log.info("scored %d comments, %d posts", report.comments, report.posts)
            now = self.clock.now()
            for name, stage in self.stages if self.leadership.leading else ():
                started = time.perf_counter()
                try:
                    await stage(now)
                    took = time.perf_counter() - started
                    if took > SLOW_STAGE:
                        log.warning("stage %s held the event loop for %.0f ms", name, took * 1000)
                except StoreError:
                    raise
                except Exception:
                    log.exception("stage %s failed; it runs again after the next scoring", name)
            if self.stop_event.is_set():
                break
            await wait_any(self.clock, self.options.idle_round, self._ingested, self.stop_event)
            if self._ingested.is_set() and self.options.settle > 0:
                await self.clock.wait(self.stop_event, self.options.settle)

    async def _retention_loop(self, store: Store) -> None:
        """Housekeeping by the real clock, each step off the event loop in short transactions
        (monitor/store/housekeeping.py): retention once a day, a WAL checkpoint every
        `CHECKPOINT_EVERY` (SQLite's own would run inside a commit, on the loop), and the
        planner's statistics refreshed every `OPTIMIZE_EVERY`."""
        days = self.config.storage.comment_retention_days
        wall = WallClock()
        on_file = store.path != ":memory:"
        if on_file:
            housekeeping.take_over_checkpoints(store)
        next_purge = wall.now()
        next_optimize = wall.now() + timedelta(seconds=OPTIMIZE_EVERY)
        while not self.stop_event.is_set():
            now = wall.now()
            if days > 0 and now >= next_purge:
                purged = await housekeeping.purge_comments(store, days, now)
                self.metrics.purged.inc(purged)
                if purged:
                    log.info("retention: deleted %d comments older than %d days", purged, days)
                next_purge = now + timedelta(seconds=RETENTION_EVERY)
            if now >= next_optimize:
                housekeeping.optimize_statistics(store)
                next_optimize = now + timedelta(seconds=OPTIMIZE_EVERY)
            if on_file:
                await housekeeping.checkpoint(store)
            await wall.wait(self.stop_event, CHECKPOINT_EVERY if on_file else RETENTION_EVERY)

    async def _lag_monitor(self) -> None:
        while not self.stop_event.is_set():
            started = time.perf_counter()
            await asyncio.sleep(LAG_PROBE)
            lag = time.perf_counter() - started - LAG_PROBE
            if lag > self.max_loop_lag:
                self.max_loop_lag = lag
                self.metrics.loop_lag.set(lag)

    async def _start_health(
        self, store: Store, runtimes: list[PlatformRuntime]
    ) -> HealthServer | None:
        port = self.options.health_port
        if port is None:
            port = self.config.health.port
            if port == 0:
                return None
        intervals = {source.name: source.interval for rt in runtimes for source in rt.sources}

        def report() -> dict:
            self.metrics.pending_alerts.set(store.reports.alert_states().get("pending", 0))
            for rt in runtimes:
                self.metrics.circuit_open.labels(rt.platform).set(rt.runner.circuit.is_open())
            return health_report(store, self.clock.now(), intervals, self._share())

        server = HealthServer(health_app(report, self.metrics), port)
        try:
            self.health_port = await server.start()
        except OSError as err:
            raise StoreError(
                f"cannot serve the health endpoint on 127.0.0.1:{port}: {err.strerror or err};"
                " set [health] port to a free port, or 0 to turn it off"
            ) from err
        return server

    def _share(self) -> WorkerShare | None:
        """This worker's share of the work, for /healthz (None: the only one, SQLite)."""
        worker = self.worker
        if not isinstance(worker, PostgresWorker):
            return None
        return WorkerShare(
            owner=worker.owner,
            leading=self.leadership.leading,
            leases=len(worker.held()),
            identities=tuple(worker.identity_keys()),
        )


def _the_error(group: BaseExceptionGroup) -> BaseException:
    """The one error to report from the tasks that failed together: an interrupt first, then
    pingfan's own errors (the database's among them), then anything else (a bug, with its
    traceback)."""
    leaves: list[BaseException] = []

    def flatten(error: BaseException) -> None:
        if isinstance(error, BaseExceptionGroup):
            for inner in error.exceptions:
                flatten(inner)
        else:
            leaves.append(error)

    flatten(group)
    for kinds in (
        (KeyboardInterrupt, SystemExit),
        (PingfanError,),
        (Exception,),
    ):
        for leaf in leaves:
            if isinstance(leaf, kinds):
                return leaf
    return leaves[0] if leaves else group
