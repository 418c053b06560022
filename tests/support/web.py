"""A filled store and a running console for the web console's tests, written through the
store's own write path (save_posts, save_comments, set_comment_scores, enqueue_alert...)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alerts.web import accounts
from alerts.web.app import build_app
from monitor.config import Config, load_config
from monitor.models import Account, TopicStats
from monitor.store import Store
from nlp.search_tokens import jieba_search_tokens
from tests.support.alerts import alert
from tests.support.factories import comment, post

NOW = datetime(2019, 7, 20, 4, 0, tzinfo=UTC)  # 12:00 in Dalian
START = NOW - timedelta(days=12)
PASSWORDS = {"ed": "editor-password", "vic": "viewer-password"}
MARKUP = '<img src=x onerror="window.pwned=1"><b>粗体</b>刘阿姨&amp;'
FINDABLE = "老虎滩海洋公园的海豚真可爱"
KOL_ID = "1000000001"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run"]


def console_config(tmp_path: Path, language: str = "zh", **web: Any) -> Config:
    """The config, written to tmp_path/config.toml too (`pingfan export` reads it)."""
    settings = "".join(f"{key} = {json.dumps(value)}\n" for key, value in web.items())
    source = tmp_path / "config.toml"
    source.write_text(
        f'[ui]\nlanguage = "{language}"\n'
        f'[storage]\npath = "{tmp_path / "pingfan.db"}"\n'
        '[[topics]]\nname = "平凡大连人"\n'
        f'[[kols]]\nplatform = "weibo"\nid = "{KOL_ID}"\nname = "大连身边事"\n'
        f'[digest]\nout_dir = "{tmp_path / "digests"}"\n'
        f"[web]\nport = 0\n{settings}",
        encoding="utf-8",
    )
    return load_config(source)


def fill(store: Store) -> None:
    """Two weeks of a small campaign on both platforms."""
    posts, comments, scores = [], [], []
    for day in range(12):
        at = START + timedelta(days=day, hours=2)
        platform = "weibo" if day % 2 else "douyin"
        author = KOL_ID if day % 4 == 1 else f"20000000{day:02d}"
        posts.append(
            post(
                f"P{day}",
                platform=platform,
                author_id=author,
                author_name="大连身边事" if author == KOL_ID else f"网友{day}",
                author_kind="kol" if author == KOL_ID else "user",
                text=f"第{day}天：推荐我们小区的环卫工人刘阿姨 #平凡大连人#",
                created_at=at,
                observed_at=at + timedelta(minutes=5),
                url=f"https://m.weibo.cn/detail/P{day}",
                plays=1000 * day if platform == "douyin" else None,
                likes=10 * day,
            )
        )
        for n in range(3 + day):
            cid = f"C{day}-{n}"
            text = FINDABLE if (day, n) == (3, 1) else f"第{day}天的第{n}条评论，大连加油"
            if (day, n) == (5, 0):
                text = MARKUP
            comments.append(
                comment(
                    cid,
                    platform=platform,
                    post_id=f"P{day}",
                    author_id=f"3000{day:02d}{n:02d}",
                    text=text,
                    created_at=at + timedelta(minutes=10 + n),
                    observed_at=at + timedelta(minutes=30),
                )
            )
            negative = 0.7 if day % 3 == 0 else 0.15
            # the certainty differs from comment to comment, so the label queue has an order
            positive = round((1 - negative) * (0.5 + 0.04 * n), 4)
            neutral = round(1 - negative - positive, 4)
            label = "negative" if negative > 0.5 else "positive"
            scores.append((platform, cid, positive, label, "test", neutral, negative))
    store.content.save_posts(posts)
    store.content.save_comments(comments)
    store.content.set_comment_scores(scores)
    store.content.set_ugc_scores([(p.platform, p.id, 0.5 + p.likes / 200) for p in posts])  # type: ignore[operator]
    store.metrics.save_topic_stats(
        TopicStats(platform, "平凡大连人", START + timedelta(days=d), views=views * (d + 1))
        for d in range(12)
        for platform, views in (("douyin", 250_000), ("weibo", 150_000))
    )
    store.metrics.save_accounts(
        Account("weibo", KOL_ID, "大连身边事", START + timedelta(days=d), followers=5000 + 50 * d,
                kind="kol")
        for d in (0, 11)
    )  # fmt: skip
    for n in range(1, 4):
        store.outbox.enqueue_alert(
            alert(n, at=NOW - timedelta(hours=n), platform="weibo", subject_id=f"P{2 * n - 1}")
        )


def add_accounts(store: Store) -> None:
    queries = store.console
    for name, role in (("ed", "editor"), ("vic", "viewer")):
        queries.add_user(name, role, accounts.hash_password(PASSWORDS[name]), START)


@dataclass
class Running:
    config: Config
    store: Store
    url: str
    stop: asyncio.Event


@asynccontextmanager
async def running_console(
    tmp_path: Path, language: str = "zh", **web: Any
) -> AsyncIterator[Running]:
    from aiohttp import web as aioweb

    config = console_config(tmp_path, language, **web)
    with Store.for_config(config, search_tokens=jieba_search_tokens) as store:
        fill(store)
        add_accounts(store)
        stop = asyncio.Event()
        app = build_app(config, store, now=lambda: NOW, live_every=0.2, stop=stop)
        runner = aioweb.AppRunner(app, shutdown_timeout=1.0)
        await runner.setup()
        site = aioweb.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            yield Running(config, store, f"http://127.0.0.1:{port}", stop)
        finally:
            stop.set()
            await runner.cleanup()
