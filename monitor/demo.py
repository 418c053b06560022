"""`pingfan demo`: the embedded default, runnable on a fresh machine with no config at all.

It starts the simulator with the bundled dalian-2019 campaign and runs the real daemon
(`pingfan run`: every source on its schedule, the scorer, the alert rules, the dispatcher)
against it on one simulated clock that waits for the work (`SimulatedClock`): time jumps to
the next scheduled moment only when nothing is in flight, so the same scenario gives the same
requests, rows and alerts on any machine, idle or busy. It runs with a temporary config: an SQLite
file, the console and JSONL sinks, and Telegram too when `PINGFAN_TELEGRAM_TOKEN` and
`PINGFAN_TELEGRAM_CHAT` are set. A live view shows the simulated date, requests, posts,
comments, the two topics against the campaign's published figures, the sentiment split
beside the scenario's truth, and alerts as they fire. At the end: a summary and the digest
of the campaign's busiest week in DIR, and how to browse the database.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import random
import signal
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.live import Live
from rich.table import Table

from alerts.digest import digest_command
from monitor.app.run import build_daemon
from monitor.config import Config, config_from_dict
from monitor.models import from_iso
from monitor.runlock import AlreadyRunning, RunLock
from monitor.runtime.clock import SimulatedClock
from monitor.runtime.daemon import Daemon, DaemonOptions
from monitor.sim.app import SimServer, Simulator
from monitor.sim.clock import Elapsed, FollowingClock
from monitor.sim.world import World, load_world
from monitor.store import Store
from nlp.dedup import Message, suspected_coordination
from nlp.search_tokens import jieba_search_tokens
from nlp.segment import keywords
from nlp.sentiment import Label, model_summary
from nlp.shares import Shares, comment_shares, format_share
from nlp.ugc import select_ugc

log = logging.getLogger(__name__)
SHANGHAI = ZoneInfo("Asia/Shanghai")
TELEGRAM_TOKEN_ENV = "PINGFAN_TELEGRAM_TOKEN"
TELEGRAM_CHAT_ENV = "PINGFAN_TELEGRAM_CHAT"
TOPIC = "平凡大连人"

# In simulated time. Requests cost no simulated time, but each costs real time: the demo polls
# less often than a live deployment would (5m/2h/48h), so that the whole campaign replays in
# a couple of minutes on a 2-core machine.
DEMO_SCHEDULE = {
    "topic_posts": "4h",
    "topic_stats": "8h",
    "kol_posts": "8h",
    "profiles": "2d",
    "comments_hot": "6h",
    "comments_cold": "2d",
    "hot_window": "24h",
}

BROWSE_CONFIG = """# Written by `pingfan demo`: the demo database, for `export` and `status`.
[campaign]
id = "平凡大连人"  # the demo's campaign (its first topic's name), whose rows these commands read

[storage]
path = "pingfan-demo.db"
comment_retention_days = 0

[weibo]
enabled = false

[douyin]
enabled = false
"""


@dataclass(frozen=True)
class DemoOptions:
    out: Path | None = None
    until: datetime | None = None  # stop at this simulated moment (default: the end)


def parse_until(text: str) -> datetime:
    """`--until 2019-08-20` (Asia/Shanghai when no offset is given) within the campaign."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as err:
        raise ValueError(
            f"--until {text!r} is not a date; use e.g. 2019-08-20 or 2019-08-20T12:00"
        ) from err
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SHANGHAI)
    world = load_world()
    if not world.start < moment:
        raise ValueError(
            f"--until {text!r} is before the campaign starts ({world.start:%Y-%m-%d}); "
            "give a later date"
        )
    return moment


