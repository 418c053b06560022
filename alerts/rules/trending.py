"""Trending: a post's engagement velocity far above its baseline, and a topic accelerating.

Velocity is likes + comments + shares + reposts gained per hour, from the post's metric
series (post_metrics) with the post's creation as a zero reading. The baseline is the same
author's recent posts at the same age; without enough of those, the platform's recent posts
sharing a topic, judged by a median/MAD robust z-score. A minimum volume in the window, and
the last two readings both above the bar (confirmation over two polls), keep one lucky poll
from firing. Plays, where the platform gives them, are reported beside it.
"""

from __future__ import annotations

import itertools
import statistics
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import lru_cache

from alerts.rules.base import (
    Context,
    Finding,
    post_author,
    post_url,
    representative,
    sample_evidence,
    top_terms,
)
from alerts.rules.facts import Baseline, TopicTrendingFacts, TrendingFacts
from monitor.store import Store
from monitor.store.signals import MetricPoint, PostFacts, TopicWindow
from nlp.trends import median_mad, robust_z

Series = list[tuple[datetime, float]]


def interactions_series(post: PostFacts, points: Sequence[MetricPoint]) -> Series:
    """(time, cumulative interactions), starting at zero when the post was created."""
    series: Series = [(post.created_at, 0.0)]
    for point in points:
        if point.at > series[-1][0]:
            series.append((point.at, float(point.interactions)))
    return series


def plays_series(post: PostFacts, points: Sequence[MetricPoint]) -> Series:
    series: Series = [(post.created_at, 0.0)]
    for point in points:
        if point.plays and point.at > series[-1][0]:
            series.append((point.at, float(point.plays)))
    return series


def value_at(series: Series, moment: datetime, max_gap: timedelta | None = None) -> float | None:
    """The cumulative count at `moment`, linear between readings; None outside them, or
    when the readings around it are more than `max_gap` apart (a guess, not a measure)."""
    if not series or moment < series[0][0] or moment > series[-1][0]:
        return None
    for (t0, v0), (t1, v1) in itertools.pairwise(series):
        if t0 <= moment <= t1:
            if max_gap is not None and t1 - t0 > max_gap:
                return None
            span = (t1 - t0).total_seconds()
            share = (moment - t0).total_seconds() / span if span else 1.0
            return v0 + (v1 - v0) * share
    return series[-1][1]


def velocity_at_age(series: Series, age: timedelta, window: timedelta) -> float | None:
    """Per-hour growth over [age - window, age] after creation; None unless readings close
    around both ends measured it (a post first read days after it appeared says nothing
    about its first hours)."""
    created = series[0][0]
    gap = 3 * window
    end = value_at(series, created + age, gap)
    start = value_at(series, created + max(age - window, timedelta(0)), gap)
    if end is None or start is None:
        return None
    span = min(age, window).total_seconds() / 3600
    return max(end - start, 0.0) / span if span > 0 else None


def last_rates(series: Series) -> tuple[float, float] | None:
    """Per-hour growth over the last two intervals between readings (previous, last)."""
    if len(series) < 3:
        return None
    rates = []
    for (t0, v0), (t1, v1) in itertools.pairwise(series[-3:]):
        span = (t1 - t0).total_seconds() / 3600
        rates.append(max(v1 - v0, 0.0) / span if span > 0 else 0.0)
    return rates[0], rates[1]


def post_velocity_burst(
    series: Series,
    *,
    window: timedelta,
    min_interactions: int,
) -> tuple[float, float, float] | None:
    """(previous rate, last rate, gained in window) when the post passes the absolute bar:
    enough gained in the window and both last readings at the minimum rate."""
    rates = last_rates(series)
    if rates is None:
        return None
    last_at, last_value = series[-1]
    start = value_at(series, max(last_at - window, series[0][0]))
    gained = last_value - (start or 0.0)
    floor = min_interactions / (window.total_seconds() / 3600)
    if gained < min_interactions or min(rates) < floor:
        return None
    return rates[0], rates[1], gained


def judge(
    rates: tuple[float, float],
    baseline: Baseline,
    *,
    growth_ratio: float,
    min_z: float,
    floor: float,
) -> tuple[bool, float]:
    """Fire?, and the ratio of the confirmed rate (the lower of the two) to the baseline."""
    confirmed = min(rates)
    if baseline.basis == "none":
        ratio = confirmed / floor
        return ratio >= growth_ratio, ratio
    ratio = confirmed / max(baseline.value, 1.0)
    if baseline.basis == "topic" and (baseline.z is None or baseline.z < min_z):
        return False, ratio
    return ratio >= growth_ratio, ratio


