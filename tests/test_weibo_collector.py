"""The Weibo collector against the simulator: completeness, incrementality, faults."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from monitor.app.outages import health_alerts
from monitor.collectors.weibo import PAGES_PER_VISIT, WeiboCollector
from monitor.runtime.circuit import Circuit, CircuitState
from monitor.runtime.clock import VirtualClock
from monitor.runtime.pacing import Pacer
from monitor.runtime.runner import PlatformRunner
from monitor.runtime.sources import Source
from monitor.sim.faults import Fault
from monitor.store import Store
from tests.support.sim import MID_CAMPAIGN, TOPIC, bundled_world, running_sim
from tests.support.weibo import KOL, OFFICIAL, expected_post_ids, rig, sim_config, weibo_fetcher


def stored(store: Store, sql: str) -> list[dict]:
    return list(store.query(sql))


async def test_full_pass_lands_posts_comments_stats_and_snapshots(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        report = await r.run_pass()
        now = r.clock.now()
        assert not report.blocked and all(s.status == "ok" for s in report.steps), report.summary()
        post_ids = {row["id"] for row in stored(r.store, "SELECT id FROM posts")}
        assert post_ids == expected_post_ids(r.world, now)
        # every visible comment of every collected post, replies with their parent
        expected_comments = {
            c.id: c.parent_id for pid in post_ids for c in r.world.comments_until(pid, now)
        }
        rows = stored(r.store, "SELECT id, parent_id FROM comments")
        assert {row["id"]: row["parent_id"] for row in rows} == expected_comments
        (topic,) = stored(r.store, "SELECT views, discussions FROM topic_metrics")
        curve = r.world.topic("weibo", name=TOPIC)
        assert curve is not None
        assert (topic["views"], topic["discussions"]) == r.world.topic_counts_at(curve, now)
        accounts = {row["id"]: row for row in stored(r.store, "SELECT * FROM accounts")}
        assert accounts[OFFICIAL]["kind"] == "official" and accounts[KOL]["kind"] == "kol"
        official = r.world.account("weibo", OFFICIAL)
        assert official is not None
        assert abs(accounts[OFFICIAL]["followers"] - r.world.followers_at(official, now)) < 1000
        kinds = {row["author_kind"] for row in stored(r.store, "SELECT author_kind FROM posts")}
        assert kinds == {"official", "kol", "user"}


async def test_second_pass_without_news_is_cheap_and_adds_nothing(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await r.run_pass()
        counts = r.store.reports.table_counts()
        before = r.server.sim.requests_to("weibo") + r.server.sim.requests_to("weibo_topic")
        report = await r.run_pass()
        after = r.server.sim.requests_to("weibo") + r.server.sim.requests_to("weibo_topic")
        assert after - before == report.requests
        assert all(step.requests <= 2 for step in report.steps), report.steps
        by_name = {step.name: step for step in report.steps}
        assert by_name["weibo:comments"].requests == 0, "no thread has news"
        assert by_name["weibo:post_counts"].requests == 0, "every count was read just now"
        assert r.store.reports.table_counts() == counts


async def test_later_pass_picks_up_only_what_is_new(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await r.run_pass()
        r.advance(days=4)
        before = r.server.sim.requests_to("weibo")
        await r.run_pass()
        now = r.clock.now()
        post_ids = {row["id"] for row in stored(r.store, "SELECT id FROM posts")}
        assert post_ids == expected_post_ids(r.world, now)
        new_posts = [p for p in r.world.posts_until(now) if p.created_at > MID_CAMPAIGN]
        assert new_posts
        # incremental: far fewer requests than the first full pass needed
        assert r.server.sim.requests_to("weibo") - before < before


async def test_long_posts_are_completed(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await r.run_pass()
        long_ids = [p.id for p in r.world.posts_until(r.clock.now()) if p.long_text]
        assert long_ids
        for row in r.store.query(
            f"SELECT text FROM posts WHERE id IN ({','.join('?' * len(long_ids))})", long_ids
        ):
            assert "全文" not in row["text"] and "感谢每一位平凡的大连人" in row["text"]


@pytest.mark.parametrize("kind", ["http432", "http418", "http403", "captcha", "visitor"])
async def test_block_opens_circuit_with_one_alert_then_recovers(tmp_path: Path, kind: str) -> None:
    async with rig(tmp_path) as r:
        r.add_fault(kind, path="/api/container/getIndex", count=None)
        report = await r.run_pass()
        assert report.blocked
        assert r.circuit.state is CircuitState.OPEN
        skipped = [s for s in report.steps if s.status == "skipped"]
        assert skipped, "after the block, the other sources wait"
        report = await r.run_pass()  # still cooling down: nothing is sent
        assert {s.status for s in report.steps} == {"skipped"} and report.requests == 0
        alerts = stored(r.store, "SELECT kind, severity, title FROM alerts")
        assert alerts == [
            {
                "kind": "collector_health",
                "severity": "critical",
                "title": "微博采集暂停：被平台拦截",
            }
        ]
        r.server.sim.faults.clear()
        r.runtime_clock.advance(601)
        report = await r.run_pass()
        assert r.circuit.state is CircuitState.CLOSED
        post_ids = {row["id"] for row in stored(r.store, "SELECT id FROM posts")}
        assert post_ids == expected_post_ids(r.world, r.clock.now())
        titles = [a["title"] for a in stored(r.store, "SELECT title FROM alerts ORDER BY id")]
        assert titles[-1] == "微博采集已恢复" and len(titles) == 2


async def test_truncated_topic_detail_falls_back_to_the_container_text(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        r.server.sim.faults.add(Fault("weibo", "truncated", path="/ajax_topic", count=None))
        report = await r.run_pass()
        assert not report.blocked
        (row,) = stored(r.store, "SELECT views, discussions FROM topic_metrics")
        curve = r.world.topic("weibo", name=TOPIC)
        assert curve is not None
        views, _ = r.world.topic_counts_at(curve, r.clock.now())
        assert abs(row["views"] - views) <= 1000  # "x.y万阅读" is exact to a thousand


async def test_truncated_json_fails_one_source_and_keeps_the_others(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        r.add_fault("truncated", path="/api/container/getIndex", count=1)
        report = await r.run_pass()
        failed = [s for s in report.steps if s.status == "failed"]
        assert len(failed) == 1 and "truncated or invalid JSON" in failed[0].detail
        assert "url: http://127.0.0.1" in failed[0].detail
        assert [s for s in report.steps if s.status == "ok"]
        await r.run_pass()
        post_ids = {row["id"] for row in stored(r.store, "SELECT id FROM posts")}
        assert post_ids == expected_post_ids(r.world, r.clock.now())


async def test_ok0_mid_walk_does_not_advance_the_cursor(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await r.collector.collect_topic_posts(TOPIC)
        r.advance(days=20)  # enough new posts for several pages
        cursor_before = r.store.content.cursor("weibo:posts", f"search:{TOPIC}")
        original = r.collector.http.get

        async def early_end_on_page_2(url, params=None, headers=None):  # type: ignore[no-untyped-def]
            if params and params.get("page") == 2 and "100103" in str(params.get("containerid")):
                r.server.sim.faults.add(Fault("weibo", "ok0", count=1))
            return await original(url, params, headers)

        r.collector.http.get = early_end_on_page_2  # type: ignore[method-assign]
        await r.collector.collect_topic_posts(TOPIC)
        assert r.store.content.cursor("weibo:posts", f"search:{TOPIC}") == cursor_before
        r.collector.http.get = original  # type: ignore[method-assign]
        await r.collector.collect_topic_posts(TOPIC)
        assert r.store.content.cursor("weibo:posts", f"search:{TOPIC}") != cursor_before
        post_ids = {row["id"] for row in stored(r.store, "SELECT id FROM posts")}
        now = r.clock.now()
        topic_ids = {
            p.id for p in r.world.posts_until(now) if p.platform == "weibo" and TOPIC in p.topics
        }
        assert topic_ids <= post_ids


async def test_requests_that_time_out_are_sent_again(tmp_path: Path) -> None:
    """The simulator holds the first matching requests open for an hour, so each one times
    out on the client's 1 s timeout whatever the machine's speed, and must be sent again."""
    async with rig(tmp_path) as r:
        held_list = r.add_fault("timeout", path="/api/container/getIndex", count=1)
        held_comments = r.add_fault("timeout", path="/comments/hotflow", count=2)
        report = await r.run_pass()
        assert all(s.status == "ok" for s in report.steps), report.summary()
        assert (held_list.count, held_comments.count) == (0, 0), "every timeout met a request"
        for path, held in (("/api/container/getIndex", 1), ("/comments/hotflow", 2)):
            sent = r.requests_sent(path)
            for i in range(held):  # the first `held` requests met the fault: each went again
                assert sent[i] in sent[i + 1 :], f"{sent[i]} was not retried"
        assert {row["id"] for row in stored(r.store, "SELECT id FROM posts")} == expected_post_ids(
            r.world, r.clock.now()
        )


async def test_duplicates_across_pages_leave_no_duplicate_rows(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        r.add_fault("duplicate", path="/api/container/getIndex", count=None)
        await r.run_pass()
        ids = [row["id"] for row in stored(r.store, "SELECT id FROM posts")]
        assert len(ids) == len(set(ids))
        assert set(ids) == expected_post_ids(r.world, r.clock.now())


async def test_expired_cookie_is_reported_as_such(tmp_path: Path) -> None:
    async with running_sim(requests_per_minute=100_000, weibo_cookie="SUB=fresh") as (server, _):
        config = sim_config(server, tmp_path)
        clock = VirtualClock(MID_CAMPAIGN)
        with Store.open(config.storage.path) as store:
            circuit = Circuit("weibo", store, clock)
            fetcher = weibo_fetcher(clock, circuit, cookie="SUB=stale", pacer=Pacer(1000, clock))
            async with fetcher as http:
                collector = WeiboCollector(config, store, http, clock)
                runner = PlatformRunner(
                    "weibo", store, clock, circuit, on_outage=health_alerts(store, "zh")
                )
                report = await runner.run_all(collector.sources(logged_in=True))
            (alert,) = store.query("SELECT title FROM alerts")
        login = report.steps[0]
        assert login.name == "weibo:login" and login.status == "blocked"
        assert "expired" in login.detail and "PINGFAN_TEST_NO_COOKIE" in login.detail
        assert alert["title"] == "微博采集暂停：登录 Cookie 已失效"


async def test_collect_once_command_exits_4_when_blocked(tmp_path: Path) -> None:
    import asyncio
    import subprocess
    import sys

    async with running_sim(requests_per_minute=100_000) as (server, _):
        server.sim.faults.add(Fault("weibo", "http432", count=None))
        config_path = tmp_path / "config.toml"
        config_path.write_text(
            f'[storage]\npath = "p.db"\ncomment_retention_days = 0\n[[topics]]\nname = "{TOPIC}"\n'
            f'[weibo]\nbase_url = "{server.weibo_url}"\n'
            f'topic_base_url = "{server.weibo_topic_url}"\n'
            "[douyin]\nenabled = false\n",
            encoding="utf-8",
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "monitor.cli", "--config", str(config_path),
            "collect", "--once", "--platform", "weibo",
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 4, err.decode()
    assert "blocked" in out.decode() and "432" in out.decode()
    assert "Traceback" not in err.decode()


async def test_export_shows_clean_weibo_rows(tmp_path: Path) -> None:
    from monitor.export import export_records

    async with rig(tmp_path) as r:
        await r.run_pass()
        records = list(export_records(r.store, "posts"))
    assert records
    for record in records:
        assert record["platform"] == "weibo"
        assert "<" not in record["text"] and "surl-text" not in record["text"]
        assert datetime.fromisoformat(record["created_at"]).tzinfo is not None
        for key in ("likes", "comments", "reposts"):
            assert record[key] is None or isinstance(record[key], int)
        assert record["plays"] is None and record["shares"] is None
    assert any(TOPIC in r["topics"] for r in records)
    assert any("[" in r["text"] and "]" in r["text"] for r in records), "emoticons kept"
    assert json.dumps(records, ensure_ascii=False)


async def test_mentions_come_from_the_links(tmp_path: Path) -> None:
    async with rig(tmp_path, at=bundled_world().end) as r:
        await r.collector.collect_topic_posts(TOPIC)
        mentions = [
            json.loads(row["mentions"]) for row in stored(r.store, "SELECT mentions FROM posts")
        ]
    assert ["大连网信"] in mentions


async def test_long_text_without_permission_keeps_the_short_text(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        r.add_fault("no_permission", path="/statuses/extend", count=None)
        report = await r.run_pass()
        assert all(s.status == "ok" for s in report.steps), report.summary()
        long_ids = [p.id for p in r.world.posts_until(r.clock.now()) if p.long_text]
        texts = [
            row["text"]
            for row in r.store.query(
                f"SELECT text FROM posts WHERE id IN ({','.join('?' * len(long_ids))})", long_ids
            )
        ]
        assert texts and all("全文" not in t and t for t in texts)


async def test_block_during_long_text_keeps_the_rows_read_so_far(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        r.add_fault("http432", path="/statuses/extend", count=1)
        report = await r.run_pass()
        assert report.blocked
        assert r.store.reports.table_counts()["posts"] > 0, "the listed posts were kept"
        assert r.store.content.cursor("weibo:posts", f"search:{TOPIC}") is None, (
            "but not the cursor"
        )
        assert len(stored(r.store, "SELECT id FROM alerts")) == 1


async def test_threads_are_reread_whole_once_a_day_and_otherwise_incrementally(
    tmp_path: Path,
) -> None:
    """Replies under comments pingfan already has only show on pages an incremental walk
    does not reach: a daily full read of every thread brings them."""
    async with rig(tmp_path) as r:
        first = await r.run_pass()
        full_walk = next(s for s in first.steps if s.name == "weibo:comments").requests
        threads = len(stored(r.store, "SELECT key FROM cursors WHERE source = 'weibo:comments'"))
        cold = r.collector.config.schedule.comments_cold
        r.runtime_clock.advance(cold + 1)
        cold_visit = next(s for s in (await r.run_pass()).steps if s.name == "weibo:comments")
        r.runtime_clock.advance(cold * 12)
        daily = next(s for s in (await r.run_pass()).steps if s.name == "weibo:comments")
    # A cold visit stops at the first time-ordered page: page 1 mixes in the hot comments.
    assert cold_visit.requests <= 2 * threads
    assert daily.requests >= full_walk > cold_visit.requests, "the daily visit reads it all"


async def test_an_empty_first_comment_page_is_asked_again_at_the_next_poll(
    tmp_path: Path,
) -> None:
    async with rig(tmp_path) as r:
        r.add_fault("ok0", path="/comments/hotflow", count=1)
        await r.run_pass()
        empty = [
            row["key"]
            for row in stored(
                r.store, "SELECT key, value FROM cursors WHERE source = 'weibo:comments'"
            )
            if json.loads(row["value"]).get("count") == 0
        ]
        assert len(empty) >= 1
        due = {post_id for post_id, _ in r.collector.comment_candidates()}
        assert set(empty) <= due, "not left until comments_cold"


async def test_one_busy_thread_cannot_starve_the_others(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        for source in r.sources:
            if source.name != "weibo:comments":
                await r.runner.run(source)
        r.collector.http.pacer = Pacer(60, r.runtime_clock, burst=1)
        short = Source("weibo:comments", "weibo", 300, r.collector.collect_due_comments, budget=30)
        threads = len(r.collector.comment_candidates())
        await r.runner.run(short)
        pages: dict[str, int] = {}
        for _, path in r.server.sim.request_log:
            if path.startswith("/comments/hotflow"):
                mid = path.split("mid=")[1].split("&")[0]
                pages[mid] = pages.get(mid, 0) + 1
        assert sum(pages.values()) <= 31, "the run stopped when its time was up"
        assert len(pages) >= 30 // PAGES_PER_VISIT and len(pages) < threads
        assert max(pages.values()) <= PAGES_PER_VISIT, "a visit reads at most a few pages"
        resumed = stored(r.store, "SELECT value FROM cursors WHERE value LIKE '%resume%'")
        for row in resumed:
            assert json.loads(row["value"])["resume"]["max_id"], "the walk goes on from there"
