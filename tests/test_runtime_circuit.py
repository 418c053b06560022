"""A stored circuit: a cool-down outlives the process that started it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from monitor.app.collect import collect_once
from monitor.app.outages import health_alerts
from monitor.runtime.circuit import Circuit, CircuitState
from monitor.runtime.clock import VirtualClock
from monitor.sim.faults import Fault
from monitor.store import Store
from tests.support.sim import MID_CAMPAIGN, running_sim
from tests.support.weibo import expected_post_ids, sim_config


def test_an_open_circuit_is_still_open_after_a_restart(tmp_path: Path) -> None:
    clock = VirtualClock(MID_CAMPAIGN)
    with Store.open(tmp_path / "p.db") as store:
        circuit = Circuit("weibo", store, clock, cooldown=600)
        assert circuit.record_block("HTTP 432") is not None
    clock.advance(300)
    with Store.open(tmp_path / "p.db") as store:
        again = Circuit("weibo", store, clock, cooldown=600)
        assert again.state is CircuitState.OPEN and again.reason == "HTTP 432"
        assert not again.allow() and 299 <= again.seconds_left() <= 300
        clock.advance(301)
        assert again.allow() and again.state is CircuitState.HALF_OPEN
        assert again.record_block("HTTP 432 again") is None, "one outage, one alert"
        assert again.seconds_left() == 1200, "a failed probe doubles the cool-down"
        clock.advance(1200)
        assert again.allow()
        recovered = again.record_success()
        assert recovered is not None and recovered.reason == "HTTP 432"
    with Store.open(tmp_path / "p.db") as store:
        assert Circuit("weibo", store, clock).state is CircuitState.CLOSED


async def test_collect_once_respects_a_cool_down_that_an_earlier_run_started(
    tmp_path: Path,
) -> None:
    async with running_sim(requests_per_minute=100_000) as (server, _):
        config = sim_config(server, tmp_path, cooldown="30m")
        server.sim.faults.add(Fault("weibo", "http432", count=None))
        clock = VirtualClock(MID_CAMPAIGN)
        first = await collect_once(config, "weibo", clock)
        assert first.blocked
        sent = server.sim.requests_to("weibo") + server.sim.requests_to("weibo_topic")
        assert sent >= 1

        clock.advance(10)  # cron runs again ten seconds later: not one request
        second = await collect_once(config, "weibo", clock)
        after = server.sim.requests_to("weibo") + server.sim.requests_to("weibo_topic")
        assert after == sent
        assert {step.status for step in second.reports[0].steps} == {"skipped"}

        server.sim.faults.clear()
        clock.advance(timedelta(minutes=31).total_seconds())
        third = await collect_once(config, "weibo", clock)
        assert not third.blocked
        with Store.open(config.storage.path) as store:
            titles = [
                row["title"]
                for row in store.query(
                    "SELECT title FROM alerts WHERE kind = 'collector_health' ORDER BY id"
                )
            ]
            posts = {row["id"] for row in store.query("SELECT id FROM posts")}
        assert titles == ["微博采集暂停：被平台拦截", "微博采集已恢复"]
        assert posts == expected_post_ids(server.sim.world, server.sim.clock.now())


async def test_a_platform_that_stops_answering_opens_the_circuit(tmp_path: Path) -> None:
    async with running_sim(requests_per_minute=100_000) as (server, _):
        config = sim_config(server, tmp_path, timeout="0.3s")
        server.sim.faults.add(Fault("weibo", "timeout", count=None))
        clock = VirtualClock(MID_CAMPAIGN)
        outcome = await collect_once(config, "weibo", clock)
    steps = outcome.reports[0].steps
    assert [s.status for s in steps[:3]] == ["failed", "failed", "failed"]
    assert all(s.status == "skipped" for s in steps[3:]), "then the circuit takes over"
    assert sum(s.requests for s in steps) <= 3 * 3, "a few tries per failing source at most"
    with Store.open(config.storage.path) as store:
        (alert,) = store.query("SELECT title, text FROM alerts WHERE kind = 'collector_health'")
    assert "unreachable" in alert["text"]
    assert alert["title"] == "微博采集暂停：无法连接", "a platform that does not answer is no block"
    assert "检查网络" in alert["text"]


async def test_a_run_without_requests_does_not_close_the_circuit(tmp_path: Path) -> None:
    from monitor.runtime.runner import PlatformRunner
    from monitor.runtime.sources import Source

    clock = VirtualClock(MID_CAMPAIGN)

    async def nothing_due() -> int:
        return 0

    with Store.open(tmp_path / "p.db") as store:
        circuit = Circuit("weibo", store, clock, cooldown=600)
        runner = PlatformRunner(
            "weibo", store, clock, circuit, on_outage=health_alerts(store, "zh")
        )
        circuit.record_block("HTTP 432")
        clock.advance(601)
        result = await runner.run(Source("weibo:comments", "weibo", 300, nothing_due))
        assert result.status == "ok"
        assert circuit.state is CircuitState.HALF_OPEN, "no answer from Weibo: still unproven"
        assert not list(store.query("SELECT id FROM alerts"))


async def test_the_runner_tells_its_callback_of_each_pause_and_recovery(tmp_path: Path) -> None:
    """The runner knows nothing of alerts: it reports outages, once each, to what it is given."""
    from monitor.errors import AuthExpired
    from monitor.runtime.fetch import count_request
    from monitor.runtime.runner import Paused, PlatformRunner, Recovered
    from monitor.runtime.sources import Source

    clock = VirtualClock(MID_CAMPAIGN)
    told: list[object] = []

    async def logged_out() -> int:
        raise AuthExpired("login: false")

    async def answered() -> int:
        count_request()
        return 1

    with Store.open(tmp_path / "p.db") as store:
        circuit = Circuit("weibo", store, clock, cooldown=600)
        runner = PlatformRunner("weibo", store, clock, circuit, on_outage=told.append)
        await runner.run(Source("weibo:profiles", "weibo", 300, logged_out))
        assert told == [Paused("weibo", "login: false", 600.0, MID_CAMPAIGN, "cookie")]
        clock.advance(601)
        await runner.run(Source("weibo:profiles", "weibo", 300, logged_out))
        assert len(told) == 1, "a failed probe is the same outage: no second report"
        clock.advance(1201)
        result = await runner.run(Source("weibo:profiles", "weibo", 300, answered))
        assert result.status == "ok"
        assert told[1:] == [Recovered("weibo", MID_CAMPAIGN + timedelta(seconds=1802))]
        assert not list(store.query("SELECT id FROM alerts")), "alerts are the root's business"
