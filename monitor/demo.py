"""`pingfan demo`: the embedded default, runnable on a fresh machine with no config at all.

It starts the simulator with the bundled dalian-2019 campaign, points an embedded config at
it, and replays the campaign in steps of simulated time: at every step a real Weibo pass
(HTTP, parsers, SQLite) and the NLP step run, and a line says what arrived. At the end it
prints and writes (DIR/summary.md) what the team would want to know.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from monitor.collect import collect_pass
from monitor.config import Config, config_from_dict
from monitor.models import from_iso
from monitor.runtime.clock import FollowClock
from monitor.runtime.scorer import Scorer, score_pending
from monitor.sim.app import SimServer, Simulator
from monitor.sim.clock import ManualClock
from monitor.sim.world import load_world
from monitor.store import Store
from nlp.dedup import Message, suspected_coordination
from nlp.segment import keywords
from nlp.ugc import detect_nomination

log = logging.getLogger(__name__)
STEP = timedelta(days=3)
SHANGHAI = ZoneInfo("Asia/Shanghai")


BROWSE_CONFIG = """# Written by `pingfan demo`: the demo database, for `export` and `status`.
[storage]
path = "pingfan-demo.db"
comment_retention_days = 0

[weibo]
enabled = false

[douyin]
enabled = false
"""


def demo_config(sim: SimServer, out_dir: Path) -> Config:
    return config_from_dict(
        {
            "storage": {"path": "pingfan-demo.db", "comment_retention_days": 0},
            "topics": [{"name": "平凡大连人", "douyin_ch_id": "1637261535424513"}],
            "kols": [{"platform": "weibo", "id": "1000000001", "name": "大连身边事"}],
            "official": {"weibo": ["1000000000"]},
            "weibo": {
                "base_url": sim.weibo_url,
                "topic_base_url": sim.weibo_topic_url,
                "cookie_env": "PINGFAN_DEMO_NO_COOKIE",
                "requests_per_minute": 100_000,  # our own simulator, on loopback
            },
            "douyin": {"enabled": False},
            "sinks": [{"type": "console"}],
        },
        out_dir / "demo-config.toml",
    )


def run_demo(out: str | None) -> int:
    out_dir = Path(out) if out else Path(tempfile.mkdtemp(prefix="pingfan-demo-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    db = out_dir / "pingfan-demo.db"
    for stale in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        stale.unlink(missing_ok=True)  # every demo is a fresh replay
    logging.getLogger("monitor.collectors.weibo").setLevel(logging.WARNING)
    summary = asyncio.run(_replay(out_dir))
    (out_dir / "summary.md").write_text(summary, encoding="utf-8")
    # A config for the demo database, so that export and status work on it afterwards.
    browse = out_dir / "demo-config.toml"
    browse.write_text(BROWSE_CONFIG, encoding="utf-8")
    print(summary)
    print(f"数据库与摘要: {out_dir}")
    print(
        f"查看数据: pingfan --config {browse} export posts   |   pingfan --config {browse} status"
    )
    return 0


async def _replay(out_dir: Path) -> str:
    world = load_world()
    clock = ManualClock(world.start + timedelta(hours=12))
    async with SimServer(Simulator(world, clock, requests_per_minute=1_000_000)) as sim:
        config = demo_config(sim, out_dir)
        print(
            f"pingfan demo: 回放 {world.name}（{world.start:%Y-%m-%d} 至 {world.end:%Y-%m-%d}），"
            f"每步 {STEP.days} 天；模拟器 {sim.weibo_url}"
        )
        scorer = Scorer(config.nlp.model)
        runtime_clock = FollowClock(clock.now)
        with Store.open(config.storage.path) as store:
            while True:
                before = store.table_counts()
                reports = await collect_pass(config, store, runtime_clock)
                await score_pending(store, config, scorer)
                blocked = any(report.blocked for report in reports)
                print(_progress_line(store, before, blocked, clock.now()))
                if clock.now() >= world.end:
                    break
                clock.set(min(clock.now() + STEP, world.end))
            return _summary(store)


def _progress_line(store: Store, before: dict[str, int], blocked: bool, now: datetime) -> str:
    after = store.table_counts()
    readings = store.latest_topic_readings("weibo")
    reads = readings[0]["views"] if readings else None
    negative = store.negative_share()
    new_posts = after["posts"] - before["posts"]
    new_comments = after["comments"] - before["comments"]
    line = (
        f"{now:%m-%d}  微博 +{new_posts} 帖  +{new_comments} 评论  "
        f"话题阅读 {reads or 0:,}  负面评论占比 {(negative or 0):.0%}"
    )
    return line + ("  ⚠ 平台拦截，已暂停并告警" if blocked else "")


def _summary(store: Store) -> str:
    counts = store.table_counts()
    lines = ["# pingfan demo: #平凡大连人 (微博)", ""]
    readings = store.latest_topic_readings("weibo")
    latest = readings[0] if readings else None
    if latest:
        lines.append(f"- 话题阅读 {latest['views']:,}，讨论 {latest['discussions']:,}")
    lines.append(
        f"- 帖子 {counts['posts']}，评论 {counts['comments']}，互动曲线点 {counts['post_metrics']}"
    )
    labels = store.label_counts()
    total = sum(labels.values()) or 1
    lines.append(
        "- 评论情绪：正面 {:.0%}，中性 {:.0%}，负面 {:.0%}".format(
            labels.get("positive", 0) / total,
            labels.get("neutral", 0) / total,
            labels.get("negative", 0) / total,
        )
    )
    lines += ["", "## 最负面的讨论（至少 20 条评论）"]
    for thread in store.most_negative_threads(min_comments=20, limit=3):
        texts = store.comment_texts(thread["platform"], thread["id"])
        words = "、".join(w for w, _ in keywords(texts, top_k=4))
        lines.append(
            f"- 负面 {thread['share']:.0%} / {thread['n']} 条评论："
            f"{thread['text'][:40]}（关键词：{words}）"
        )
    lines += ["", "## 值得感谢或转发的 UGC"]
    for post in store.top_ugc(limit=5):
        nomination = detect_nomination(post["text"])
        tag = f"［推荐：{nomination.person or nomination.role}］" if nomination else ""
        lines.append(f"- {post['ugc_score']:.2f} @{post['author_name']}：{post['text'][:50]}{tag}")
    messages = [
        Message(r["id"], r["author_id"], r["text"], from_iso(r["created_at"]))
        for r in store.comments_for_dedup()
    ]
    suspects = suspected_coordination(messages)
    lines += ["", "## 疑似协同刷评（线索，非结论）"]
    for suspect in suspects[:3]:
        lines.append(
            f"- {len(suspect.authors)} 个账号在 {suspect.first_at.astimezone(SHANGHAI):%m-%d %H:%M}"
            f" 前后发布近似内容：{suspect.sample[:30]}"
        )
    if not suspects:
        lines.append("- 无")
    lines += ["", f"(表内行数: {json.dumps(counts)})"]
    return "\n".join(lines) + "\n"
