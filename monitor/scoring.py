"""The NLP step of a pass: sentiment for new comments, UGC scores for new posts."""

from __future__ import annotations

import json
import logging

from monitor.config import Config
from monitor.store import Store
from nlp.segment import tokenizer
from nlp.sentiment import Model, score
from nlp.ugc import UgcCandidate, assess

log = logging.getLogger(__name__)
BATCH = 5000


def score_new_comments(store: Store, config: Config, model: Model) -> int:
    """Score every comment that has no score yet; returns how many."""
    tokenizer(config.nlp.lexicon)  # the campaign's own words stay whole in keywords
    total = 0
    while True:
        rows = store.unscored_comments(BATCH)
        if not rows:
            return total
        results = score(
            [r["text"] for r in rows],
            model,
            neutral_low=config.nlp.neutral_low,
            neutral_high=config.nlp.neutral_high,
        )
        store.set_comment_scores(
            (r["platform"], r["id"], round(s.score, 4), s.label, s.model)
            for r, s in zip(rows, results, strict=True)
        )
        total += len(rows)


def score_new_posts(store: Store, config: Config, model: Model) -> int:
    """UGC score for every post under a watched topic that has none yet (0 = not UGC)."""
    watched = {t.name for t in config.topics}
    rows = store.posts_without_ugc_score()
    if not rows:
        return 0
    warmth = model.probabilities([r["text"] for r in rows])
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
    store.set_ugc_scores(updates)
    return len(updates)
