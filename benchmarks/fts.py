"""Full-text search: SQLite's trigram tokenizer vs jieba tokens, on the simulated campaign.

Corpus: the bundled scenario's posts and comments (`monitor.sim.world`). For each tokenizer,
on a file database in a temporary directory: indexing speed (saving every row with its index,
and `store.content.reindex()` alone), query speed, and what each finds, for campaign words, place
names, lexicon words, two-character words, emoticons and a seeded sample of the corpus's own
words. The claim checked: for queries of three characters or more, trigram (substring) finds
every row jieba (tokens) finds; every exception is printed.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

from monitor.models import Comment, Post
from monitor.sim.world import World, load_world
from monitor.store import FTS_TOKENIZERS, FtsTokenizer, Store
from nlp.search_tokens import jieba_search_tokens
from nlp.segment import cut

T = TypeVar("T")
REPO = Path(__file__).resolve().parent.parent
BATCH = 500
QUERY_ROUNDS = 5  # each query timed this many times (limit 20, as the CLI asks)
SAMPLED_WORDS = 300  # seeded sample of the corpus's own words, per length class
LOTS = 1_000_000  # "no limit" for the find-rate comparison

QUERIES: dict[str, tuple[str, ...]] = {
    "campaign": ("平凡大连人", "不平凡的城市", "平凡的人", "大连人", "致敬平凡", "致敬 平凡"),
    "places": ("星海广场", "棒棰岛", "老虎滩", "金石滩", "中山路", "滨海路", "东北虎林园"),
    "lexicon": ("环卫工人", "公交司机", "快递小哥", "外卖小哥", "志愿者", "消防员", "出租车司机"),
    "emoticons": ("[心]", "[赞]", "[怒]", "[泪]"),
    "2 chars": ("大连", "东港", "交警", "堵车", "加油", "感动", "辛苦", "点赞", "城市", "暖心"),
}


def shipped_lexicon() -> tuple[str, ...]:
    with (REPO / "config.toml").open("rb") as source:
        return tuple(tomllib.load(source)["nlp"]["lexicon"])


def campaign_records(world: World, copies: int = 1) -> tuple[list[Post], list[Comment]]:
    """The scenario's posts and comments as the collectors would store them; `copies` > 1
    repeats them under fresh ids (for volume)."""
    posts, comments = [], []
    for copy in range(copies):
        suffix = f"-{copy}" if copy else ""
        for p in world.posts:
            account = world.account(p.platform, p.author_id)
            posts.append(
                Post(
                    platform=p.platform,
                    id=p.id + suffix,
                    author_id=p.author_id,
                    author_name=account.name if account else p.author_id,
                    author_kind=account.kind if account else "user",
                    text=p.text,
                    created_at=p.created_at,
                    observed_at=p.created_at + timedelta(hours=1),
                    topics=p.topics,
                    media=p.media,
                    likes=p.likes_final,
                    shares=p.shares_final,
                    reposts=p.reposts_final,
                )
            )
        for thread in world.comments.values():
            for c in thread:
                comments.append(
                    Comment(
                        platform=c.platform,
                        id=c.id + suffix,
                        post_id=c.post_id + suffix,
                        author_id=c.author_id,
                        text=c.text,
                        created_at=c.created_at,
                        observed_at=c.created_at + timedelta(hours=1),
                        parent_id=c.parent_id + suffix if c.parent_id else None,
                        likes=c.likes_final,
                    )
                )
    return posts, comments


def batches(rows: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def sampled_words(texts: list[str], seed: int = 7) -> dict[str, tuple[str, ...]]:
    """Words of the corpus itself (jieba's cut, so they favour jieba), seeded sample."""
    words = sorted({w for text in texts for w in cut(text) if not w.isascii()})
    rng = random.Random(seed)
    long = [w for w in words if len(w) >= 3]
    short = [w for w in words if len(w) == 2]
    return {
        "corpus 3+": tuple(rng.sample(long, min(SAMPLED_WORDS, len(long)))),
        "corpus 2": tuple(rng.sample(short, min(SAMPLED_WORDS, len(short)))),
    }


@dataclass
class Run:
    tokenizer: FtsTokenizer
    save_rows_per_s: float
    reindex_rows_per_s: float
    index_bytes: int
    found: dict[str, dict[str, set[str]]]  # kind:query → ids, per category
    queries_per_s: dict[str, float]


def measure(
    tokenizer: FtsTokenizer,
    posts: list[Post],
    comments: list[Comment],
    queries: dict[str, tuple[str, ...]],
    lexicon: tuple[str, ...],
    folder: Path,
) -> Run:
    with Store.open(
        folder / f"{tokenizer}.db",
        fts_tokenizer=tokenizer,
        lexicon=lexicon,
        search_tokens=jieba_search_tokens,
    ) as store:
        store.content.search("预热")  # jieba loads its dictionary here, outside the timings
        start = time.perf_counter()
        for posts_chunk in batches(posts, BATCH):
            store.content.save_posts(posts_chunk)
        for comments_chunk in batches(comments, BATCH):
            store.content.save_comments(comments_chunk)
        saved = (len(posts) + len(comments)) / (time.perf_counter() - start)
        start = time.perf_counter()
        rows = store.content.reindex()
        reindexed = rows / (time.perf_counter() - start)
        index_bytes = store.db.execute(
            "SELECT sum(pgsize) FROM dbstat WHERE name LIKE '%_fts%'"
        ).fetchone()[0]
        found: dict[str, dict[str, set[str]]] = {}
        speed: dict[str, float] = {}
        for category, words in queries.items():
            found[category] = {
                f"{kind}:{q}": {h.id for h in store.content.search(q, kind=kind, limit=LOTS)}
                for q in words
                for kind in ("posts", "comments")
            }
            start = time.perf_counter()
            for _ in range(QUERY_ROUNDS):
                for q in words:
                    store.content.search(q, kind="comments")
                    store.content.search(q, kind="posts")
            speed[category] = 2 * QUERY_ROUNDS * len(words) / (time.perf_counter() - start)
    return Run(tokenizer, saved, reindexed, index_bytes, found, speed)


def compare(jieba: Run, trigram: Run, show: Callable[[str], None]) -> None:
    show(
        f"{'queries':<11}{'n':>5}{'jieba hits':>12}{'trigram hits':>14}"
        f"{'jieba-only':>12}{'trigram-only':>14}{'q/s jieba':>11}{'q/s trigram':>13}"
    )
    exceptions: list[str] = []
    for category in jieba.found:
        j, t = jieba.found[category], trigram.found[category]
        j_hits = sum(len(ids) for ids in j.values())
        t_hits = sum(len(ids) for ids in t.values())
        missed = {key: j[key] - t[key] for key in j if j[key] - t[key]}
        only_t = sum(len(t[key] - j[key]) for key in j)
        show(
            f"{category:<11}{len(j) // 2:>5}{j_hits:>12,}{t_hits:>14,}"
            f"{sum(map(len, missed.values())):>12,}{only_t:>14,}"
            f"{jieba.queries_per_s[category]:>11,.0f}{trigram.queries_per_s[category]:>13,.0f}"
        )
        exceptions += [f"{key} ({len(ids)} rows)" for key, ids in sorted(missed.items())]
    long_missed = [e for e in exceptions if len(e.split(":", 1)[1].split(" (")[0]) >= 3]
    show(
        f"rows jieba finds that trigram misses: {len(exceptions)} query/table pairs, "
        f"{len(long_missed)} of them with queries of 3+ characters"
    )
    for line in exceptions[:20]:
        show(f"  jieba only: {line}")


def main() -> None:
    world = load_world()
    posts, comments = campaign_records(world)
    lexicon = shipped_lexicon()
    queries = {**QUERIES, **sampled_words([p.text for p in posts] + [c.text for c in comments])}
    print(
        f"full-text index on the bundled campaign: {len(posts):,} posts, {len(comments):,} "
        f"comments; lexicon {', '.join(lexicon)}"
    )
    runs: dict[str, Run] = {}
    with tempfile.TemporaryDirectory() as folder:
        for tokenizer in FTS_TOKENIZERS:
            runs[tokenizer] = measure(tokenizer, posts, comments, queries, lexicon, Path(folder))
    j, t = runs["jieba"], runs["trigram"]
    print(f"{'tokenizer':<11}{'save rows/s':>13}{'reindex rows/s':>16}{'index size':>12}")
    for run in (j, t):
        print(
            f"{run.tokenizer:<11}{run.save_rows_per_s:>13,.0f}{run.reindex_rows_per_s:>16,.0f}"
            f"{run.index_bytes / 2**20:>10.1f}MB"
        )
    print(
        f"trigram vs jieba: saving {t.save_rows_per_s / j.save_rows_per_s:.1f}x, "
        f"reindex {t.reindex_rows_per_s / j.reindex_rows_per_s:.1f}x, "
        f"index {t.index_bytes / j.index_bytes:.1f}x the size"
    )
    compare(j, t, print)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