def demo_config(sim: SimUrls, world: World, out_dir: Path) -> Config:
    kols = [a for a in world.accounts.values() if a.kind == "kol"]
    officials = [a for a in world.accounts.values() if a.kind == "official"]
    douyin_topic = world.topic("douyin", name=TOPIC)
    sinks: list[dict[str, Any]] = [
        {"type": "console", "brief": True},  # one line per alert; full texts in alerts.jsonl
        {"type": "jsonl", "path": "alerts.jsonl"},
    ]
    chat = os.environ.get(TELEGRAM_CHAT_ENV, "").strip()
    if os.environ.get(TELEGRAM_TOKEN_ENV) and chat.lstrip("-").isdigit():
        sinks.append({"type": "telegram", "token_env": TELEGRAM_TOKEN_ENV, "chat_ids": [int(chat)]})
    return config_from_dict(
        {
            "storage": {"path": "pingfan-demo.db", "comment_retention_days": 0},
            "topics": [
                {"name": TOPIC, "douyin_ch_id": douyin_topic.ch_id if douyin_topic else None}
            ],
            "kols": [{"platform": a.platform, "id": a.id, "name": a.name} for a in kols],
            "official": {
                platform: [a.id for a in officials if a.platform == platform]
                for platform in ("weibo", "douyin")
            },
            "weibo": {
                "base_url": sim.weibo_url,
                "topic_base_url": sim.weibo_topic_url,
                "cookie_env": "PINGFAN_DEMO_NO_COOKIE",
            },
            "douyin": {
                "mode": "http",
                "base_url": sim.douyin_url,
                "cookie_env": "PINGFAN_DEMO_NO_COOKIE",
                "signer": "monitor.sim.douyin:sign",
            },
            "schedule": DEMO_SCHEDULE,
            # The demo polls topics every 2 h (DEMO_SCHEDULE): stale is a whole day without
            # data. A live deployment keeps the default (2h).
            "alerts": {"health": {"stale_after": "1d"}},
            "health": {"port": 0},
            "sinks": sinks,
        },
        out_dir / "demo-config.toml",
    )


