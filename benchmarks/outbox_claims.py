"""The outbox's dispatch with and without claims: `python -m benchmarks.outbox_claims`.

Dispatches N alerts to a file sink (jsonl: no network, so the figures are the outbox's own
cost) on SQLite (one process, nothing claimed), then on PostgreSQL with one worker and with
two (each its own connection and dispatcher, in threads, claiming per sink and round).
Prints deliveries per second and each figure's ratio to SQLite's, measured in the same run.
Needs Debian's PostgreSQL server (`make postgres`); it starts a throwaway cluster.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from alerts.dispatch import Dispatcher
from monitor.config import Config, config_from_dict
from monitor.models import AlertRecord
from monitor.store import Store
from tests.support.postgres import start_cluster

AT = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Run:
    name: str
    deliveries: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.deliveries / self.seconds


def alerts(count: int) -> list[AlertRecord]:
    return [
        AlertRecord(
            kind="negative_thread",
            severity="warning",
            title=f"负面舆情 {n}",
            text=f"第 {n} 条提醒",
            dedupe_key=f"bench:{n}",
            created_at=AT + timedelta(seconds=n),
            platform="weibo",
            subject_id=f"P{n}",
        )
        for n in range(count)
    ]


def config_for(folder: Path) -> Config:
    sink = {"type": "jsonl", "path": str(folder / "alerts.jsonl")}
    return config_from_dict({"sinks": [sink]}, folder / "config.toml")


def drain(open_store: Callable[[], Store], config: Config, worker: str) -> None:
    """One worker: its own connection (opened in its thread) and dispatcher, until done."""

    async def run(store: Store) -> None:
        async with Dispatcher(config, store, clock=lambda: AT, worker=worker) as dispatcher:
            label = dispatcher.sinks[0].label
            await dispatcher.dispatch_pending()  # opens the sink's deliveries
            while store.outbox.unsent_count(label):
                await dispatcher.dispatch_pending()

    with open_store() as store:
        asyncio.run(run(store))


def measure(
    name: str, open_store: Callable[[], Store], workers: int, config: Config, count: int
) -> Run:
    with open_store() as store:
        for record in alerts(count):
            store.outbox.enqueue_alert(record)
    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        for done in [pool.submit(drain, open_store, config, f"w{i}") for i in range(workers)]:
            done.result()
    return Run(name, count, time.perf_counter() - started)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=2000)
    args = parser.parse_args(argv)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = folder / "pingfan.db"
        sqlite = measure(
            "SQLite, 1 process", lambda: Store.open(path), 1, config_for(folder), args.alerts
        )
        runs.append(sqlite)
        cluster = start_cluster()
        try:
            for workers in (1, 2):
                url = cluster.url(cluster.database())
                where = folder / f"pg{workers}"
                where.mkdir()
                label = f"PostgreSQL, {workers} worker{'s' if workers > 1 else ''}"
                runs.append(
                    measure(
                        label,
                        partial(Store.open_postgres, url),
                        workers,
                        config_for(where),
                        args.alerts,
                    )
                )
        finally:
            cluster.stop()
    base = runs[0].per_second
    print(f"Outbox dispatch, {args.alerts} alerts to one file sink (deliveries per second)")
    for run in runs:
        print(f"  {run.name:<24} {run.per_second:8.0f}/s   × {run.per_second / base:.2f}")


if __name__ == "__main__":
    main()
