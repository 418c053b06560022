"""Negative thread: a post whose recent comments turn against it.

Three ways in, one alert per thread and episode:
- share: enough scored comments in the window, and the Wilson lower bound (95 %) of the
  negative share above `negative_share` (so a calm thread with a few angry comments, or a
  tiny sample, does not fire);
- rise: the window's share (its lower bound) at `rise_ratio` times the thread's own earlier
  share, and at least `rise_min_share`;
- sensitive: a sensitive word (投诉, 举报, 曝光, 维权, 事故, 骗…) in a comment with at least
  `sensitive_min_likes` likes, or in a partner KOL's post.

The label comes from the stored sentiment label (`comments.label`); the three-way model
replaces it in that one column.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from alerts.rules.base import (
    Context,
    Finding,
    post_url,
    representative,
    sample_evidence,
    top_terms,
)
from alerts.rules.facts import NegativeThreadFacts, SensitiveHit, ShareVerdict
from monitor.config import NegativeThreadRule
from monitor.store import Store
from monitor.store.signals import PostFacts, ThreadCounts
from nlp.text import normalize
from nlp.trends import wilson_interval


def share_verdict(
    window: ThreadCounts, before: ThreadCounts | None, rule: NegativeThreadRule
) -> ShareVerdict:
    """Pure: does this window's negative share make the thread negative, or a sharp rise?"""
    scored, negative = window.scored, window.negative
    share = negative / scored if scored else 0.0
    lower = wilson_interval(negative, scored)[0] if scored else 0.0
    enough = scored >= rule.min_comments
    by_share = enough and lower >= rule.negative_share
    by_rise = False
    before_share = 0.0
    before_scored = before.scored if before else 0
    if before is not None and before.scored >= rule.min_comments and enough:
        before_share = before.negative / before.scored
        by_rise = lower >= max(rule.rise_ratio * before_share, rule.rise_min_share)
    return ShareVerdict(
        scored, negative, share, lower, by_share, by_rise, before_scored, before_share
    )


def sensitive_word(text: str, rule: NegativeThreadRule) -> str | None:
    """The first sensitive word in `text`, ignoring the harmless phrases (零事故…)."""
    clean = normalize(text)
    for harmless in rule.sensitive_ignore:
        clean = clean.replace(harmless, "")
    return next((word for word in rule.sensitive_words if word and word in clean), None)


@dataclass
class _Thread:
    verdict: ShareVerdict | None = None
    hits: list[SensitiveHit] = field(default_factory=list)


def run(store: Store, ctx: Context) -> list[Finding]:
    rule = ctx.config.alerts.negative_thread
    since = ctx.ago(rule.window)
    threads: dict[tuple[str, str], _Thread] = defaultdict(_Thread)
    window = {
        (c.platform, c.post_id): c for c in store.signals.thread_counts(since=since, until=ctx.now)
    }
    enough: dict[str, list[ThreadCounts]] = defaultdict(list)
    for counts in window.values():
        if counts.scored >= rule.min_comments:
            enough[counts.platform].append(counts)
    for platform, group in enough.items():
        befores = store.signals.thread_counts_before(platform, [c.post_id for c in group], since)
        for counts in group:
            verdict = share_verdict(counts, befores[counts.post_id], rule)
            if verdict.by_share or verdict.by_rise:
                threads[(counts.platform, counts.post_id)].verdict = verdict
    for comment in store.signals.liked_comments_with(
        rule.sensitive_words, min_likes=rule.sensitive_min_likes, since=since, until=ctx.now
    ):
        word = sensitive_word(comment.text, rule)
        if word:
            threads[(comment.platform, comment.post_id)].hits.append(SensitiveHit(word, comment))
    partners: dict[str, list[str]] = defaultdict(list)
    for kol in ctx.config.kols:
        partners[kol.platform].append(kol.id)
    for platform, ids in partners.items():
        for post in store.signals.posts_of_authors(platform, ids, since=since, until=ctx.now):
            word = sensitive_word(post.text, rule)
            if word:
                threads[(post.platform, post.id)].hits.append(SensitiveHit(word, post=post))
    # Posts watched by link (the campaign's own videos) are read like a partner's uploads.
    watched = [(p, post_id) for p in ("weibo", "douyin") for post_id in store.watch.watched_ids(p)]
    for key, post in sorted(store.signals.posts_by_keys(watched).items()):
        word = sensitive_word(post.text, rule)
        if not word or not since <= post.created_at <= ctx.now:
            continue
        known = threads.get(key)  # a partner's post already found above is not added twice
        if known is None or all(hit.post is None for hit in known.hits):
            threads[key].hits.append(SensitiveHit(word, post=post))
    if not threads:
        return []
    posts = store.signals.posts_by_keys(threads)
    findings = []
    for key, thread in sorted(threads.items()):
        found = posts.get(key)
        if found is not None:  # else: comments of a post the store does not hold
            counts = window.get(key, ThreadCounts(found.platform, found.id, 0, 0, 0))
            findings.append(_finding(store, ctx, found, thread, counts))
    return findings


