"""End-to-end ingest: hotflow JSON from a local server → parsed → stored → indexed → scored.

A server process serves 120,000 comments (500 posts x 240, the bundled campaign's comment
texts) as pre-rendered Weibo hotflow pages of 20, as fast as it can. In the same run:
- the ceiling: a plain aiohttp client fetching every page, one request at a time (the way
  the collector walks a thread), without parsing or storing anything;
- pingfan: the real Weibo comments source under the real runner, pacer and HTTP client, into
  a fresh SQLite file with the trigram full-text index, while the daemon's scorer (the model
  in a worker process) scores what lands. The clock stops when every comment is stored and
  scored. Also printed: the longest event-loop stall, and peak memory.

Then `collect --once` end to end (the scorer's start, the pass, scoring, the rules) twice, into
fresh files: the stages in sequence, as it was, and as it is now, scoring while it reads.

This machine is shared: before each path the plain client fetches the same pages again, and
each path's share of that neighbouring figure is printed beside its own, with the CPU seconds
pingfan's process spent on it (the figure least moved by other jobs' load).

Run: `python -m benchmarks.ingest` (part of `make bench`).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from monitor.app.alerting import evaluate_and_dispatch
from monitor.app.collect import collect_once
from monitor.collect import collect_pass
from monitor.config import Config, config_from_dict
from monitor.models import Post
from monitor.runtime.clock import WallClock
from monitor.runtime.metrics import Metrics
from monitor.runtime.platforms import open_weibo
from monitor.runtime.scorer import Scorer, score_pending
from monitor.store import Store
from nlp.search_tokens import jieba_search_tokens

POSTS = 500
PER_POST = 240
PAGE = 20
FIRST_MID = 4390000000000000
T0 = datetime(2019, 8, 1, 12, tzinfo=UTC)


def _weibo_time(moment: datetime) -> str:
    return moment.astimezone().strftime("%a %b %d %H:%M:%S %z %Y")


def _page_token(post: int, page: int) -> int:
    return 138_000_000_000_000 + post * 1000 + page


def build_pages() -> dict[tuple[str, int], bytes]:
    """(mid, max_id) → the page's bytes; newest comments first, as hotflow's type-1 section."""
    from monitor.sim.world import load_world

    world = load_world()
    texts = [c.text for post in world.posts for c in world.comments_until(post.id, world.end)]
    pages: dict[tuple[str, int], bytes] = {}
    serial = 0
    for post in range(POSTS):
        mid = str(FIRST_MID + post)
        comments = []
        for n in range(PER_POST):
            serial += 1
            created = T0 + timedelta(minutes=PER_POST - n)
            comments.append(
                {
                    "id": str(4400000000000000 + post * 1000 + PER_POST - n),
                    "created_at": _weibo_time(created),
                    "text": texts[serial % len(texts)],
                    "like_count": serial % 50,
                    "user": {"id": 3000000000 + serial % 20000, "screen_name": "u"},
                    "comments": False,
                    "total_number": 0,
                }
            )
        count = -(-PER_POST // PAGE)
        for page in range(count):
            more = page + 1 < count
            body = {
                "ok": 1,
                "data": {
                    "data": comments[page * PAGE : (page + 1) * PAGE],
                    "total_number": PER_POST,
                    "max_id": _page_token(post, page + 1) if more else 0,
                    "max_id_type": 1,
                },
            }
            key = 0 if page == 0 else _page_token(post, page)
            pages[(mid, key)] = json.dumps(body, ensure_ascii=False).encode()
    return pages


def _serve(port_out: Any) -> None:
    pages = build_pages()
    date = "Thu, 01 Aug 2019 06:00:00 GMT"

    async def hotflow(request: web.Request) -> web.Response:
        key = (request.query.get("id", ""), int(request.query.get("max_id") or 0))
        body = pages.get(key, b'{"ok":0,"msg":"\\u8fd9\\u91cc\\u8fd8\\u6ca1\\u6709\\u5185\\u5bb9"}')
        return web.Response(body=body, content_type="application/json", headers={"Date": date})

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/comments/hotflow", hotflow)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port_out.put(runner.addresses[0][1])
        await asyncio.Event().wait()

    asyncio.run(main())


async def ceiling(base: str) -> float:
    """Seconds for a plain client to fetch every page, one at a time."""
    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        for post in range(POSTS):
            mid, max_id = str(FIRST_MID + post), 0
            while True:
                params: dict[str, str | int] = {"id": mid, "mid": mid, "max_id_type": 1}
                if max_id:
                    params["max_id"] = max_id
                async with session.get(base + "/comments/hotflow", params=params) as response:
                    body = await response.read()
                next_id = json.loads(body)["data"]["max_id"]
                if not next_id:
                    break
                max_id = next_id
    return time.perf_counter() - started


def bench_config(base: str, workdir: Path) -> Config:
    return config_from_dict(
        {
            "storage": {"path": "ingest.db", "comment_retention_days": 0},
            "weibo": {
                "base_url": base,
                "topic_base_url": base,
                "requests_per_minute": 10_000_000,
                "burst": 100,
                "cookie_env": "PINGFAN_BENCH_NO_COOKIE",
            },
            "douyin": {"enabled": False},
            "schedule": {"comments_hot": "1h"},
        },
        workdir / "config.toml",
    )


def _posts() -> list[Post]:
    return [
        Post("weibo", str(FIRST_MID + n), "1", "u", "帖子", T0, T0, comments=PER_POST)
        for n in range(POSTS)
    ]


async def _collect_once_before(config: Config) -> None:
    """`collect --once` as it was: read everything, then score in-process, then the rules."""
    scorer = Scorer(config.nlp.model)
    clock = WallClock()
    with Store.for_config(config, search_tokens=jieba_search_tokens) as store:
        await collect_pass(config, store, clock, "weibo")
        await score_pending(store, config, scorer)
        await evaluate_and_dispatch(config, store, clock)


async def collect_once_timed(base: str, workdir: Path, *, overlapped: bool) -> dict[str, float]:
    """A whole `collect --once` (scorer start, pass, scoring, rules) into a fresh file."""
    config = bench_config(base, workdir)
    with Store.for_config(config, search_tokens=jieba_search_tokens) as store:
        store.content.save_posts(_posts())
    started = time.perf_counter()
    if overlapped:
        await collect_once(config, "weibo")
    else:
        await _collect_once_before(config)
    elapsed = time.perf_counter() - started
    with Store.for_config(config, search_tokens=jieba_search_tokens) as store:
        stored = store.reports.table_counts()["comments"]
        unscored = len(store.reports.unscored_comments(10))
    return {"seconds": elapsed, "stored": stored, "unscored": unscored}


async def pingfan_ingest(base: str, workdir: Path) -> dict[str, float]:
    config = bench_config(base, workdir)
    lag = 0.0
    done = asyncio.Event()

    async def lag_monitor() -> None:
        nonlocal lag
        while not done.is_set():
            started = time.perf_counter()
            await asyncio.sleep(0.01)
            lag = max(lag, time.perf_counter() - started - 0.01)

    with Store.for_config(config, search_tokens=jieba_search_tokens) as store:
        store.content.save_posts(_posts())
        scorer = Scorer(config.nlp.model, pooled=True)
        await scorer.start()  # the daemon starts its worker before collecting too
        metrics = Metrics()
        monitor = asyncio.create_task(lag_monitor())
        started = time.perf_counter()
        async with open_weibo(config, store, WallClock(), metrics) as runtime:
            (comments,) = [s for s in runtime.sources if s.name == "weibo:comments"]
            ingest = asyncio.create_task(runtime.runner.run(comments))
            scored = 0
            while not ingest.done() or store.reports.unscored_comments(1):
                scored += (await score_pending(store, config, scorer)).comments
                await asyncio.sleep(0.05)
            result = ingest.result()
        elapsed = time.perf_counter() - started
        done.set()
        await monitor
        scorer.close()
        stored = store.reports.table_counts()["comments"]
        indexed = store.db.execute("SELECT count(*) FROM comments_fts").fetchone()[0]
    return {
        "seconds": elapsed,
        "stored": stored,
        "indexed": indexed,
        "scored": scored,
        "requests": result.requests,
        "lag": lag,
    }


def _timed(work: Any) -> dict[str, float]:
    """Run `work()` (an `asyncio.run` of one path) and add the CPU seconds this process spent
    on it (the model's worker and the server are other processes)."""
    cpu = time.process_time()
    result = dict(work())
    result["cpu"] = time.process_time() - cpu
    return result


def main() -> None:
    context = multiprocessing.get_context("spawn")
    ports = context.Queue()
    server = context.Process(target=_serve, args=(ports,), daemon=True)
    server.start()
    total = POSTS * PER_POST
    # Each path is measured right after a plain client's fetch of the same pages: on a machine
    # that others load, its share of that neighbouring figure is what compares across runs.
    paths: list[tuple[str, dict[str, float], float]] = []
    try:
        base = f"http://127.0.0.1:{ports.get(timeout=120)}"
        with tempfile.TemporaryDirectory() as workdir:
            plain = asyncio.run(ceiling(base))
            run = _timed(lambda: asyncio.run(pingfan_ingest(base, Path(workdir))))
            paths.append(("the daemon's pipeline: fetch, parse, store, index, score", run, plain))
        for label, overlapped in (
            ("`collect --once`, stages in sequence (as before)", False),
            ("`collect --once`, scoring while reading", True),
        ):
            plain = asyncio.run(ceiling(base))
            with tempfile.TemporaryDirectory() as workdir:
                done = _timed(
                    lambda: asyncio.run(
                        collect_once_timed(base, Path(workdir), overlapped=overlapped)  # noqa: B023
                    )
                )
            paths.append((label, done, plain))
        last_plain = asyncio.run(ceiling(base))
    finally:
        server.terminate()
        server.join()
    print(f"ingest: {total:,} comments in {total // PAGE:,} hotflow pages from a local server")
    print(
        "| path | seconds | comments/s | CPU s, this process | plain client just before:"
        " seconds, comments/s | share of the plain client |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for label, done, plain in paths:
        rate = done["stored"] / done["seconds"]
        print(
            f"| {label} | {done['seconds']:.1f} | {rate:,.0f} | {done['cpu']:.1f} |"
            f" {plain:.1f}, {total / plain:,.0f} | {plain / done['seconds']:.1%} |"
            + ("" if not done.get("unscored") else f" ({done['unscored']:.0f} left unscored!)")
        )
    print(f"plain client after the last path: {last_plain:.1f} s, {total / last_plain:,.0f}/s")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"daemon's pipeline: stored {run['stored']:,.0f}, indexed {run['indexed']:,.0f},"
        f" scored {run['scored']:,.0f}, {run['requests']:,.0f} requests; longest event-loop"
        f" stall {run['lag'] * 1000:.0f} ms; peak RSS {own:.0f} MB (this process),"
        f" {children:.0f} MB (largest child process)"
    )


if __name__ == "__main__":
    main()
