"""The rules on the bundled campaign (monitor/sim/scenarios/dalian-2019.toml): its negative
threads fire, calm threads do not, and the rider's video takes off.

Weibo goes through the real collector against the simulator (as in test_weibo_collector.py);
Douyin, whose collector comes in a later issue, is read straight from the simulated world at
each moment, the way a collector would store it. Comments are scored with the shipped model.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from alerts.engine import evaluate
from monitor.config import Config, config_from_dict
from monitor.models import AlertRecord, Comment, Post
from monitor.runtime.scorer import Scorer, score_pending
from monitor.sim.world import SimPost, World
from monitor.store import Store
from tests.sim_helpers import bundled_world
from tests.test_weibo_collector import rig, sim_config

TRAFFIC = "2019-08-16T21:30:00+08:00"  # 星海广场: traffic after the event (Weibo)
STAGED = "2019-09-04T20:00:00+08:00"  # the fisherman's story called staged (Douyin)
TAKEOFF = "2019-08-20T19:00:00+08:00"  # the delivery rider's own video (Douyin)


def thread(world: World, at: str) -> SimPost:
    moment = datetime.fromisoformat(at)
    return next(p for p in world.posts if p.role == "thread" and p.created_at == moment)


def negative(alerts: list[AlertRecord]) -> list[AlertRecord]:
    return [a for a in alerts if a.kind == "negative_thread"]


async def test_the_weibo_traffic_thread_fires_and_calm_threads_do_not(tmp_path: Path) -> None:
    world = bundled_world()
    target = thread(world, TRAFFIC)
    start = target.created_at - timedelta(hours=3)
    scorer = Scorer("default")
    raised: list[AlertRecord] = []
    async with rig(tmp_path, at=start) as r:
        config = sim_config(r.server, tmp_path)
        for hours in (0, 2, 2, 2, 3):  # 18:30, 20:30, 22:30, 00:30, 03:30
            if hours:
                r.advance(hours=hours)
            await r.run_pass()
            await score_pending(r.store, config, scorer)
            raised += evaluate(r.store, config, r.clock.now())
        comments = r.store.table_counts()["comments"]
    scorer.close()
    assert comments > 1000  # the whole campaign so far, calm threads included
    fired = negative(raised)
    assert fired, "the traffic thread must fire"
    assert {a.subject_id for a in fired} == {target.id}  # and nothing else
    first = fired[0]
    assert not first.title.startswith("升级")
    assert first.created_at > target.created_at
    assert len(fired) <= 1 + config.alerts.max_escalations
    evidence = first.evidence  # type: ignore[attr-defined]
    assert evidence["wilson_lower"] >= config.alerts.negative_thread.negative_share
    assert evidence["samples"] and evidence["terms"]
    assert "散场" in first.text or "堵" in first.text or "交警" in first.text


def douyin_config(tmp_path: Path) -> Config:
    return config_from_dict(
        {
            "topics": [{"name": "平凡大连人", "douyin_ch_id": "1637261535424513"}],
            "weibo": {"enabled": False},
            "alerts": {"health": {"enabled": False}},
        },
        tmp_path / "config.toml",
    )


def feed_douyin(store: Store, world: World, now: datetime, since: datetime) -> None:
    """What a Douyin collector would store at `now`: posts created since `since` with their
    counts, and their comments so far."""
    posts = [p for p in world.posts_until(now) if p.platform == "douyin" and p.created_at >= since]
    rows = []
    for sim in posts:
        author = world.account("douyin", sim.author_id)
        shown = world.comments_until(sim.id, now)
        rows.append(
            Post(
                platform="douyin",
                id=sim.id,
                author_id=sim.author_id,
                author_name=author.name if author else sim.author_id,
                text=sim.text,
                created_at=sim.created_at,
                observed_at=now,
                topics=sim.topics,
                media=sim.media,
                plays=None,  # Douyin's web API reports 0 plays: unknown
                likes=world.likes_at(sim, now),
                comments=len(shown),
                shares=world.shares_at(sim, now),
                author_kind=author.kind if author else "user",
            )
        )
        store.save_comments(
            Comment(
                platform="douyin",
                id=c.id,
                post_id=c.post_id,
                author_id=c.author_id,
                text=c.text,
                created_at=c.created_at,
                observed_at=now,
                parent_id=c.parent_id,
                likes=world.comment_likes_at(c, now),
            )
            for c in shown
        )
    store.save_posts(rows)


async def test_the_douyin_staged_thread_fires_and_the_hero_video_does_not(
    tmp_path: Path,
) -> None:
    world = bundled_world()
    target = thread(world, STAGED)
    hero = next(
        p for p in world.posts if p.platform == "douyin" and p.role == "hero" and "渔民" in p.text
    )
    scorer = Scorer("default")
    config = douyin_config(tmp_path)
    raised: list[AlertRecord] = []
    with Store.open(tmp_path / "pingfan.db") as store:
        for hours in (-1, 1, 3, 5, 8, 11):
            now = target.created_at + timedelta(hours=hours)
            feed_douyin(store, world, now, since=target.created_at - timedelta(days=3))
            await score_pending(store, config, scorer)
            raised += evaluate(store, config, now)
        assert store.table_counts()["comments"] > 300
    scorer.close()
    fired = negative(raised)
    assert {a.subject_id for a in fired} == {target.id}
    assert hero.id not in {a.subject_id for a in raised}
    assert fired[0].platform == "douyin" and "抖音" in fired[0].title


async def test_the_riders_video_takes_off_once(tmp_path: Path) -> None:
    world = bundled_world()
    target = thread(world, TAKEOFF)
    scorer = Scorer("default")
    config = douyin_config(tmp_path)
    raised: list[AlertRecord] = []
    with Store.open(tmp_path / "pingfan.db") as store:
        now = target.created_at - timedelta(hours=1)
        while now <= target.created_at + timedelta(hours=4):  # a poll every 15 minutes
            feed_douyin(store, world, now, since=target.created_at - timedelta(days=14))
            await score_pending(store, config, scorer)
            raised += evaluate(store, config, now)
            now += timedelta(minutes=15)
    scorer.close()
    trending = [a for a in raised if a.kind == "trending"]
    assert [a.subject_id for a in trending] == [target.id]
    assert trending[0].created_at <= target.created_at + timedelta(minutes=45)
    assert "热度飙升" in trending[0].title
