"""The Douyin collector against the simulator (http mode with the simulator's signer, and
the Open Platform): completeness against the simulated world, incrementality, every fault."""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.app.collect import collect_once
from monitor.app.outages import health_alerts
from monitor.collectors.douyin import COMMENTS_SOURCE, POSTS_SOURCE, DouyinCollector
from monitor.config import config_from_dict
from monitor.models import Post
from monitor.runtime.circuit import Circuit, CircuitState
from monitor.runtime.clock import VirtualClock
from monitor.runtime.platforms import open_douyin
from monitor.runtime.sources import PassReport
from monitor.sim import douyin as sim_douyin
from monitor.sim.world import World
from monitor.store import Store
from tests.support.douyin import (
    BLOCK_TITLE,
    COOLDOWN,
    EXPIRED_TITLE,
    KOLS,
    OFFICIAL,
    douyin_config,
    expected_comments,
    expected_post_ids,
    rig,
)
from tests.support.sim import CH_ID, MID_CAMPAIGN, TOPIC, bundled_world, running_sim
from tests.support.transport import json_answer, mock_fetcher


def step(report: PassReport, name: str) -> Any:
    return next(s for s in report.steps if s.name == name)


# --- completeness and incrementality ------------------------------------------------------


async def test_full_pass_lands_videos_comments_views_and_snapshots(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        report = await r.run_pass()
        now = r.clock.now()
        assert all(s.status == "ok" for s in report.steps), report.summary()
        assert r.post_ids() == expected_post_ids(r.world, now)
        assert r.comments() == expected_comments(r.world, r.post_ids(), now)
        (topic,) = r.store.query("SELECT platform, topic, views, discussions FROM topic_metrics")
        curve = r.world.topic("douyin", name=TOPIC)
        assert curve is not None
        assert (topic["views"], topic["discussions"]) == r.world.topic_counts_at(curve, now)
        accounts = {row["id"]: row for row in r.store.query("SELECT * FROM accounts")}
        assert set(accounts) == {OFFICIAL, *KOLS}
        official = r.world.account("douyin", OFFICIAL)
        assert official is not None
        assert accounts[OFFICIAL]["followers"] == r.world.followers_at(official, now)
        assert accounts[OFFICIAL]["kind"] == "official"
        kinds = {row["author_kind"] for row in r.store.query("SELECT author_kind FROM posts")}
        assert kinds == {"official", "kol", "user"}
        assert r.requests() == report.requests, "every request is counted, the page loads too"


async def test_web_play_counts_are_unknown_never_zero(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await r.run_pass()
        plays = {row["plays"] for row in r.store.query("SELECT plays FROM post_metrics")}
        likes = [row["likes"] for row in r.store.query("SELECT likes FROM posts")]
    assert plays == {None}, "play_count 0 on the web API is stored as unknown"
    assert all(isinstance(n, int) for n in likes) and max(likes) > 1000


async def test_second_pass_without_news_is_cheap_and_adds_nothing(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await r.run_pass()
        counts = r.store.reports.table_counts()
        before = r.requests()
        report = await r.run_pass()
        assert r.requests() - before == report.requests
        assert all(s.requests <= 2 for s in report.steps), report.steps
        assert step(report, "douyin:comments").requests == 0, "no thread has news"
        assert step(report, "douyin:post_counts").requests == 0, "every count was read just now"
        assert r.store.reports.table_counts() == counts


async def test_later_pass_picks_up_only_what_is_new(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        await r.run_pass()
        first = r.requests()
        r.advance(days=4)
        before = r.requests()
        report = await r.run_pass()
        now = r.clock.now()
        assert all(s.status == "ok" for s in report.steps), report.summary()
        assert r.post_ids() == expected_post_ids(r.world, now)
        assert any(p.created_at > MID_CAMPAIGN for p in r.world.posts_until(now))
        assert r.comments() == expected_comments(r.world, r.post_ids(), now)
        assert r.requests() - before < first, "incremental: fewer requests than the first pass"
        series = r.store.query(
            "SELECT post_id, count(*) AS n FROM post_metrics GROUP BY post_id HAVING n > 1"
        )
        assert list(series), "per-video statistics grow a time series"


async def test_replay_of_the_whole_campaign_ends_complete(tmp_path: Path) -> None:
    """As the demo replays it: three-day steps from the launch to the end."""
    world = bundled_world()
    async with rig(tmp_path, at=world.start + timedelta(hours=12)) as r:
        while True:
            report = await r.run_pass()
            assert not report.blocked, report.summary()
            if r.clock.now() >= world.end:
                break
            r.advance(seconds=min(timedelta(days=3), world.end - r.clock.now()).total_seconds())
        assert r.post_ids() == expected_post_ids(world, world.end)
        assert r.comments() == expected_comments(world, r.post_ids(), world.end)
        latest = r.store.reports.latest_topic_readings("douyin")[0]
    assert latest["views"] == 3_183_000, "the campaign's headline figure, 318.3万 plays"


async def test_challenge_id_is_learned_from_the_uploads_tags(tmp_path: Path) -> None:
    async with rig(tmp_path, ch_id=None) as r:
        report = await r.run_pass()
        assert all(s.status == "ok" for s in report.steps), report.summary()
        assert r.store.content.cursor("douyin:ch_ids", TOPIC) == CH_ID
        assert r.post_ids() == expected_post_ids(r.world, r.clock.now())


async def test_a_challenge_id_that_cannot_be_found_is_asked_for(tmp_path: Path) -> None:
    async with running_sim(requests_per_minute=100_000) as (server, _):
        config = douyin_config(server, tmp_path, ch_id=None, accounts=False)
        with Store.open(config.storage.path) as store:
            async with open_douyin(config, store, VirtualClock(MID_CAMPAIGN), None) as runtime:
                report = await runtime.runner.run_all(list(runtime.sources))
    stats = step(report, f"douyin:topic_stats:{TOPIC}")
    assert stats.status == "failed" and stats.requests == 0
    assert "set douyin_ch_id under [[topics]]" in stats.detail
    assert not report.blocked


# --- faults -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["empty", "blocked"])
async def test_block_opens_circuit_with_one_alert_then_recovers(tmp_path: Path, kind: str) -> None:
    async with rig(tmp_path) as r:
        r.add_fault(kind, path="/aweme/v1/web/", count=None)
        report = await r.run_pass()
        assert report.blocked and r.circuit.state is CircuitState.OPEN
        blocked = [s for s in report.steps if s.status == "blocked"]
        assert len(blocked) == 1 and report.requests == 1, "the first block stops the pass"
        assert "empty body" in blocked[0].detail or "'blocked'" in blocked[0].detail
        report = await r.run_pass()  # still cooling down: nothing is sent
        assert {s.status for s in report.steps} == {"skipped"} and report.requests == 0
        assert r.alert_titles() == [BLOCK_TITLE]
        r.server.sim.faults.clear()
        r.runtime_clock.advance(COOLDOWN + 1)
        await r.run_pass()
        assert r.circuit.state is CircuitState.CLOSED
        assert r.post_ids() == expected_post_ids(r.world, r.clock.now())
        assert r.alert_titles() == [BLOCK_TITLE, "抖音采集已恢复"]


async def test_rate_limit_of_the_simulator_is_a_block(tmp_path: Path) -> None:
    async with rig(tmp_path, sim_options={"requests_per_minute": 5}) as r:
        report = await r.run_pass()
        assert report.blocked and r.alert_titles() == [BLOCK_TITLE]
        assert report.requests <= 6


@pytest.mark.parametrize(
    "path",
    ["/aweme/v1/web/challenge/aweme/", "/aweme/v1/web/aweme/post/", "/aweme/v1/web/comment/"],
)
@pytest.mark.parametrize("kind", ["has_more_empty", "repeat_cursor", "no_list"])
async def test_list_traps_end_walks_without_loops_or_alerts(
    tmp_path: Path, kind: str, path: str
) -> None:
    async with rig(tmp_path) as r:
        r.add_fault(kind, path=path, count=None)
        report = await r.run_pass()
        assert not report.blocked and r.alert_titles() == []
        assert report.requests < 900, "bounded: about what a clean pass needs"
        assert all(s.status in ("ok", "failed") for s in report.steps)
        if path.endswith("challenge/aweme/"):
            assert r.store.content.cursor(POSTS_SOURCE, f"challenge:{TOPIC}") is None, (
                "no watermark"
            )
        report = await r.run_pass()  # the trap persists: still bounded, still no alert
        assert report.requests < 900 and r.alert_titles() == []
        r.server.sim.faults.clear()
        for _ in range(2):  # a stalled thread resumes at the next run
            r.runtime_clock.advance(3600)
            await r.run_pass()
        now = r.clock.now()
        assert r.post_ids() == expected_post_ids(r.world, now)
        assert r.comments() == expected_comments(r.world, r.post_ids(), now)


async def test_a_thread_stuck_for_good_counts_as_read(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        r.add_fault("repeat_cursor", path="/aweme/v1/web/comment/list/", count=None)
        for _ in range(3):
            report = await r.run_pass()
            r.runtime_clock.advance(60)
        states = [json.loads(row["value"]) for row in r.store.query(
            "SELECT value FROM cursors WHERE source = ?", (COMMENTS_SOURCE,))]  # fmt: skip
        assert states and all("resume" not in s for s in states), "given up after 3 stalls"
        report = await r.run_pass()
        assert step(report, "douyin:comments").requests == 0


async def test_truncated_json_fails_one_source_and_keeps_the_others(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        r.add_fault("truncated", path="/aweme/v1/web/challenge/detail/", count=1)
        report = await r.run_pass()
        failed = [s for s in report.steps if s.status == "failed"]
        assert [s.name for s in failed] == [f"douyin:topic_stats:{TOPIC}"]
        assert "truncated or invalid JSON" in failed[0].detail and "url: http://127.0.0.1" in (
            failed[0].detail
        )
        assert not report.blocked and r.alert_titles() == []
        await r.run_pass()
        assert r.store.reports.table_counts()["topic_metrics"] == 1


async def test_duplicates_across_pages_leave_no_duplicate_rows(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        r.add_fault("duplicate", path="/aweme/v1/web/", count=None)
        await r.run_pass()
        ids = [row["id"] for row in r.store.query("SELECT id FROM posts")]
        assert len(ids) == len(set(ids)) and set(ids) == expected_post_ids(r.world, r.clock.now())


async def test_requests_that_time_out_are_sent_again(tmp_path: Path) -> None:
    """The simulator holds the first matching requests open for an hour, so each one times
    out on the client's 1 s timeout whatever the machine's speed, and must be sent again."""
    async with rig(tmp_path) as r:
        held_list = r.add_fault("timeout", path="/aweme/v1/web/challenge/aweme/", count=1)
        held_comments = r.add_fault("timeout", path="/aweme/v1/web/comment/list/", count=2)
        report = await r.run_pass()
        assert all(s.status == "ok" for s in report.steps), report.summary()
        assert (held_list.count, held_comments.count) == (0, 0), "every timeout met a request"
        for path, held in (
            ("/aweme/v1/web/challenge/aweme/", 1),
            ("/aweme/v1/web/comment/list/", 2),
        ):
            sent = r.requests_sent(path)
            for i in range(held):  # the first `held` requests met the fault: each went again
                assert sent[i] in sent[i + 1 :], f"{sent[i]} was not retried"
        assert r.post_ids() == expected_post_ids(r.world, r.clock.now())


async def test_removed_video_keeps_its_counts_and_is_not_asked_again(tmp_path: Path) -> None:
    world = bundled_world()
    removed = next(p for p in world.posts if p.platform == "douyin" and p.removed)
    at = removed.created_at + timedelta(hours=6)
    async with rig(tmp_path, at=at) as r:
        observed = r.clock.now() - timedelta(hours=1)
        r.store.content.save_posts([Post("douyin", removed.id, removed.author_id, "", removed.text,
                                 removed.created_at, observed, likes=7, comments=0)])  # fmt: skip
        report = await r.run_pass()
        assert step(report, "douyin:post_counts").status == "ok"
        (row,) = r.store.query("SELECT likes FROM posts WHERE id = ?", (removed.id,))
        assert row["likes"] == 7
        r.advance(hours=1)
        report = await r.run_pass()
        logged = [q for _, q in r.server.sim.request_log if removed.id in q]
        assert len(logged) == 1, "filter_detail is remembered"


@pytest.mark.parametrize(
    ("message", "status", "title"),
    [
        ("用户不存在", "failed", None),
        ("请先登录", "blocked", EXPIRED_TITLE),
        ("访问过于频繁，请稍后再试", "blocked", BLOCK_TITLE),
    ],
)
async def test_status_code_errors(
    tmp_path: Path, message: str, status: str, title: str | None
) -> None:
    from monitor.runtime.runner import PlatformRunner

    config = douyin_config(None, tmp_path)
    clock = VirtualClock(MID_CAMPAIGN)
    with Store.open(config.storage.path) as store:
        circuit = Circuit("douyin", store, clock)
        answer = json_answer({"status_code": 2053, "status_msg": message}, MID_CAMPAIGN)
        fetcher, transport = mock_fetcher(answer, clock, circuit)
        collector = DouyinCollector(config, store, fetcher, clock)
        runner = PlatformRunner(
            "douyin", store, clock, circuit, on_outage=health_alerts(store, "zh")
        )
        sources = [s for s in collector.sources() if s.name.startswith("douyin:profile:")]
        result = await runner.run(sources[0])
        titles = [a["title"] for a in store.query("SELECT title FROM alerts")]
    assert len(transport.sent) == result.requests == 1, "a status_code is not retried"
    assert result.status == status and "status_code 2053" in result.detail
    assert message in result.detail
    assert titles == ([title] if title else [])


# --- the whole command ------------------------------------------------------------------


async def test_collect_once_runs_douyin(tmp_path: Path) -> None:
    async with running_sim(requests_per_minute=100_000) as (server, clock):
        config = douyin_config(server, tmp_path)
        outcome = await collect_once(config, "douyin", clock=VirtualClock(MID_CAMPAIGN))
        with Store.open(config.storage.path) as store:
            posts = {row["id"] for row in store.query("SELECT id FROM posts")}
    assert re.match(r"douyin: (\d+) sources \(\1 ok\)", outcome.lines[0]), outcome.lines
    assert posts == expected_post_ids(bundled_world(), clock.now())


async def test_the_daemon_runs_douyin(tmp_path: Path) -> None:
    from tests.support.daemon import FAST_SCHEDULE, in_process_daemon

    async with running_sim(requests_per_minute=100_000) as (server, clock):
        config = config_from_dict(
            {
                "storage": {"path": "pingfan.db", "comment_retention_days": 0},
                "topics": [{"name": TOPIC, "douyin_ch_id": CH_ID}],
                "kols": [{"platform": "douyin", "id": k, "name": n} for k, n in KOLS.items()],
                "weibo": {"enabled": False},
                "douyin": {
                    "base_url": server.douyin_url,
                    "mode": "http",
                    "signer": "monitor.sim.douyin:sign",
                    "requests_per_minute": 60_000,
                    "burst": 5,
                    "cookie_env": "PINGFAN_TEST_NO_COOKIE",
                },
                "schedule": FAST_SCHEDULE,
                "health": {"port": 0},
            },
            tmp_path / "config.toml",
        )
        want = expected_post_ids(server.sim.world, clock.now())
        async with in_process_daemon(config):
            for _ in range(300):
                with Store.open(config.storage.path) as store:
                    got = {row["id"] for row in store.query("SELECT id FROM posts")}
                if got == want:
                    break
                await asyncio.sleep(0.1)
    assert got == want


# --- the Open Platform ------------------------------------------------------------------


@pytest.fixture
def grants(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The official account and two KOLs authorised the app; their grants in variables."""
    entries = []
    for index, sec_uid in enumerate([OFFICIAL, *list(KOLS)[:2]]):
        name = f"PINGFAN_TEST_DOUYIN_TOKEN_{index}"
        grant = f"{sim_douyin.open_id_for(sec_uid)}:{sim_douyin.access_token_for(sec_uid)}"
        monkeypatch.setenv(name, grant)
        entries.append(f"{sec_uid}={name}")
    yield entries


def granted_posts(world: World, now: datetime, authors: set[str]) -> dict[str, Any]:
    return {
        sim_douyin.open_item_id(p.id): p
        for p in world.posts_until(now)
        if p.platform == "douyin" and p.author_id in authors and not p.removed
    }


async def test_open_platform_gives_real_plays_comments_and_fans(
    tmp_path: Path, grants: list[str]
) -> None:
    authors = {OFFICIAL, *list(KOLS)[:2]}
    async with rig(tmp_path, mode="open_platform", open_platform_token_envs=grants) as r:
        report = await r.run_pass()
        now = r.clock.now()
        assert all(s.status == "ok" for s in report.steps), report.summary()
        want = granted_posts(r.world, now, authors)
        rows = {row["id"]: row for row in r.store.query("SELECT * FROM posts")}
        assert set(rows) == set(want)
        for item_id, post in want.items():
            if now - post.created_at > timedelta(days=30):  # test_douyin_open_refresh.py
                assert rows[item_id]["plays"] is None and rows[item_id]["counts_no_longer_reported"]
            else:
                assert rows[item_id]["plays"] == sim_douyin.plays_at(post, now) > 0
            assert rows[item_id]["author_id"] == post.author_id
        comments = r.comments()
        assert len(comments) == sum(len(r.world.comments_until(p.id, now)) for p in want.values())
        assert any(parent for parent in comments.values()), "replies keep their parent"
        fans = {row["id"]: row["followers"] for row in r.store.query("SELECT * FROM accounts")}
        assert set(fans) == authors and all(n > 0 for n in fans.values())
        counts = r.store.reports.table_counts()
        report = await r.run_pass()
        assert r.store.reports.table_counts() == counts, "a second pass adds nothing"
        assert step(report, "douyin:open_comments").requests == 0
        wakes = {s.name.split(":")[1]: s.wakes for s in r.runtime.sources}
        assert wakes["open_videos"] == ("douyin:open_comments",), "new videos are read at once"
        assert wakes["open_fans"] == wakes["open_comments"] == ()


async def test_open_platform_expired_token_is_one_alert(tmp_path: Path, grants: list[str]) -> None:
    async with rig(tmp_path, mode="open_platform", open_platform_token_envs=grants) as r:
        r.server.sim.expired_open_tokens.add(sim_douyin.access_token_for(OFFICIAL))
        report = await r.run_pass()
        assert report.blocked and r.circuit.state is CircuitState.OPEN
        (blocked,) = [s for s in report.steps if s.status == "blocked"]
        assert "28001008" in blocked.detail and "authorise the app again" in blocked.detail
        assert r.alert_titles() == [EXPIRED_TITLE]
        assert sim_douyin.access_token_for(OFFICIAL) not in blocked.detail


@pytest.mark.parametrize("kind", ["has_more_empty", "repeat_cursor"])
async def test_open_platform_list_traps_end_walks(
    tmp_path: Path, grants: list[str], kind: str
) -> None:
    async with rig(tmp_path, mode="open_platform", open_platform_token_envs=grants) as r:
        r.add_fault(kind, count=None)
        report = await r.run_pass()
        assert not report.blocked and report.requests < 400
        r.server.sim.faults.clear()
        for _ in range(2):
            r.runtime_clock.advance(3600)
            await r.run_pass()
        want = granted_posts(r.world, r.clock.now(), {OFFICIAL, *list(KOLS)[:2]})
        assert r.post_ids() == set(want)


def test_open_platform_grants_are_checked(tmp_path: Path) -> None:
    from monitor.collectors.douyin_open import read_grants
    from monitor.errors import ConfigError

    with pytest.raises(ConfigError, match="sec_user_id=ENV_NAME"):
        read_grants(("MS4wLjABAAAAx",), {})
    with pytest.raises(ConfigError, match=r"\$PF_T .*open_id:access_token"):
        read_grants(("MS4wLjABAAAAx=PF_T",), {"PF_T": "no-colon-here"})
    (grant,) = read_grants(("MS4wLjABAAAAx = PF_T",), {"PF_T": "oid:act.secret"})
    assert (grant.sec_uid, grant.open_id, grant.token) == ("MS4wLjABAAAAx", "oid", "act.secret")
    assert "act.secret" not in repr(grant)
    assert os.environ.get("PF_T") is None


async def test_http_mode_without_a_signer_is_refused_and_says_so(tmp_path: Path) -> None:
    async with rig(tmp_path, signer="") as r:
        report = await r.run_pass()
        (blocked,) = [s for s in report.steps if s.status == "blocked"]
        # an empty body, or the signature gateway's 403 on the endpoints behind it
        refused = ("empty body", "Signature Not Found")
        assert any(word in blocked.detail for word in refused)
        assert r.alert_titles() == [BLOCK_TITLE]


def test_a_signer_that_cannot_be_imported_names_the_key() -> None:
    from monitor.collectors.douyin_client import load_signer
    from monitor.errors import ConfigError

    assert load_signer("") is None
    assert load_signer("monitor.sim.douyin:sign") is sim_douyin.sign
    with pytest.raises(ConfigError, match=r"'douyin\.signer'"):
        load_signer("no_such_module:sign")
    with pytest.raises(ConfigError, match=r"'douyin\.signer'"):
        load_signer("monitor.sim.douyin:DEFAULT_COUNT")
