"""The web console's page times on a large store (goal: every page ≤ 300 ms p95 at 1,000,000
comments).

The store is filled through its own write path (save_posts, save_comments with their
full-text index, set_comment_scores): `--comments` comments (default 1,000,000) on 2,000
posts over 100 days, 500 alerts. Each page is asked for `--rounds` times by a logged-in
client over loopback; the time is the round trip (request to last byte) in this process, so
it includes aiohttp's client, which is small beside the page. The first round is printed
apart ("first"): it fills the overview's figures cache (alerts/web/views.py FiguresCache),
which a new post, comment or alert, or a minute, empties again.

    python -m benchmarks.web_console [--comments 1000000] [--rounds 20]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from alerts.web import accounts
from alerts.web.app import build_app
from monitor.config import config_from_dict
from monitor.models import AlertRecord, Comment, Post, TopicStats
from monitor.store import Store
from nlp.segment import warm_up

START = datetime(2019, 7, 1, tzinfo=UTC)
DAYS = 100
POSTS = 2_000
BATCH = 5_000
GOAL_MS = 300.0
WORDS = ("大连加油", "致敬平凡", "环卫工人辛苦了", "星海广场真美", "堵车太严重了", "点赞[心]")


def fill(store: Store, comments: int) -> None:
    posts = [
        Post(
            platform="weibo" if n % 2 else "douyin",
            id=f"P{n}",
            author_id=f"U{n % 300}",
            author_name=f"网友{n % 300}",
            text=f"#平凡大连人# 第{n}条 {WORDS[n % len(WORDS)]}",
            created_at=START + timedelta(days=DAYS * n / POSTS),
            observed_at=START + timedelta(days=DAYS * n / POSTS, minutes=5),
            likes=n % 97,
            comments=comments // POSTS,
        )
        for n in range(POSTS)
    ]
    store.content.save_posts(posts)
    store.content.set_ugc_scores([(p.platform, p.id, (n % 100) / 100) for n, p in enumerate(posts)])
    for start in range(0, comments, BATCH):
        batch, scores = [], []
        for n in range(start, min(start + BATCH, comments)):
            post = posts[n % POSTS]
            at = post.created_at + timedelta(minutes=n % 5000)
            batch.append(
                Comment(
                    platform=post.platform,
                    id=f"C{n}",
                    post_id=post.id,
                    author_id=f"A{n % 50_000}",
                    text=f"{WORDS[n % len(WORDS)]} {n}",
                    created_at=at,
                    observed_at=at,
                    likes=n % 13,
                )
            )
            negative = (n % 10) / 12
            positive = (1 - negative) / 2
            scores.append(
                (post.platform, f"C{n}", positive, "neutral", "bench", 1 - negative - positive,
                 negative)
            )  # fmt: skip
        store.content.save_comments(batch)
        store.content.set_comment_scores(scores)
    store.metrics.save_topic_stats(
        TopicStats(platform, "平凡大连人", START + timedelta(hours=6 * n), views=20_000 * n)
        for n in range(DAYS * 4)
        for platform in ("weibo", "douyin")
    )
    for n in range(500):
        store.outbox.enqueue_alert(
            AlertRecord(
                kind="negative_thread",
                severity="warning",
                title=f"负面舆情 {n}",
                text="近 6 小时负面上升",
                dedupe_key=f"bench:{n}",
                created_at=START + timedelta(hours=4 * n),
                platform="weibo",
                subject_id=f"P{2 * n + 1}",
            )
        )


PAGES = (
    "/",
    "/api/summary",
    "/alerts",
    "/threads",
    "/threads/weibo/P1999",
    "/ugc",
    "/kols",
    "/search?q=星海广场",  # in one comment of six: ranks a sixth of the store
    "/search?q=P1999",
    "/label",
    "/digests",
)


async def measure(store: Store, folder: Path, rounds: int) -> dict[str, list[float]]:
    config = config_from_dict(
        {
            "storage": {"path": str(folder / "bench.db")},
            "kols": [{"platform": "weibo", "id": "U1", "name": "大连身边事"}],
            "digest": {"out_dir": str(folder / "digests")},
        },
        folder / "config.toml",
    )
    store.console.add_user("bench", "editor", accounts.hash_password("benchmark"), START)
    now = START + timedelta(days=DAYS)
    warm_up()  # as `pingfan web` and the daemon do before serving
    times: dict[str, list[float]] = {page: [] for page in PAGES}
    async with TestClient(TestServer(build_app(config, store, now=lambda: now))) as client:
        form = await (await client.get("/login")).text()
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token is not None
        await client.post(
            "/login",
            data={"username": "bench", "password": "benchmark", "csrf_token": token[1]},
            allow_redirects=False,  # the first overview is the first round's
        )
        for _ in range(rounds):
            for page in PAGES:
                began = time.perf_counter()
                answer = await client.get(page)
                await answer.read()
                times[page].append((time.perf_counter() - began) * 1000)
                assert answer.status == 200, (page, answer.status)
    return times


def p95(values: Sequence[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as temporary:
        folder = Path(temporary)
        with Store.open(folder / "bench.db") as store:
            began = time.perf_counter()
            fill(store, args.comments)
            filled = time.perf_counter() - began
            times = asyncio.run(measure(store, folder, args.rounds))
    print(
        f"web console, {args.comments:,} comments (filled in {filled:.0f} s), {args.rounds} rounds"
    )
    print(
        f"{'page':<26} {'first ms':>9} {'median ms':>10} {'p95 ms':>9}  goal {GOAL_MS:.0f} ms p95"
    )
    for page, values in times.items():
        rest = values[1:] or values
        flag = "" if p95(rest) <= GOAL_MS else "  over"
        print(
            f"{page:<26} {values[0]:>9.1f} {statistics.median(rest):>10.1f} {p95(rest):>9.1f}{flag}"
        )


if __name__ == "__main__":
    main()
