"""Cost as the data grows: a year of several campaigns, then the rules, the bot, the digest,
the file's size and retention, measured on it.

Run: `python -m benchmarks.growth [--comments N] [--keep DIR] [--reuse FILE] [--write-path]`.

Posts, accounts, topic readings, alerts and labels are stored through the store's own write
path (`save_posts`, `set_ugc_scores`, `save_accounts`, `save_topic_stats`, `add_label`,
`enqueue_alert`), in daily batches, oldest first; a post's count readings (`post_metrics`) are
inserted directly with exactly the columns `save_posts` writes for a moved count, and the post
row is saved once with its last reading. Comments, nearly all of the time, go through one of:
- `FastPath` (the default): the rows `save_comments` + `set_comment_scores` leave, inserted in
  bulk with the comments' secondary indexes and the full-text index built once at the end (see
  its docstring); tests/test_growth_synthesis.py checks that it stores the same rows, schema
  and full-text answers as
- `WritePath` (`--write-path`): `save_comments` and `set_comment_scores`, 5,000 at a time.

Shape (scaled by `--comments`, default 10,000,000): 365 days, four campaigns on Weibo and
Douyin, one post per 50 comments (200,000 at 10M), comments on a post arriving over its first
three days, texts from the bundled campaign's comments; KOL follower readings every 6 hours
and topic readings every 15 minutes (the default schedule), ~15 alerts a day with their
deliveries, team labels on 0.1 % of comments.

Measured, on the store at the end of the year:
- rules_round_ms: `alerts.engine.evaluate` after a scoring round of 1,000 new comments (the
  median of several rounds; coordination, which runs every 6 h, is shown apart);
- bot_p95_ms: the bot's /status, /top, /negative, /ugc and /kol replies (alerts/bot/replies.py);
- web_p95_ms: the web console's slowest page, p95 over `WEB_ROUNDS` rounds after the first
  (benchmarks/web_console.py's pages and measurement; it prints them all);
- digest_s: gathering and assembling last week's digest (`build_digest`, no PDF);
- bytes_per_comment: the file (after a WAL checkpoint) over the comments, indexes and FTS in;
- retention_max_stall_ms: the longest event-loop stall while retention deletes the oldest
  month, run the way the daemon runs it, while the loop saves a comment every 100 ms (a write
  that waits for retention's lock stalls the loop); the same loop without retention is the
  machine's noise, printed beside it.

It prints a table, and as its last line one JSON object with those keys plus `comments`.
`--keep DIR` leaves the synthesised year in DIR/growth.db and measures a copy of it
(DIR/measured.db, deleted afterwards), so the kept file is the whole year, before the rules'
rounds add comments and retention deletes a month; `--reuse FILE` measures a copy of such a
file (migrated to the current schema on opening), skipping the synthesis. See the README's
"Growth" section for how long a 10,000,000-comment year takes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks.web_console import measure_pages, pages_of, worst_p95
from monitor.config import Config, config_from_dict
from monitor.models import Account, AlertRecord, Comment, Post, TopicStats, to_utc_iso
from monitor.store import Store
from monitor.store.content import comment_columns, score_columns
from nlp.search_tokens import jieba_search_tokens

END = datetime(2026, 11, 30, 12, tzinfo=UTC)  # the benchmark's "now": a year after START
DAYS = 365
START = END - timedelta(days=DAYS)
COMMENTS_PER_POST = 50
CAMPAIGNS = ("长安十二时辰", "大唐不夜城", "西安年最中国", "秦岭四宝")
KOLS_PER_CAMPAIGN = 3  # per platform
ROUND_COMMENTS = 1000
ROUNDS = 5
BOT_REPEATS = 5
WEB_ROUNDS = 10
MODEL = "pingfan-default-2"


@dataclass(frozen=True)
class Shape:
    comments: int

    @property
    def posts(self) -> int:
        return max(self.comments // COMMENTS_PER_POST, 40)


def config_for(path: Path) -> Config:
    kols = [
        {"platform": platform, "id": f"kol-{platform}-{n}", "name": f"达人{n}"}
        for platform in ("weibo", "douyin")
        for n in range(len(CAMPAIGNS) * KOLS_PER_CAMPAIGN)
    ]
    return config_from_dict(
        {
            "storage": {"path": str(path), "comment_retention_days": 0},
            "weibo": {"cookie_env": "PINGFAN_BENCH_NO_COOKIE"},
            "kols": kols,
            "digest": {"out_dir": str(path.parent / "digests")},
        },
        path.parent / "config.toml",
    )


# --- synthesis -------------------------------------------------------------------------


class Texts:
    """Comment and post texts from the bundled campaign, recombined so that they vary."""

    def __init__(self, rng: random.Random) -> None:
        from monitor.sim.world import load_world

        world = load_world()
        self.comments = sorted(
            {c.text for post in world.posts for c in world.comments.get(post.id, [])}
        )
        self.posts = sorted({p.text for p in world.posts})
        self.rng = rng

    def comment(self) -> str:
        first = self.rng.choice(self.comments)
        if self.rng.random() < 0.3:
            return first + " " + self.rng.choice(self.comments)
        return first

    def post(self, campaign: str) -> str:
        return f"#{campaign}# " + self.rng.choice(self.posts)


Score = tuple[str, str, float, str, str, float, float]


def _scores(rng: random.Random, platform: str, cid: str) -> Score:
    negative = rng.random() ** 3
    neutral = (1 - negative) * rng.random() * 0.6
    positive = 1 - negative - neutral
    label = max(
        ("positive", positive), ("neutral", neutral), ("negative", negative), key=lambda x: x[1]
    )[0]
    return (platform, cid, positive, label, MODEL, neutral, negative)


def _likes(rng: random.Random) -> int:
    return int(rng.paretovariate(1.2)) - 1


@dataclass
class Synthesis:
    posts: int = 0
    comments: int = 0
    post_points: int = 0
    seconds: float = 0.0


class WritePath:
    """Comments through the store's own write path: `save_comments`, then `set_comment_scores`,
    5,000 at a time, each save indexing its rows for full-text search before it commits."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def __enter__(self) -> WritePath:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def comments(self, comments: list[Comment], scores: list[Score]) -> None:
        for start in range(0, len(comments), 5000):
            self.store.content.save_comments(comments[start : start + 5000])
            self.store.content.set_comment_scores(scores[start : start + 5000])


