"""The rules on the bundled campaign (monitor/sim/scenarios/dalian-2019.toml): its negative
threads fire, calm threads do not, and the rider's video takes off.

Weibo goes through the real collector against the simulator (as in test_weibo_collector.py);
Douyin, whose collector comes in a later issue, is read straight from the simulated world at
each moment, the way a collector would store it. Comments are scored with the shipped model.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from alerts.engine import evaluate
from monitor.config import Config, config_from_dict
from monitor.models import AlertRecord
from monitor.runtime.scorer import Scorer, score_pending
from monitor.store import Store
from tests.support.alert_sim import TRAFFIC, feed_douyin, thread
from tests.support.sim import bundled_world
from tests.support.weibo import rig, sim_config

STAGED = "2019-09-04T20:00:00+08:00"  # the fisherman's story called staged (Douyin)
TAKEOFF = "2019-08-20T19:00:00+08:00"  # the delivery rider's own video (Douyin)


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
        comments = r.store.reports.table_counts()["comments"]
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
        assert store.reports.table_counts()["comments"] > 300
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
