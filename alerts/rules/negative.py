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

from alerts import render
from alerts.rules.base import (
    Context,
    Finding,
    post_line,
    post_url,
    sample_evidence,
    sample_lines,
    top_terms,
)
from monitor.config import NegativeThreadRule
from monitor.store import Store
from monitor.store.signals import CommentFacts, PostFacts, ThreadCounts
from nlp.text import normalize
from nlp.trends import wilson_interval


@dataclass(frozen=True)
class ShareVerdict:
    scored: int
    negative: int
    share: float
    lower: float
    by_share: bool
    by_rise: bool
    before_scored: int = 0
    before_share: float = 0.0


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
    counts: ThreadCounts | None = None
    verdict: ShareVerdict | None = None
    words: list[tuple[str, CommentFacts | None, PostFacts | None]] = field(default_factory=list)


def run(store: Store, ctx: Context) -> list[Finding]:
    rule = ctx.config.alerts.negative_thread
    since = ctx.ago(rule.window)
    threads: dict[tuple[str, str], _Thread] = defaultdict(_Thread)
    for counts in store.signals.thread_counts(since=since, until=ctx.now):
        if counts.scored < rule.min_comments:
            continue
        key = (counts.platform, counts.post_id)
        before = store.signals.thread_counts_before(counts.platform, counts.post_id, since)
        verdict = share_verdict(counts, before, rule)
        if verdict.by_share or verdict.by_rise:
            threads[key].counts = counts
            threads[key].verdict = verdict
    for comment in store.signals.liked_comments_with(
        rule.sensitive_words, min_likes=rule.sensitive_min_likes, since=since, until=ctx.now
    ):
        word = sensitive_word(comment.text, rule)
        if word:
            threads[(comment.platform, comment.post_id)].words.append((word, comment, None))
    partners: dict[str, list[str]] = defaultdict(list)
    for kol in ctx.config.kols:
        partners[kol.platform].append(kol.id)
    for platform, ids in partners.items():
        for post in store.signals.posts_of_authors(platform, ids, since=since, until=ctx.now):
            word = sensitive_word(post.text, rule)
            if word:
                threads[(post.platform, post.id)].words.append((word, None, post))
    # Posts watched by link (the campaign's own videos) are read like a partner's uploads.
    watched = [(p, post_id) for p in ("weibo", "douyin") for post_id in store.watch.watched_ids(p)]
    for key, post in sorted(store.signals.posts_by_keys(watched).items()):
        word = sensitive_word(post.text, rule)
        if not word or not since <= post.created_at <= ctx.now:
            continue
        known = threads.get(key)  # a partner's post already found above is not added twice
        if known is None or all(found is None for *_, found in known.words):
            threads[key].words.append((word, None, post))
    if not threads:
        return []
    posts = store.signals.posts_by_keys(threads)
    findings = []
    for key, thread in sorted(threads.items()):
        found = posts.get(key)
        if found is not None:  # else: comments of a post the store does not hold
            findings.append(_finding(store, ctx, found, thread))
    return findings


def _finding(store: Store, ctx: Context, post: PostFacts, thread: _Thread) -> Finding:
    rule = ctx.config.alerts.negative_thread
    since = ctx.ago(rule.window)
    counts = thread.counts
    if counts is None:
        counts = next(
            (
                c
                for c in store.signals.thread_counts(since=since, until=ctx.now)
                if (c.platform, c.post_id) == (post.platform, post.id)
            ),
            ThreadCounts(post.platform, post.id, 0, 0, 0),
        )
    verdict = thread.verdict or share_verdict(counts, None, rule)
    negatives = store.signals.thread_comments(
        post.platform, post.id, since=since, until=ctx.now, label="negative"
    )
    terms = top_terms([c.text for c in negatives])
    platform = ctx.platform(post.platform)
    if verdict.by_share:
        title = ctx.t(
            "negative.title", platform=platform, share=render.pct(verdict.share), n=verdict.scored
        )
    elif verdict.by_rise:
        title = ctx.t(
            "negative.rise_title",
            platform=platform,
            p0=render.pct(verdict.before_share),
            share=render.pct(verdict.share),
        )
    else:
        title = ctx.t("negative.word_title", platform=platform, word=thread.words[0][0])
    lines = [
        post_line(ctx, post),
        ctx.t(
            "negative.counts",
            hours=render.hours(rule.window),
            n=verdict.scored,
            neg=verdict.negative,
            share=render.pct(verdict.share),
            lb=render.pct(verdict.lower),
        ),
    ]
    if verdict.by_rise:
        lines.append(
            ctx.t(
                "negative.rise",
                n0=verdict.before_scored,
                p0=render.pct(verdict.before_share),
                share=render.pct(verdict.share),
            )
        )
    words = []
    for word, comment, kol_post in thread.words[:3]:
        if comment is not None:
            lines.append(
                ctx.t(
                    "negative.word_comment",
                    word=word,
                    author=render.mask(comment.author_id),
                    likes=render.count(comment.likes or 0),
                )
            )
            words.append({"word": word, "comment": comment.id, "likes": comment.likes or 0})
        elif kol_post is not None:
            lines.append(
                ctx.t("negative.word_post", word=word, name=render.quote(kol_post.author_name, 24))
            )
            words.append({"word": word, "post": kol_post.id})
    if terms:
        lines.append(ctx.t("terms", terms=render.join_terms(ctx.language, terms)))
    word_comments = [c for _, c, _ in thread.words if c is not None]
    samples = word_comments + [c for c in negatives if c not in word_comments]
    lines += sample_lines(ctx, samples)
    lines.append(
        ctx.t(
            "rule",
            rule=ctx.t(
                "negative.rule",
                threshold=render.pct(rule.negative_share),
                min=rule.min_comments,
                ratio=rule.rise_ratio,
                rise_min=render.pct(rule.rise_min_share),
                likes=rule.sensitive_min_likes,
            ),
        )
    )
    lines.append(ctx.t("time", time=ctx.time(ctx.now)))
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
            ("sensitive", bool(thread.words)),
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
        "sensitive": words,
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
        title=title,
        text="\n".join(lines),
        level=verdict.share,
        volume=float(verdict.negative),
        url=post_url(ctx, post),
        evidence=evidence,
        cooldown=rule.cooldown,
        window=rule.window,
    )