def _finding(
    store: Store, ctx: Context, post: PostFacts, thread: _Thread, counts: ThreadCounts
) -> Finding:
    rule = ctx.config.alerts.negative_thread
    since = ctx.ago(rule.window)
    verdict = thread.verdict or share_verdict(counts, None, rule)
    negatives = store.signals.thread_comments(
        post.platform, post.id, since=since, until=ctx.now, label="negative"
    )
    terms = top_terms([c.text for c in negatives])
    word_comments = [hit.comment for hit in thread.hits if hit.comment is not None]
    samples = representative(word_comments + [c for c in negatives if c not in word_comments])
    critical = (
        verdict.by_share
        and verdict.lower >= rule.critical_share
        and verdict.scored >= 2 * rule.min_comments
    )
    reasons = [
        name
        for name, hit in (
            ("share", verdict.by_share),
            ("rise", verdict.by_rise),
            ("sensitive", bool(thread.hits)),
        )
        if hit
    ]
    evidence = {
        "post": {"platform": post.platform, "id": post.id},
        "reasons": reasons,
        "scored": verdict.scored,
        "negative": verdict.negative,
        "share": round(verdict.share, 4),
        "wilson_lower": round(verdict.lower, 4),
        "before": {"scored": verdict.before_scored, "share": round(verdict.before_share, 4)},
        "sensitive": [_hit_evidence(hit) for hit in thread.hits[:3]],
        "terms": terms,
        "samples": sample_evidence(samples),
        "thresholds": {
            "window_seconds": rule.window,
            "min_comments": rule.min_comments,
            "negative_share": rule.negative_share,
            "critical_share": rule.critical_share,
            "rise_ratio": rule.rise_ratio,
            "rise_min_share": rule.rise_min_share,
            "sensitive_min_likes": rule.sensitive_min_likes,
        },
    }
    return Finding(
        rule="negative_thread",
        kind="negative_thread",
        platform=post.platform,  # type: ignore[arg-type]
        subject_id=post.id,
        severity="critical" if critical else "warning",
        facts=NegativeThreadFacts(
            post=post,
            verdict=verdict,
            hits=tuple(thread.hits),
            terms=tuple(terms),
            samples=samples,
            rule=rule,
        ),
        level=verdict.share,
        volume=float(verdict.negative),
        url=post_url(ctx, post),
        evidence=evidence,
        cooldown=rule.cooldown,
        window=rule.window,
    )


def _hit_evidence(hit: SensitiveHit) -> dict[str, Any]:
    if hit.comment is not None:
        return {"word": hit.word, "comment": hit.comment.id, "likes": hit.comment.likes or 0}
    return {"word": hit.word, "post": hit.post.id if hit.post else None}