def run_demo(options: DemoOptions) -> int:
    out_dir = options.out or Path(tempfile.mkdtemp(prefix="pingfan-demo-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        # One demo per directory: a second one would delete the files of the first.
        with RunLock(out_dir / "pingfan-demo"):
            return _demo_in(out_dir, options)
    except AlreadyRunning as err:
        raise AlreadyRunning(out_dir, err.pid) from None


def _demo_in(out_dir: Path, options: DemoOptions) -> int:
    for stale in ("pingfan-demo.db", "pingfan-demo.db-wal", "pingfan-demo.db-shm", "alerts.jsonl"):
        (out_dir / stale).unlink(missing_ok=True)  # every demo is a fresh replay
    for name in ("monitor", "alerts", "aiohttp.access"):
        logging.getLogger(name).setLevel(logging.WARNING)
    started = time.monotonic()
    summary, loop_lag = asyncio.run(_replay(out_dir, options))
    # The summary is the scenario's, the same on any machine; the wall time is this machine's.
    (out_dir / "summary.md").write_text(summary, encoding="utf-8")
    browse = out_dir / "demo-config.toml"
    browse.write_text(BROWSE_CONFIG, encoding="utf-8")
    print(summary)
    took = time.monotonic() - started
    print(f"(回放用时 {took:.0f} 秒；事件循环最长停顿 {loop_lag * 1000:.0f} ms)")
    print(f"数据库、告警与摘要: {out_dir}")
    print(
        f"查看数据: pingfan --config {browse} export posts   |   pingfan --config {browse} status"
    )
    return 0


@dataclass(frozen=True)
class SimUrls:
    weibo_url: str
    weibo_topic_url: str
    douyin_url: str


def _serve_simulator(start: datetime, elapsed: Elapsed, urls: Any, stop: Any) -> None:
    """The simulator in a process of its own, reading the demo's simulated time from shared
    memory: its work runs beside the daemon's on the second core. The terminal's Ctrl-C is the
    demo's to handle: it sets `stop` once the daemon has finished."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    async def serve() -> None:
        world = load_world()
        clock = FollowingClock(start, elapsed)
        async with SimServer(Simulator(world, clock, requests_per_minute=10**9)) as sim:
            urls.put(SimUrls(sim.weibo_url, sim.weibo_topic_url, sim.douyin_url))
            while not stop.is_set():
                await asyncio.sleep(0.2)

    asyncio.run(serve())


async def _replay(out_dir: Path, options: DemoOptions) -> tuple[str, float]:
    """The summary, and the event loop's longest stall in seconds."""
    world = load_world()
    until = min(options.until or world.end, world.end)
    context = multiprocessing.get_context("spawn")
    elapsed = context.Value("d", 0.0, lock=False)  # the simulated clock, shared with the sim
    # One clock for the platforms and for pingfan, seeded by the scenario: its jitter (and
    # the retries' jitter, which takes Python's shared generator) is the same every run.
    clock = SimulatedClock(world.start, seed=world.seed, elapsed=elapsed)
    random.seed(world.seed)
    urls, stop = context.Queue(), context.Event()
    simulator = context.Process(
        target=_serve_simulator,
        args=(world.start, elapsed, urls, stop),
        name="pingfan-demo-simulator",
        daemon=True,
    )
    simulator.start()
    try:
        sim = await asyncio.to_thread(urls.get, True, 60)
        async with clock:
            return await _run_daemon(out_dir, world, sim, clock, until)
    finally:
        stop.set()
        simulator.join(timeout=5)
        if simulator.is_alive():
            simulator.terminate()


async def _run_daemon(
    out_dir: Path, world: World, sim: SimUrls, clock: SimulatedClock, until: datetime
) -> tuple[str, float]:
    config = demo_config(sim, world, out_dir)
    # Scoring rounds at the pace of the demo's hour-long polls: a round every idle minute, an
    # outbox check every 30 s and a round per source would be most of the replay's work.
    options = DaemonOptions(
        health_port=0, grace=5, idle_round=3600.0, idle_dispatch=600.0, settle=300.0
    )
    daemon = build_daemon(config, clock=clock, options=options)
    print(
        f"pingfan demo: {world.name}（{world.start:%Y-%m-%d} 至 {world.end:%Y-%m-%d}），"
        f"模拟时间（等待计算完成再前进）；模拟器 {sim.weibo_url} / {sim.douyin_url}",
        flush=True,
    )
    running = asyncio.create_task(daemon.run())
    ready = asyncio.create_task(daemon.ready.wait())
    await asyncio.wait({running, ready}, return_when=asyncio.FIRST_COMPLETED)
    if running.done():
        running.result()  # the daemon could not start: its error, as pingfan says it
    print(f"健康检查: http://127.0.0.1:{daemon.health_port}/healthz  （回放期间）", flush=True)
    interrupted = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        if interrupted.is_set():
            os._exit(130)  # a second Ctrl-C: at once (SQLite's journal keeps the file whole)
        print("\n中断：停止回放，汇总已收集的数据（再按一次 Ctrl-C 立即退出）", flush=True)
        interrupted.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal)
    try:
        await _watch(daemon, world, clock, until, Console(), interrupted)
        daemon.request_stop()
        await running
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    if interrupted.is_set():
        until = min(until, clock.now())
    with Store.for_config(config, search_tokens=jieba_search_tokens) as store:
        summary = _summary(store, world, config, until)
        week = _busiest_week(store)
    if week:
        print(f"\n最忙的一周 {week} 的周报：", flush=True)
        digest_command(config, week=week, out=out_dir, send=False, now=until, charts_apart=True)
    return summary, daemon.max_loop_lag


def _busiest_week(store: Store) -> str | None:
    """The ISO week with the most comments, e.g. "2019-W33"."""
    weeks: dict[str, int] = {}
    for day, count in store.reports.comments_per_day().items():
        year, week, _ = date.fromisoformat(day).isocalendar()
        key = f"{year}-W{week:02d}"
        weeks[key] = weeks.get(key, 0) + count
    return max(weeks, key=lambda key: (weeks[key], key)) if weeks else None


@dataclass(frozen=True)
class ScriptedThread:
    """A thread the scenario scripts to turn negative or to take off, and pingfan's answer."""

    post_id: str
    platform: str
    text: str
    kind: str  # "negative_thread" | "trending"
    turned_at: datetime  # when there was enough to see it: min_comments, or its first hour
    alerted_at: datetime | None


def scripted_threads(
    store: Store, world: World, config: Config, until: datetime
) -> list[ScriptedThread]:
    """The scenario's threads up to `until`, each with the first alert pingfan raised on it."""
    found = []
    for post in world.posts_until(until):
        if post.role != "thread":
            continue
        negative = world.truth_split(post_id=post.id).get("negative", 0.0) > 0.5
        kind = "negative_thread" if negative else "trending"
        comments = sorted(c.created_at for c in world.comments.get(post.id, []))
        enough = config.alerts.negative_thread.min_comments
        if negative and len(comments) >= enough:
            turned = comments[enough - 1]
        else:
            turned = post.created_at + timedelta(hours=1)
        alerts = [a for a in store.reports.alerts_of_kind(kind) if a["subject_id"] == post.id]
        alerted = from_iso(alerts[0]["created_at"]) if alerts else None
        found.append(ScriptedThread(post.id, post.platform, post.text, kind, turned, alerted))
    return found


LIVE_STEP = timedelta(hours=6)  # simulated time between two refreshes of the live view


async def _watch(
    daemon: Daemon,
    world: World,
    clock: SimulatedClock,
    until: datetime,
    console: Console,
    interrupted: asyncio.Event,
) -> None:
    """Until `until` (or Ctrl-C): a live view on a terminal, a line per simulated week
    elsewhere. It waits on the simulated clock, so it never makes the replay skip ahead."""
    store = daemon.store
    assert store is not None

    async def until_next(moment: datetime) -> None:
        await clock.wait(interrupted, (min(moment, until) - clock.now()).total_seconds())

    if console.is_terminal:
        with Live(console=console, refresh_per_second=4, redirect_stdout=True) as live:
            while clock.now() < until and not interrupted.is_set():
                live.update(_progress_table(_snapshot(daemon, store, world, clock.now())))
                await until_next(clock.now() + LIVE_STEP)
        return
    next_line = world.start + timedelta(days=7)
    while clock.now() < until and not interrupted.is_set():
        await until_next(next_line)
        if clock.now() >= next_line:
            print(_progress_line(_snapshot(daemon, store, world, clock.now())), flush=True)
            next_line += timedelta(days=7)


@dataclass(frozen=True)
class Snapshot:
    now: datetime
    requests: int
    counts: dict[str, int]
    weibo_reads: int | None
    douyin_views: int | None
    split: dict[str | None, int]
    truth: Mapping[str, float]
    shares: Shares | None = None  # mean calibrated probabilities, 90% interval


def _snapshot(daemon: Daemon, store: Store, world: World, now: datetime) -> Snapshot:
    readings = {r["platform"]: r["views"] for r in store.reports.latest_topic_readings()}
    registry = daemon.metrics.registry
    requests = sum(
        registry.get_sample_value("pingfan_requests_total", {"platform": p}) or 0
        for p in ("weibo", "douyin")
    )
    return Snapshot(
        now=now,
        requests=int(requests),
        counts=store.reports.table_counts(),
        weibo_reads=readings.get("weibo"),
        douyin_views=readings.get("douyin"),
        split=store.reports.label_counts(),
        truth=dict(world.truth_split(until=now).items()),
        shares=comment_shares(store.reports.comment_probabilities(), _model_metrics(daemon.config)),
    )


_NAMES: dict[Label, str] = {"positive": "正面", "neutral": "中性", "negative": "负面"}


def _model_metrics(config: Config) -> dict[str, float]:
    # the header's metrics: the demo's own process holds no model (its worker scores)
    return model_summary(config.nlp.model).metrics


def _split_text(snapshot: Snapshot) -> str:
    if snapshot.shares is None:
        return "—"
    return "  ".join(
        f"{format_share(_NAMES[share.label], share)}"
        f"[剧本 {snapshot.truth.get(share.label, 0.0):.0%}]"
        for share in snapshot.shares
    )


def _reach(value: int | None, mark: int) -> str:
    return f"{value or 0:,} / {mark:,}"


def _marks(world: World) -> tuple[int, int]:
    weibo = world.topic("weibo", name=TOPIC)
    douyin = world.topic("douyin", name=TOPIC)
    return (weibo.final_views if weibo else 0, douyin.final_views if douyin else 0)


def _progress_table(snapshot: Snapshot) -> Table:
    table = Table(title="pingfan demo · #平凡大连人", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("模拟时间", snapshot.now.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M"))
    table.add_row("请求", f"{snapshot.requests:,}")
    table.add_row("帖子 / 评论", f"{snapshot.counts['posts']:,} / {snapshot.counts['comments']:,}")
    table.add_row("抖音话题播放", f"{snapshot.douyin_views or 0:,}")
    table.add_row("微博话题阅读", f"{snapshot.weibo_reads or 0:,}")
    table.add_row("评论情绪", _split_text(snapshot))
    table.add_row("告警", f"{snapshot.counts['alerts']:,}")
    return table


def _progress_line(snapshot: Snapshot) -> str:
    return (
        f"{snapshot.now.astimezone(SHANGHAI):%m-%d}  请求 {snapshot.requests:,}  "
        f"帖子 {snapshot.counts['posts']:,}  评论 {snapshot.counts['comments']:,}  "
        f"抖音播放 {snapshot.douyin_views or 0:,}  微博阅读 {snapshot.weibo_reads or 0:,}  "
        f"告警 {snapshot.counts['alerts']:,}  {_split_text(snapshot)}"
    )


def _summary(store: Store, world: World, config: Config, until: datetime) -> str:
    counts = store.reports.table_counts()
    weibo_mark, douyin_mark = _marks(world)
    readings = {r["platform"]: r for r in store.reports.latest_topic_readings()}
    lines = ["# pingfan demo: #平凡大连人", ""]
    lines.append(
        f"- 抖音话题播放 {_reach(readings.get('douyin', {}).get('views'), douyin_mark)}，"
        f"微博话题阅读 {_reach(readings.get('weibo', {}).get('views'), weibo_mark)}"
    )
    lines.append(
        f"- 帖子 {counts['posts']}，评论 {counts['comments']}，互动曲线点 {counts['post_metrics']}"
    )
    stored_ids = [r["id"] for r in store.reports.comments_for_dedup()]
    truth: Mapping[str, float] = dict(world.truth_split(comment_ids=stored_ids).items())
    shares = comment_shares(store.reports.comment_probabilities(), _model_metrics(config))
    gaps = [abs(s.estimate - truth.get(s.label, 0.0)) for s in shares] if shares else [0.0]
    lines.append(
        "- 评论情绪（校准概率的均值与按评论构成的调整各半，90% 区间；剧本为真值）：" + "，".join(
            f"{format_share(_NAMES[s.label], s)}[剧本 {truth.get(s.label, 0.0):.0%}]"
            for s in shares
        ) + f"；与剧本最多相差 {max(gaps) * 100:.1f} 个百分点" if shares else "- 评论情绪：—"
    )  # fmt: skip
    kinds = store.reports.alert_kinds()
    lines.append(
        "- 告警：" + ("，".join(f"{kind} {n}" for kind, n in kinds.items()) if kinds else "无")
    )
    lines += ["", "## 剧本中的热点与负面讨论：告警及其延迟（模拟时间）"]
    poll = config.schedule.comments_hot
    threads = scripted_threads(store, world, config, until)
    if not threads:
        lines.append("- 无（回放在剧本的第一个热点之前结束）")
    for thread in threads:
        name = "负面舆情" if thread.kind == "negative_thread" else "热度飙升"
        if thread.alerted_at is None:
            answer = "未告警"
        else:
            late = max((thread.alerted_at - thread.turned_at).total_seconds(), 0.0)
            answer = f"{late / 3600:.1f} 小时后告警（{late / poll:.1f} 个轮询周期）"
        lines.append(f"- {name}：{thread.text[:30]} → {answer}")
    lines += ["", "## 合作 KOL"]
    kols = [(k.platform, k.id) for k in config.kols]
    names: dict[tuple[str, str], str] = {(k.platform, k.id): k.name for k in config.kols}
    for row in store.team.kol_table(kols, since=world.start, now=until):
        plays = f"{row.plays:,}" if row.plays is not None else "未知"
        rate = f"{row.engagement_rate:.2%}" if row.engagement_rate is not None else "—"
        growth = f"{row.follower_growth:+,}" if row.follower_growth is not None else "—"
        name = names[(row.platform, row.id)]
        lines.append(
            f"- {name}（{row.platform}）：发布 {row.uploads}，播放 {plays}，赞 {row.likes:,}，"
            f"评论 {row.comments:,}，互动率 {rate}，粉丝 {growth}"
        )
    lines += ["", "## 最负面的讨论（至少 20 条评论）"]
    worst_threads = store.reports.most_negative_threads(min_comments=20, limit=3)
    if not worst_threads:
        lines.append("- 无")
    for worst in worst_threads:
        texts = store.reports.comment_texts(worst["platform"], worst["id"])
        words = "、".join(w for w, _ in keywords(texts, top_k=4))
        lines.append(
            f"- 负面 {worst['share']:.0%} / {worst['n']} 条评论："
            f"{worst['text'][:40]}（关键词：{words}）"
        )
    lines += ["", "## 值得感谢或转发的 UGC"]
    # Worth it by the UGC rule's own bar: its score, or a nomination.
    ugc = select_ugc(
        ((row, row["text"], row["ugc_score"]) for row in store.reports.top_ugc(limit=50)),
        min_score=config.alerts.ugc.min_score,
        limit=5,
        order="score",
    )
    for pick in ugc.shown:
        post, nomination = pick.item, pick.nomination
        tag = f"［推荐：{nomination.person or nomination.role}］" if nomination else ""
        lines.append(f"- {post['ugc_score']:.2f} @{post['author_name']}：{post['text'][:50]}{tag}")
    if not ugc.shown:
        lines.append("- 无")
    messages = [
        Message(r["id"], r["author_id"], r["text"], from_iso(r["created_at"]))
        for r in store.reports.comments_for_dedup()
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
    return "\n".join(lines) + "\n"