_COMMENT_ROW = """
INSERT INTO comments (platform, id, post_id, parent_id, author_id, text, created_at, likes,
    first_seen, observed_at, sentiment, p_neutral, p_negative, entropy, label, model_version)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""


class FastPath:
    """The documented fast path: the same comment rows, written the way a bulk load is.

    - each comment is one plain INSERT of the row `save_comments` + `set_comment_scores` leave
      (scores, entropy, label and model version in; `score_columns` computes them for both),
      a day per transaction, in the same order, so the rows get the same `pk`;
    - the comments' secondary indexes and the full-text insert trigger are dropped meanwhile
      and created again at the end from their own SQL (CREATE INDEX sorts once instead of
      10,000,000 random inserts into five B-trees);
    - the full-text index is then rebuilt by the store's own `reindex` (the statement the
      store runs when the tokenizer changes: one INSERT ... SELECT for trigram);
    - no rollback journal and no fsync during the load (`journal_mode = OFF`,
      `synchronous = OFF`), then WAL and `synchronous = NORMAL` again, as `Store.open` sets.

    Everything else (posts, their readings, accounts, topics, alerts, labels) goes through the
    write path as before. tests/test_growth_synthesis.py builds a small year both ways and
    compares every table, the schema and full-text search answers."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.deferred: list[tuple[str, str, str]] = []  # (type, name, sql) dropped meanwhile

    def __enter__(self) -> FastPath:
        conn = self.store.db.conn
        conn.execute("PRAGMA journal_mode = OFF").fetchall()
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -262144")  # 256 MB: the index builds sort in memory
        self.deferred = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'comments'"
            " AND sql IS NOT NULL AND (type = 'index' OR name = 'comments_fts_insert')"
            " ORDER BY rowid"
        ).fetchall()
        with self.store.db.atomic():
            for kind, name, _sql in self.deferred:
                conn.execute(f"DROP {kind.upper()} {name}")
        return self

    def __exit__(self, *exc: object) -> None:
        conn = self.store.db.conn
        with self.store.db.atomic():
            for _kind, _name, sql in self.deferred:
                conn.execute(sql)
        self.store.content.reindex()
        conn.executescript("PRAGMA incremental_vacuum")  # hand back what the drops freed
        conn.execute("PRAGMA cache_size = -2000")  # SQLite's default
        conn.execute("PRAGMA journal_mode = WAL").fetchall()
        conn.execute("PRAGMA synchronous = NORMAL")

    def comments(self, comments: list[Comment], scores: list[Score]) -> None:
        # first_seen is the observation time, as the upsert stores it for a new comment
        rows = [
            (*(columns := comment_columns(c)), columns[-1], *score_columns(score))
            for c, score in zip(comments, scores, strict=True)
        ]
        with self.store.db.atomic():
            self.store.db.conn.executemany(_COMMENT_ROW, rows)


