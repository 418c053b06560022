"""Several workers, one outbox, on a real PostgreSQL server: each delivery (alert × sink) is
claimed by one dispatcher, so each alert reaches each sink once; a dead worker's claims expire
(by the database's clock) and another worker sends what they held."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from alerts.dispatch import Dispatcher
from monitor.config import Config, config_from_dict
from monitor.store import Store
from monitor.store.outbox import Claim
from tests.support.alerts import AT, Clock, alert, sink_entries
from tests.support.fake_services import FakeServices
from tests.support.postgres import Cluster

WEBHOOK = "webhook:PF_TEST_WEBHOOK"
ALERTS = 40


@pytest.fixture
def shared_url(postgres_cluster: Cluster) -> Iterator[str]:
    """A new database that several stores (workers) open."""
    with postgres_cluster.temporary_url() as url:  # migrated by the first store to open it
        yield url


def make_config(fake: FakeServices, tmp_path: Path) -> Config:
    return config_from_dict(
        {"sinks": sink_entries(fake, tmp_path, ("jsonl", "webhook"))}, tmp_path / "config.toml"
    )


def enqueue(store: Store, count: int) -> None:
    for n in range(1, count + 1):
        store.outbox.enqueue_alert(alert(n))


def jsonl_lines(tmp_path: Path) -> list[dict]:
    path = tmp_path / "alerts.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def drain(url: str, config: Config, env: dict[str, str], worker: str) -> int:
    """One worker: its own connection and dispatcher, small claims, until nothing is unsent;
    returns the deliveries it sent."""

    async def run() -> int:
        clock = Clock()
        sent = 0
        with Store.open_postgres(url) as store:
            async with Dispatcher(
                config,
                store,
                clock=clock,
                sleep=clock.sleep,
                env=env,
                worker=worker,
                claim_batch=3,
            ) as dispatcher:
                for _ in range(500):
                    sent += (await dispatcher.dispatch_pending()).sent
                    if not any(store.outbox.unsent_count(sink.label) for sink in dispatcher.sinks):
                        break
                    await asyncio.sleep(0.001)  # the other worker holds the sink: look again
        return sent

    return asyncio.run(run())


async def test_two_workers_deliver_each_alert_once_to_each_sink_in_order(
    shared_url: str, tmp_path: Path
) -> None:
    async with FakeServices() as fake:
        config = make_config(fake, tmp_path)
        with Store.open_postgres(shared_url) as store:
            enqueue(store, ALERTS)
            sent = await asyncio.gather(
                asyncio.to_thread(drain, shared_url, config, fake.env(), "worker-a"),
                asyncio.to_thread(drain, shared_url, config, fake.env(), "worker-b"),
            )
            assert sum(sent) == 2 * ALERTS, sent  # no delivery sent twice, none left
            assert store.reports.alert_states() == {"sent": ALERTS}
        expected = [alert(n).dedupe_key for n in range(1, ALERTS + 1)]
        hooks = fake.received["webhook"]
        assert [hook["dedupe_key"] for hook in hooks] == expected
        assert [line["dedupe_key"] for line in jsonl_lines(tmp_path)] == expected
        assert not any(hook["possible_duplicate"] for hook in hooks)


async def test_a_dead_workers_claim_is_taken_once_it_expires(
    shared_url: str, tmp_path: Path
) -> None:
    async with FakeServices() as fake:
        config = make_config(fake, tmp_path)
        with ExitStack() as stack:
            dead = stack.enter_context(Store.open_postgres(shared_url))
            alive = stack.enter_context(Store.open_postgres(shared_url))
            enqueue(dead, 2)
            dead.outbox.register_sink(WEBHOOK, "webhook", "f", AT)
            dead.outbox.open_deliveries(WEBHOOK, AT)
            holder = Claim("dead-worker", ttl=3600)
            claimed = dead.outbox.claim_due(WEBHOOK, AT, holder)
            assert [d.alert.id for d in claimed] == [1, 2]
            # it marked the first `sending` and died before the service answered
            assert dead.outbox.mark_sending(WEBHOOK, [1], holder)
            clock = Clock()
            async with Dispatcher(
                config, alive, clock=clock, sleep=clock.sleep, env=fake.env(), worker="alive"
            ) as dispatcher:
                await dispatcher.dispatch_pending()
                assert fake.received["webhook"] == []  # a live claim is left alone
                assert alive.outbox.unsent_count(WEBHOOK) == 2
                # its last renewal was short; the database's clock runs past it
                dead.outbox.claim_due(WEBHOOK, AT, Claim("dead-worker", ttl=0.2))
                time.sleep(0.5)
                await dispatcher.dispatch_pending()
                await dispatcher.dispatch_pending()  # and nothing more
        hooks = fake.received["webhook"]
        assert [(h["dedupe_key"], h["possible_duplicate"]) for h in hooks] == [
            (alert(1).dedupe_key, True),  # it may have reached the service before the crash
            (alert(2).dedupe_key, False),
        ]


def test_a_worker_whose_claim_was_taken_over_sends_nothing(shared_url: str) -> None:
    with Store.open_postgres(shared_url) as slow, Store.open_postgres(shared_url) as other:
        enqueue(slow, 1)
        slow.outbox.register_sink(WEBHOOK, "webhook", "f", AT)
        slow.outbox.open_deliveries(WEBHOOK, AT)
        assert slow.outbox.claim_due(WEBHOOK, AT, Claim("slow", ttl=0.2))
        time.sleep(0.5)  # the slow worker stalls past its claim
        assert other.outbox.claim_due(WEBHOOK, AT, Claim("other"))
        assert slow.outbox.claim_due(WEBHOOK, AT, Claim("slow")) == []  # the sink is taken
        assert slow.outbox.mark_sending(WEBHOOK, [1], Claim("slow")) is False
        assert other.outbox.mark_sending(WEBHOOK, [1], Claim("other")) is True
        # a late failure report of the slow worker does not undo the other's send
        other.outbox.mark_delivered(WEBHOOK, [1], "sent", AT)
        slow.outbox.mark_retry(WEBHOOK, [1], AT, "timeout", worker="slow")
        assert other.outbox.delivery_states(1) == {WEBHOOK: "sent"}


def test_sqlite_claims_nothing(tmp_path: Path) -> None:
    """One process owns a SQLite outbox: its due deliveries come back as they are, unclaimed,
    and a delivery found `sending` after a crash is sent again at once."""
    with Store.open(tmp_path / "pingfan.db") as store:
        enqueue(store, 2)
        store.outbox.register_sink(WEBHOOK, "webhook", "f", AT)
        store.outbox.open_deliveries(WEBHOOK, AT)
        claim = Claim("before-the-crash", ttl=3600)
        assert [d.alert.id for d in store.outbox.claim_due(WEBHOOK, AT, claim)] == [1, 2]
        assert store.outbox.mark_sending(WEBHOOK, [1], claim)
        after = store.outbox.claim_due(WEBHOOK, AT, Claim("after-the-restart"))
        assert [(d.alert.id, d.possible_duplicate) for d in after] == [(1, True), (2, False)]
        holders = store.query("SELECT claimed_by FROM alert_deliveries")
        assert [row["claimed_by"] for row in holders] == [None, None]


def test_an_alert_finished_by_two_workers_at_once_is_sent(shared_url: str) -> None:
    """Two workers record an alert's last two sinks at the same moment: the alert is `sent`
    (each, alone, would still see the other's delivery unsent)."""
    with Store.open_postgres(shared_url) as first, Store.open_postgres(shared_url) as second:
        enqueue(first, 1)
        for sink in ("a", "b"):
            first.outbox.register_sink(sink, "webhook", "f", AT)
            first.outbox.open_deliveries(sink, AT)
        with first.sql.atomic():
            first.outbox.mark_delivered("a", [1], "sent", AT)  # not committed yet
            other = threading.Thread(
                target=second.outbox.mark_delivered, args=("b", [1], "sent", AT)
            )
            other.start()
            waits_for_the_first(first, other)
        other.join(timeout=60)
        assert not other.is_alive()
        assert first.reports.alert_states() == {"sent": 1}


def waits_for_the_first(store: Store, other: threading.Thread) -> None:
    """Until the other worker's statement waits on a lock (or has finished without)."""
    for _ in range(600):
        waiting = store.query(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            " AND datname = current_database()"
        )
        if next(waiting)["n"] or not other.is_alive():
            return
        time.sleep(0.05)


def test_an_alert_committed_late_still_reaches_every_sink(shared_url: str) -> None:
    """Two workers enqueue at once, the first to take an id commits last: a sink that opened
    its deliveries in between still gets both (ids are handed out in commit order)."""
    with ExitStack() as stack:
        slow, quick, dispatcher = (
            stack.enter_context(Store.open_postgres(shared_url)) for _ in range(3)
        )
        dispatcher.outbox.register_sink(WEBHOOK, "webhook", "f", AT)
        with slow.sql.atomic():
            slow.outbox.enqueue_alert(alert(1))  # not committed yet
            other = threading.Thread(target=quick.outbox.enqueue_alert, args=(alert(2),))
            other.start()
            waits_for_the_first(slow, other)
            dispatcher.outbox.open_deliveries(WEBHOOK, AT)  # meanwhile, a round begins
        other.join(timeout=60)
        assert not other.is_alive()
        dispatcher.outbox.open_deliveries(WEBHOOK, AT)
        due = dispatcher.outbox.due_deliveries(WEBHOOK, AT)
        assert sorted(d.alert.dedupe_key for d in due) == [alert(1).dedupe_key, alert(2).dedupe_key]


async def test_a_worker_that_stops_gives_its_claims_back(shared_url: str, tmp_path: Path) -> None:
    """Stopped mid-send (cancelled while the service had the message): the next worker sends
    that alert at once, as a possible duplicate, without waiting for the claim to expire."""
    async with FakeServices() as fake:
        config = make_config(fake, tmp_path)
        with Store.open_postgres(shared_url) as first, Store.open_postgres(shared_url) as second:
            enqueue(first, 1)
            clock = Clock()
            async with Dispatcher(
                config, first, clock=clock, sleep=clock.sleep, env=fake.env(), worker="first"
            ) as stopping:
                first.outbox.open_deliveries(WEBHOOK, AT)
                claim = stopping.claim
                assert first.outbox.claim_due(WEBHOOK, AT, claim)
                assert first.outbox.mark_sending(WEBHOOK, [1], claim)  # then it is stopped
            async with Dispatcher(
                config, second, clock=clock, sleep=clock.sleep, env=fake.env(), worker="second"
            ) as dispatcher:
                await dispatcher.dispatch_pending()
        (hook,) = fake.received["webhook"]
        assert hook["possible_duplicate"] is True