def run(store: Store, ctx: Context) -> list[Finding]:
    rule = ctx.config.alerts.trending
    window = timedelta(seconds=rule.window)
    floor = rule.min_interactions / (rule.window / 3600)
    posts = store.signals.posts_moving(
        created_since=ctx.ago(rule.watch_for), observed_since=ctx.ago(rule.window), until=ctx.now
    )
    findings: list[Finding] = []
    by_platform: dict[str, list[PostFacts]] = defaultdict(list)
    for post in posts:
        by_platform[post.platform].append(post)
    for platform, group in by_platform.items():
        series_of = store.signals.metric_series(platform, [p.id for p in group], ctx.now)
        peers: list[tuple[PostFacts, Series]] | None = None
        for post in group:
            points = series_of.get(post.id, [])
            series = interactions_series(post, points)
            burst = post_velocity_burst(
                series, window=window, min_interactions=rule.min_interactions
            )
            if burst is None:
                continue
            previous, last, gained = burst
            age = series[-1][0] - post.created_at
            baseline = _author_baseline(store, ctx, post, age, window)
            if baseline is None:
                if peers is None:
                    peers = _peer_series(store, ctx, platform)
                baseline = _topic_baseline(post, peers, age, window, (previous, last))
            fire, ratio = judge(
                (previous, last),
                baseline,
                growth_ratio=rule.growth_ratio,
                min_z=rule.min_z,
                floor=floor,
            )
            if fire:
                findings.append(
                    _finding(store, ctx, post, points, (previous, last, gained), baseline, ratio)
                )
    findings.extend(_topics(store, ctx))
    return findings


def _author_baseline(
    store: Store, ctx: Context, post: PostFacts, age: timedelta, window: timedelta
) -> Baseline | None:
    rule = ctx.config.alerts.trending
    others = store.signals.author_posts(
        post.platform,
        post.author_id,
        since=post.created_at - timedelta(seconds=rule.baseline_window),
        before=post.created_at,
    )
    if len(others) < rule.min_baseline_posts:
        return None
    series_of = store.signals.metric_series(post.platform, [p.id for p in others], ctx.now)
    values = []
    for other in others:
        velocity = velocity_at_age(
            interactions_series(other, series_of.get(other.id, [])), age, window
        )
        if velocity is not None:
            values.append(velocity)
    if len(values) < rule.min_baseline_posts:
        return None
    return Baseline("author", statistics.median(values), len(values))


def _peer_series(store: Store, ctx: Context, platform: str) -> list[tuple[PostFacts, Series]]:
    rule = ctx.config.alerts.trending
    peers = store.signals.platform_posts(
        platform, since=ctx.ago(rule.baseline_window + rule.watch_for), before=ctx.now
    )
    series_of = store.signals.metric_series(platform, [p.id for p in peers], ctx.now)
    return [(p, interactions_series(p, series_of.get(p.id, []))) for p in peers]


def _topic_baseline(
    post: PostFacts,
    peers: list[tuple[PostFacts, Series]],
    age: timedelta,
    window: timedelta,
    rates: tuple[float, float],
) -> Baseline:
    topics = set(post.topics)
    values = []
    for peer, series in peers:
        if peer.id == post.id or (topics and not topics & set(peer.topics)):
            continue
        velocity = velocity_at_age(series, age, window)
        if velocity is not None:
            values.append(velocity)
    if len(values) < 5:
        return Baseline("none", 0.0, len(values))
    median, _ = median_mad(values)
    return Baseline("topic", median, len(values), robust_z(min(rates), values))