def synthesise(
    store: Store, shape: Shape, rng: random.Random, *, progress: bool, fast: bool = True
) -> Synthesis:
    """The year, oldest first; comments through `FastPath` (default) or `WritePath`. Both
    draw the same random numbers in the same order, so they store the same rows."""
    started = time.perf_counter()
    texts = Texts(rng)
    done = Synthesis()
    _accounts_and_topics(store, rng)
    posts_per_day = shape.posts / DAYS
    comments_per_day = shape.comments / DAYS
    serial = 0
    owed = 0  # comments of days without posts (small sizes), given to the next day's posts
    pending: list[tuple[datetime, Comment]] = []  # comments not yet "read", by time
    with FastPath(store) if fast else WritePath(store) as writer:
        for day in range(DAYS):
            day_start = START + timedelta(days=day)
            n_posts = int(posts_per_day * (day + 1)) - int(posts_per_day * day)
            owed += int(comments_per_day * (day + 1)) - int(comments_per_day * day)
            n_comments, owed = owed, 0
            posts = _day_posts(store, rng, texts, day_start, n_posts, done)
            # the day's comments, spread over its posts (a few threads draw most of them)
            weights = [rng.paretovariate(1.1) for _ in posts]
            total = sum(weights) or 1.0
            if not posts:
                owed += n_comments
            for post, weight in zip(posts, weights, strict=True):
                count = round(n_comments * weight / total)
                for _ in range(count):
                    serial += 1
                    created = post.created_at + timedelta(
                        seconds=min(rng.expovariate(1 / 21600), 259200)
                    )
                    if created >= END:
                        created = END - timedelta(seconds=rng.uniform(60, 3600))
                    seen = created + timedelta(seconds=rng.uniform(60, 1800))
                    pending.append(
                        (
                            seen,
                            Comment(
                                platform=post.platform,
                                id=str(5_000_000_000_000_000 + serial),
                                post_id=post.id,
                                author_id=f"u{rng.randrange(shape.comments // 8 + 100)}",
                                text=texts.comment(),
                                created_at=created,
                                observed_at=min(seen, END),
                                likes=_likes(rng),
                            ),
                        )
                    )
            # store what was read by the end of this day: oldest first, as the collector does
            horizon = day_start + timedelta(days=1)
            pending.sort(key=lambda item: item[0])
            cut = next((i for i, (seen, _) in enumerate(pending) if seen > horizon), len(pending))
            if day == DAYS - 1:
                cut = len(pending)
            read = [c for _, c in pending[:cut]]
            writer.comments(read, [_scores(rng, c.platform, c.id) for c in read])
            done.comments += len(read)
            del pending[:cut]
            if day % 7 == 6:
                _week_of_alerts(store, rng, day_start - timedelta(days=6))
            if progress and day % 30 == 29:
                print(
                    f"  day {day + 1}: {done.posts:,} posts, {done.comments:,} comments,"
                    f" {time.perf_counter() - started:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
        if progress:
            print("  indexes and full-text index ...", file=sys.stderr, flush=True)
    _team_labels(store, rng, max(done.comments // 1000, 10))
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    done.seconds = time.perf_counter() - started
    return done


def _accounts_and_topics(store: Store, rng: random.Random) -> None:
    accounts = []
    followers = {
        (p, n): rng.randrange(50_000, 2_000_000)
        for p in ("weibo", "douyin")
        for n in range(len(CAMPAIGNS) * KOLS_PER_CAMPAIGN)
    }
    for step in range(DAYS * 4):  # profiles every 6 hours
        at = START + timedelta(hours=6 * step)
        for (platform, n), value in followers.items():
            followers[(platform, n)] = value + rng.randrange(0, 400)
            accounts.append(
                Account(
                    platform=platform,  # type: ignore[arg-type]
                    id=f"kol-{platform}-{n}",
                    name=f"达人{n}",
                    observed_at=at,
                    followers=followers[(platform, n)],
                    following=100,
                    posts_count=step // 8,
                    kind="kol",
                )
            )
    store.metrics.save_accounts(accounts)
    stats = []
    views = {(p, c): rng.randrange(10**6, 10**7) for p in ("weibo", "douyin") for c in CAMPAIGNS}
    for step in range(DAYS * 96):  # topic readings every 15 minutes
        at = START + timedelta(minutes=15 * step)
        for (platform, campaign), value in views.items():
            views[(platform, campaign)] = value + rng.randrange(0, 3000)
            stats.append(
                TopicStats(
                    platform=platform,  # type: ignore[arg-type]
                    topic=campaign,
                    observed_at=at,
                    views=views[(platform, campaign)],
                    discussions=views[(platform, campaign)] // 40,
                )
            )
    store.metrics.save_topic_stats(stats)


def _day_posts(
    store: Store, rng: random.Random, texts: Texts, day: datetime, count: int, done: Synthesis
) -> list[Post]:
    posts, points, ugc = [], [], []
    for _ in range(count):
        done.posts += 1
        platform = "weibo" if rng.random() < 0.6 else "douyin"
        campaign = rng.choice(CAMPAIGNS)
        is_kol = rng.random() < 0.05
        author = (
            f"kol-{platform}-{rng.randrange(len(CAMPAIGNS) * KOLS_PER_CAMPAIGN)}"
            if is_kol
            else f"a{rng.randrange(count * DAYS // 3 + 10)}"
        )
        created = day + timedelta(seconds=rng.uniform(0, 86400))
        post_id = f"{platform[0]}{4_800_000_000_000_000 + done.posts}"
        likes, comments, shares = 0, 0, 0
        reading = created
        for _hour in range(rng.randrange(2, 12)):  # hourly readings while the counts move
            reading += timedelta(hours=1)
            if reading >= END:
                break
            likes += _likes(rng) * 10
            comments += rng.randrange(0, 60)
            shares += rng.randrange(0, 20)
            points.append(
                (
                    platform,
                    post_id,
                    to_utc_iso(reading),
                    likes * 30,
                    likes,
                    comments,
                    shares,
                    shares,
                )
            )
        posts.append(
            Post(
                platform=platform,  # type: ignore[arg-type]
                id=post_id,
                author_id=author,
                author_name=author,
                text=texts.post(campaign),
                created_at=created,
                observed_at=min(reading, END),
                url=None,
                topics=(campaign,),
                media="video" if platform == "douyin" else "image",
                plays=likes * 30,
                likes=likes,
                comments=comments,
                shares=shares,
                reposts=shares,
                author_kind="kol" if is_kol else "user",
            )
        )
        ugc.append((platform, post_id, rng.random() if rng.random() < 0.1 else 0.0))
    store.content.save_posts(posts)
    with store.db.atomic():  # the documented fast path: the rows save_posts writes per reading
        store.db.conn.executemany(
            "INSERT INTO post_metrics (platform, post_id, observed_at, plays, likes, comments,"
            " shares, reposts) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            points,
        )
    store.content.set_ugc_scores(ugc)
    done.post_points += len(points)
    return posts


def _week_of_alerts(store: Store, rng: random.Random, week_start: datetime) -> None:
    kinds = ("negative_thread", "trending", "kol_upload", "milestone", "ugc", "coordination")
    for n in range(105):
        at = week_start + timedelta(seconds=rng.uniform(0, 7 * 86400))
        kind = rng.choice(kinds)
        store.outbox.enqueue_alert(
            AlertRecord(
                kind=kind,
                severity=rng.choice(("info", "warning", "critical")),
                title=f"{kind} {n}",
                text="合成的告警正文",
                dedupe_key=f"bench:{kind}:{to_utc_iso(at)}:{n}",
                created_at=at,
                platform="weibo",
                subject_id=str(n),
            ),
            rule=kind,
        )
    with store.db.atomic():
        store.db.execute(
            "INSERT OR IGNORE INTO alert_deliveries (alert_id, sink, state, attempts,"
            " next_attempt_at, sent_at, messages) SELECT id, 'telegram', 'sent', 1,"
            " created_at, created_at, 1 FROM alerts WHERE created_at >= ?",
            (to_utc_iso(week_start),),
        )
        store.db.execute("UPDATE alerts SET state = 'sent' WHERE state = 'pending'")


def _team_labels(store: Store, rng: random.Random, count: int) -> None:
    top = store.db.execute("SELECT max(pk) FROM comments").fetchone()[0] or 0
    for _ in range(count):
        row = store.db.execute(
            "SELECT platform, id, text FROM comments WHERE pk >= ? LIMIT 1",
            (rng.randrange(1, top + 1),),
        ).fetchone()
        if row:
            store.labels.add_label(
                row[2],
                rng.choice(("positive", "neutral", "negative")),
                platform=row[0],
                comment_id=row[1],
                given_by="bench",
                given_at=END - timedelta(days=rng.uniform(0, DAYS)),
            )


# --- measurements ----------------------------------------------------------------------


def _ms(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def _new_round(store: Store, rng: random.Random, now: datetime, serial: int) -> None:
    """1,000 comments on the last two days' posts, read just now, then scored."""
    recent = [
        (row[0], row[1])
        for row in store.db.execute(
            "SELECT platform, id FROM posts WHERE created_at >= ? ORDER BY created_at DESC"
            " LIMIT 200",
            (to_utc_iso(now - timedelta(days=2)),),
        )
    ]
    texts = store.db.execute("SELECT text FROM comments ORDER BY pk DESC LIMIT 500").fetchall()
    comments = []
    for n in range(ROUND_COMMENTS):
        platform, post_id = rng.choice(recent)
        created = now - timedelta(seconds=rng.uniform(0, 300))
        comments.append(
            Comment(
                platform=platform,
                id=f"r{serial}-{n}",
                post_id=post_id,
                author_id=f"u{rng.randrange(10**6)}",
                text=rng.choice(texts)[0],
                created_at=created,
                observed_at=now,
                likes=_likes(rng),
            )
        )
    store.content.save_comments(comments)
    store.content.set_comment_scores([_scores(rng, c.platform, c.id) for c in comments])


def measure_rules(store: Store, config: Config, rng: random.Random) -> dict[str, float]:
    from alerts.engine import evaluate
    from monitor.store.housekeeping import optimize_statistics

    now = END
    first = _ms(lambda: evaluate(store, config, now))  # rule state as a running daemon has it
    optimize_statistics(store)  # as the daemon does every few hours
    rounds = []
    for n in range(ROUNDS):
        now += timedelta(minutes=5)
        _new_round(store, rng, now, n)
        at = now
        rounds.append(_ms(lambda at=at: evaluate(store, config, at)))  # type: ignore[misc]
    return {"first_round_ms": first, "rules_round_ms": statistics.median(rounds)}


def measure_rules_each(store: Store, config: Config) -> dict[str, float]:
    """Each rule alone at the last round's time (no state written): where the time goes."""
    from alerts.rules import RULES, Context

    ctx = Context(config, END + timedelta(minutes=5 * ROUNDS))
    return {name: _ms(lambda run=run: run(store, ctx)) for name, (run, _) in RULES.items()}  # type: ignore[misc]


def measure_bot(store: Store, config: Config) -> dict[str, list[float]]:
    from alerts.bot.replies import Replies

    replies = Replies(config, store)
    now = END + timedelta(minutes=5 * ROUNDS)
    commands: dict[str, Callable[[], object]] = {
        "/status": lambda: replies.status(now),
        "/top": lambda: replies.top(now, 86400),
        "/negative": lambda: replies.negative(now, 86400),
        "/ugc": lambda: replies.ugc(now),
        "/kol": lambda: replies.kol(now, 7 * 86400),
    }
    for fn in commands.values():  # once untimed: imports and the model's metrics, read once
        fn()
    return {name: [_ms(fn) for _ in range(BOT_REPEATS)] for name, fn in commands.items()}


def measure_digest(store: Store, config: Config) -> tuple[float, float]:
    """Last week's digest twice: the first in this process also loads the model file for its
    metrics (as the daemon's first digest does); the second is the figure reported."""
    from alerts.digest.build import build_digest, digest_zone
    from alerts.digest.weeks import IsoWeek

    week = IsoWeek.containing(END - timedelta(days=7), digest_zone(config))
    first = _ms(lambda: build_digest(store, config, week, now=END)) / 1000
    return first, _ms(lambda: build_digest(store, config, week, now=END)) / 1000


def file_bytes(path: Path, store: Store) -> int:
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


@dataclass(frozen=True)
class LoopStalls:
    longest_ms: float  # the probe's longest stall: the loop could not run for that long
    longest_write_ms: float  # the loop's longest write (one comment saved, as collectors do)


async def _with_stall_probe(work: Callable[[], Any], store: Store) -> tuple[Any, LoopStalls]:
    """Run `work()` (a coroutine function) while the loop lives as the daemon's does: a probe
    wakes every 5 ms and measures how late it is, and a writer saves a comment on the store's
    connection every 100 ms (a write that waits for retention's lock stalls the loop)."""
    worst = worst_write = 0.0
    stop = asyncio.Event()

    async def probe() -> None:
        nonlocal worst
        while not stop.is_set():
            started = time.perf_counter()
            await asyncio.sleep(0.005)
            worst = max(worst, time.perf_counter() - started - 0.005)

    async def writer() -> None:
        nonlocal worst_write
        serial = 0
        while not stop.is_set():
            serial += 1
            live = Comment(
                platform="weibo",
                id=f"live-{time.monotonic_ns()}-{serial}",
                post_id="live",
                author_id="live",
                text="探针写入的评论",
                created_at=END,
                observed_at=END,
            )
            started = time.perf_counter()
            store.content.save_comments([live])
            worst_write = max(worst_write, time.perf_counter() - started)
            await asyncio.sleep(0.1)

    tasks = [asyncio.create_task(probe()), asyncio.create_task(writer())]
    await asyncio.sleep(0.02)
    try:
        result = await work()
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    return result, LoopStalls(worst * 1000, worst_write * 1000)


def measure_retention(store: Store) -> tuple[int, LoopStalls, float]:
    """Delete the oldest month of comments (those made before the oldest one + 30 days) as the
    daemon does: off the loop in batches, the loop's connection leaving checkpoints to
    housekeeping."""
    from monitor.models import from_iso
    from monitor.store.housekeeping import purge_comments, take_over_checkpoints

    take_over_checkpoints(store)
    oldest = from_iso(store.db.execute("SELECT min(created_at) FROM comments").fetchone()[0])
    days = (END - (oldest + timedelta(days=30))).days

    async def work() -> int:
        return await purge_comments(store, days, END)

    started = time.perf_counter()
    purged, stalls = asyncio.run(_with_stall_probe(work, store))
    return purged, stalls, time.perf_counter() - started


# --- the run ---------------------------------------------------------------------------


def _place(args: argparse.Namespace) -> Iterator[Path]:
    if args.keep:
        folder = Path(args.keep)
        folder.mkdir(parents=True, exist_ok=True)
        yield folder
        return
    with tempfile.TemporaryDirectory(prefix="pingfan-growth-") as tmp:
        yield Path(tmp)


def _copy_database(source: Path, target: Path) -> None:
    for stale in target.parent.glob(target.name + "*"):
        stale.unlink()
    shutil.copyfile(source, target)
    wal = Path(str(source) + "-wal")
    if wal.exists():  # a file kept by a run that was stopped: its last transactions
        shutil.copyfile(wal, Path(str(target) + "-wal"))


def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    rows: list[tuple[str, str]] = []
    for folder in _place(args):
        source = Path(args.reuse) if args.reuse else folder / "growth.db"
        if not args.reuse:
            for stale in folder.glob("growth.db*"):
                stale.unlink()
            with Store.open(source, search_tokens=jieba_search_tokens) as store:
                made = synthesise(
                    store,
                    Shape(args.comments),
                    rng,
                    progress=not args.quiet,
                    fast=not args.write_path,
                )
            rows.append(
                (
                    "synthesised" + (" (write path)" if args.write_path else " (fast path)"),
                    f"{made.posts:,} posts, {made.comments:,} comments,"
                    f" {made.post_points:,} post readings in {made.seconds:.0f} s",
                )
            )
            if not args.quiet:
                print(f"  {rows[-1][0]}: {rows[-1][1]}", file=sys.stderr, flush=True)
        # A kept or reused file is measured on a copy: it stays the year as synthesised, before
        # the rules' rounds add comments and retention deletes a month.
        path = folder / "measured.db" if args.keep or args.reuse else source
        if path != source:
            _copy_database(source, path)
        config = config_for(path)
        started = time.perf_counter()
        store = Store.open(path, search_tokens=jieba_search_tokens)  # migrates a reused copy
        rows.append(("open and migrate", f"{time.perf_counter() - started:.1f} s"))
        with store:
            comments = store.db.execute("SELECT count(*) FROM comments").fetchone()[0]
            size = file_bytes(path, store)
            rules = measure_rules(store, config, rng)
            each = measure_rules_each(store, config)
            bot = measure_bot(store, config)
            web = asyncio.run(
                measure_pages(
                    store, config, END, pages_of(store, END, config.ui.timezone), WEB_ROUNDS
                )
            )
            digest_first_s, digest_s = measure_digest(store, config)
            purged, stalls, retention_s = measure_retention(store)
            idle = asyncio.run(
                _with_stall_probe(partial(asyncio.sleep, min(retention_s, 120)), store)
            )[1]
        if path != source:
            for measured in folder.glob(path.name + "*"):
                measured.unlink()
        rows += [
            ("comments", f"{comments:,}"),
            ("file", f"{size / 1e6:,.0f} MB"),
            ("rules: first round", f"{rules['first_round_ms']:.0f} ms"),
            (f"rules: after {ROUND_COMMENTS:,} new comments", f"{rules['rules_round_ms']:.0f} ms"),
            *[(f"  rule {name} alone", f"{ms:.0f} ms") for name, ms in each.items()],
            *[(f"bot {name} p95", f"{p95(ms):.0f} ms") for name, ms in bot.items()],
            *[(f"web {page} p95", f"{p95(ms[1:]):.0f} ms") for page, ms in web.items()],
            ("digest (gather + assemble), first", f"{digest_first_s:.2f} s"),
            ("digest (gather + assemble), again", f"{digest_s:.2f} s"),
            ("retention: a month", f"{purged:,} comments in {retention_s:.1f} s"),
            ("  longest loop stall meanwhile", f"{stalls.longest_ms:.0f} ms"),
            ("  longest loop write meanwhile", f"{stalls.longest_write_ms:.0f} ms"),
            (
                "  longest loop stall, no retention",
                f"{idle.longest_ms:.0f} ms (the machine's noise)",
            ),
            ("  longest loop write, no retention", f"{idle.longest_write_ms:.0f} ms"),
        ]
        all_bot = [sample for samples in bot.values() for sample in samples]
        result = {
            "comments": comments,
            "rules_round_ms": round(rules["rules_round_ms"], 1),
            "bot_p95_ms": round(p95(all_bot), 1),
            "web_p95_ms": round(worst_p95(web), 1),
            "digest_s": round(digest_s, 2),
            "bytes_per_comment": round(size / max(comments, 1)),
            "retention_max_stall_ms": round(stalls.longest_ms, 1),
        }
    width = max(len(name) for name, _ in rows)
    asked = f"a copy of {args.reuse}" if args.reuse else f"{args.comments:,} comments asked"
    print(f"growth benchmark ({asked})")
    for name, value in rows:
        print(f"  {name:<{width}}  {value}")
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.growth", description=__doc__)
    parser.add_argument("--comments", type=int, default=10_000_000)
    parser.add_argument("--keep", metavar="DIR", help="leave the database in DIR")
    parser.add_argument("--reuse", metavar="FILE", help="measure a copy of a kept database")
    parser.add_argument("--seed", type=int, default=23)
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument(
        "--write-path",
        action="store_true",
        help="synthesise comments through the store's write path (slower; the same rows)",
    )
    args = parser.parse_args(argv)
    if args.comments < 1000:
        parser.error("--comments must be at least 1000")
    if args.reuse and not Path(args.reuse).is_file():
        parser.error(f"--reuse {args.reuse}: no such file")
    result = run(args)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
