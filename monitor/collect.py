"""`pingfan collect --once`: one full pass over the enabled platforms, then the NLP step."""

from __future__ import annotations

import logging
import os

from monitor.circuit import Circuit
from monitor.collectors.weibo import HEADERS, PassReport, WeiboCollector
from monitor.config import Config
from monitor.http import HttpClient
from monitor.scoring import score_new_comments, score_new_posts
from monitor.store import Store
from nlp.sentiment import load_model

log = logging.getLogger(__name__)


async def weibo_pass(config: Config, store: Store, circuit: Circuit | None = None) -> PassReport:
    cookie = os.environ.get(config.weibo.cookie_env) if config.weibo.cookie_env else None
    async with HttpClient(
        name="weibo",
        requests_per_minute=config.weibo.requests_per_minute,
        timeout=config.weibo.timeout,
        headers=HEADERS,
        cookie=cookie or None,
    ) as http:
        collector = WeiboCollector(config, store, http, circuit or Circuit("weibo"))
        return await collector.run_pass()


async def collect_once(config: Config, platform: str | None) -> list[str]:
    """Run one pass; returns the lines of its report. Blocks are reported, not fatal."""
    lines = []
    with Store.open(config.storage.path) as store:
        if platform in (None, "weibo") and config.weibo.enabled:
            report = await weibo_pass(config, store)
            lines.append(report.summary())
            lines += [
                f"  {s.status}: {s.name}: {s.detail}"
                for s in report.steps
                if s.status in ("blocked", "failed")
            ]
            skipped = sum(s.status == "skipped" for s in report.steps)
            if skipped:
                lines.append(f"  skipped {skipped} sources while the circuit is open")
        if platform in (None, "douyin") and config.douyin.enabled:
            lines.append("douyin: not collected (the Douyin collector is not built yet)")
        model = load_model(config.nlp.model)
        comments = score_new_comments(store, config, model)
        posts = score_new_posts(store, config, model)
        lines.append(f"nlp: scored {comments} comments, {posts} posts")
    return lines
