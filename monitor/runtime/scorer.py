"""The NLP step: sentiment for new comments, UGC scores for new posts, in batches.

In the daemon the model runs in a worker process, so the event loop never waits on it;
`collect --once` scores in-process. Either way the store is only touched from the caller's
thread, and each batch is one short write transaction.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import TypeVar

from monitor.apart import spawned_worker
from monitor.config import Config
from monitor.errors import ConfigError
from monitor.runtime import scoring_worker
from monitor.runtime.metrics import Metrics
from monitor.store import Store
from nlp.sentiment import Model, Probs, load_model
from nlp.ugc import UgcCandidate, assess

log = logging.getLogger(__name__)
T = TypeVar("T")
BATCH = 2000  # small enough that writing one batch's scores never stalls the loop


class Scorer:
    """Sentiment for texts (`predict`: three probabilities; `probabilities`: P(positive)),
    in-process, or in one worker process (`pooled`)."""

    def __init__(self, model_spec: str, *, pooled: bool = False) -> None:
        self.model_spec = model_spec
        self.version = ""  # the model's own version, recorded beside every score
        self._model: Model | None = None
        self._pool: Executor | None = None
        if pooled:
            self._pool = self._new_pool()
        else:
            try:
                self._model = load_model(model_spec)
            except (ValueError, OSError) as err:
                raise ConfigError(f"[nlp] model {model_spec!r} cannot be loaded: {err}") from err
            self.version = self._model.version

    def _new_pool(self) -> Executor:
        return spawned_worker(scoring_worker.start, self.model_spec)

    async def start(self) -> None:
        """Load the model in the worker now, so a bad model stops the daemon at start with
        one line, not at its first comment."""
        try:
            await self.probabilities([])
        except ValueError as err:
            raise ConfigError(f"[nlp] model {self.model_spec!r} cannot be loaded: {err}") from err

    async def predict(self, texts: Sequence[str]) -> list[Probs]:
        """P(positive), P(neutral), P(negative) of each text."""
        if self._pool is None:
            assert self._model is not None
            return self._model.predict(texts)
        return await self._in_worker(scoring_worker.predict, texts)

    async def probabilities(self, texts: Sequence[str]) -> list[float]:
        """P(positive) of each text."""
        if self._pool is None:
            assert self._model is not None
            return self._model.probabilities(texts)
        return await self._in_worker(scoring_worker.probabilities, texts)

    async def _in_worker(
        self, call: Callable[[Sequence[str]], tuple[str, list[T]]], texts: Sequence[str]
    ) -> list[T]:
        assert self._pool is not None
        loop = asyncio.get_running_loop()
        try:
            self.version, result = await loop.run_in_executor(self._pool, call, list(texts))
        except BrokenProcessPool:
            # The worker died (killed, out of memory): start another and try once more.
            log.warning("the scoring worker died; starting a new one")
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            self.version, result = await loop.run_in_executor(self._pool, call, list(texts))
        return result

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


@dataclass(frozen=True)
class ScoringReport:
    comments: int
    posts: int


async def score_pending(
    store: Store, config: Config, scorer: Scorer, metrics: Metrics | None = None
) -> ScoringReport:
    """Score every comment and post that has no score yet, a batch at a time."""
    comments = 0
    while rows := store.reports.unscored_comments(BATCH):
        started = time.perf_counter()
        predictions = await scorer.predict([r["text"] for r in rows])
        store.content.set_comment_scores(
            (
                r["platform"],
                r["id"],
                round(p.positive, 4),
                p.label,
                scorer.version,
                round(p.neutral, 4),
                round(p.negative, 4),
            )
            for r, p in zip(rows, predictions, strict=True)
        )
        comments += len(rows)
        if metrics:
            metrics.scored.inc(len(rows))
            metrics.scoring_seconds.inc(time.perf_counter() - started)
    posts = await _score_posts(store, config, scorer)
    if metrics:
        metrics.unscored.set(0)
    return ScoringReport(comments, posts)


async def _score_posts(store: Store, config: Config, scorer: Scorer) -> int:
    """UGC score for every post that has none yet (0 = not UGC)."""
    watched = {t.name for t in config.topics}
    total = 0
    while rows := store.reports.posts_without_ugc_score(BATCH):
        warmth = await scorer.probabilities([r["text"] for r in rows])
        updates = []
        for row, warm in zip(rows, warmth, strict=True):
            on_topic = bool(watched & set(json.loads(row["topics"])))
            candidate = UgcCandidate(
                text=row["text"],
                author_kind=row["author_kind"],
                is_original=bool(row["is_original"]) and on_topic,
                media=row["media"],
                likes=row["likes"],
                comments=row["comments"],
                shares=row["shares"],
                reposts=row["reposts"],
            )
            updates.append((row["platform"], row["id"], assess(candidate, warm).score))
        store.content.set_ugc_scores(updates)
        total += len(rows)
    return total