def _finding(
    store: Store,
    ctx: Context,
    post: PostFacts,
    points: Sequence[MetricPoint],
    burst: tuple[float, float, float],
    baseline: Baseline,
    ratio: float,
) -> Finding:
    rule = ctx.config.alerts.trending
    previous, last, gained = burst
    comments = store.signals.thread_comments(
        post.platform, post.id, since=ctx.ago(rule.window * 6), until=ctx.now, limit=200
    )
    terms = top_terms([c.text for c in comments])
    samples = representative(comments)
    plays = last_rates(plays_series(post, points))
    evidence = {
        "post": {"platform": post.platform, "id": post.id, "author": post_author(post)},
        "velocity_per_hour": [round(previous, 1), round(last, 1)],
        "gained_in_window": round(gained),
        "baseline": {
            "basis": baseline.basis,
            "per_hour": round(baseline.value, 1),
            "posts": baseline.count,
            "z": None if baseline.z is None else round(baseline.z, 2),
        },
        "ratio": round(ratio, 2),
        "terms": terms,
        "samples": sample_evidence(samples),
        "thresholds": {
            "window_seconds": rule.window,
            "min_interactions": rule.min_interactions,
            "growth_ratio": rule.growth_ratio,
            "min_z": rule.min_z,
        },
    }
    return Finding(
        rule="trending",
        kind="trending",
        platform=post.platform,  # type: ignore[arg-type]
        subject_id=post.id,
        severity="info",
        facts=TrendingFacts(
            post=post,
            previous_rate=previous,
            last_rate=last,
            gained=gained,
            plays_rate=plays[1] if plays is not None and plays[1] > 0 else None,
            baseline=baseline,
            ratio=ratio,
            terms=tuple(terms),
            samples=samples,
            rule=rule,
        ),
        level=ratio,
        volume=last,
        url=post_url(ctx, post),
        evidence=evidence,
        cooldown=rule.cooldown,
        window=rule.window,
    )


def topic_burst(
    points: Sequence[tuple[datetime, float]], *, min_rate: float, growth_ratio: float, min_z: float
) -> tuple[float, float, float, float, float] | None:
    """(previous rate, last rate, median before, ratio, z) when the topic's last two rates are
    both far above the rates before them; None otherwise (or with fewer than 5 readings)."""
    rates = []
    for (t0, v0), (t1, v1) in itertools.pairwise(points):
        span = (t1 - t0).total_seconds() / 3600
        if span > 0:
            rates.append(max(v1 - v0, 0.0) / span)
    if len(rates) < 4:
        return None
    history, recent = rates[:-2], rates[-2:]
    confirmed = min(recent)
    median, _ = median_mad(history)
    ratio = confirmed / max(median, 1.0)
    z = robust_z(confirmed, history)
    if confirmed >= min_rate and ratio >= growth_ratio and z >= min_z:
        return recent[0], recent[1], median, ratio, z
    return None


@lru_cache(maxsize=256)
def window_burst(
    window: TopicWindow, *, min_rate: float, growth_ratio: float, min_z: float
) -> tuple[datetime, int, tuple[float, float, float, float, float] | None] | None:
    """(last reading's time, its views, the burst or None) of a series' window; None when no
    reading gave views. Remembered per window: the store gives back the same window while the
    series' readings in it are unchanged, so a round judges only the series that moved."""
    series = [(p.at, float(p.views)) for p in window.points if p.views is not None]
    if not series:
        return None
    views = next(p.views for p in reversed(window.points) if p.views is not None)
    burst = topic_burst(series, min_rate=min_rate, growth_ratio=growth_ratio, min_z=min_z)
    return series[-1][0], views, burst


def _topics(store: Store, ctx: Context) -> list[Finding]:
    rule = ctx.config.alerts.trending
    findings = []
    for window in store.signals.topic_windows(since=ctx.ago(rule.baseline_window), until=ctx.now):
        verdict = window_burst(
            window,
            min_rate=rule.topic_min_views_per_hour,
            growth_ratio=rule.topic_growth_ratio,
            min_z=rule.min_z,
        )
        if verdict is None:
            continue
        last_at, views, burst = verdict
        if last_at < ctx.ago(max(rule.window * 6, 6 * 3600)):
            continue  # no recent reading: nothing to say about now
        if burst is None:
            continue
        platform, topic = window.platform, window.topic
        previous, last, median, ratio, z = burst
        findings.append(
            Finding(
                rule="topic_trending",
                kind="topic_trending",
                platform=platform,  # type: ignore[arg-type]
                subject_id=topic,
                severity="info",
                facts=TopicTrendingFacts(
                    platform=platform,
                    topic=topic,
                    previous_rate=previous,
                    last_rate=last,
                    median_before=median,
                    z=z,
                    views=views,
                    rule=rule,
                ),
                level=ratio,
                volume=last,
                evidence={
                    "topic": topic,
                    "views": views,
                    "rate_per_hour": [round(previous, 1), round(last, 1)],
                    "median_before": round(median, 1),
                    "ratio": round(ratio, 2),
                    "z": round(z, 2),
                    "thresholds": {
                        "growth_ratio": rule.topic_growth_ratio,
                        "min_z": rule.min_z,
                        "min_views_per_hour": rule.topic_min_views_per_hour,
                    },
                },
                cooldown=rule.cooldown,
                window=rule.window,
            )
        )
    return findings
