"""The rules' facts in words: an alert's title and text in the configured language.

The engine calls `words` once, when an alert enters the outbox; the rules themselves say
nothing (alerts/rules/facts.py). User text (posts, comments, names from the platforms) is made
inert here (`safe_text.quote`) and ordinary users are masked, for every sink alike.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from alerts import i18n, safe_text
from alerts.rules.facts import (
    CoordinationFacts,
    Facts,
    KolSilentFacts,
    KolUploadFacts,
    MilestoneFacts,
    NegativeThreadFacts,
    ParserFacts,
    StaleFacts,
    TopicTrendingFacts,
    TrendingFacts,
    UgcFacts,
)
from monitor.store.signals import CommentFacts, PostFacts


class _Say:
    """The language, time zone and moment one alert is worded in."""

    def __init__(self, language: str, tz: ZoneInfo, now: datetime) -> None:
        self.language = i18n.lang_of(language)
        self.tz = tz
        self.now = now

    def t(self, key: str, **values: object) -> str:
        return i18n.t(self.language, f"alert.{key}", **values)

    def time(self, moment: datetime) -> str:
        return i18n.local_time(moment, self.tz)

    def platform(self, platform: str | None) -> str:
        return i18n.platform_name(self.language, platform)

    def metric(self, platform: str) -> str:
        return i18n.name(self.language, "metric", platform)

    def terms(self, terms: tuple[str, ...] | list[str]) -> str:
        return i18n.join_terms(self.language, terms)

    def footer(self, rule: str) -> list[str]:
        """The rule line and the time line every alert ends with."""
        return [self.t("rule", rule=rule), self.t("time", time=self.time(self.now))]

    def post_line(self, post: PostFacts) -> str:
        return self.t("post", author=_author(post), excerpt=safe_text.quote(post.text, 40))

    def sample_lines(self, samples: tuple[CommentFacts, ...]) -> list[str]:
        lines = [
            self.t(
                "sample",
                author=safe_text.mask(comment.author_id),
                likes=i18n.count(comment.likes or 0),
                quote=safe_text.quote(comment.text, 60),
            )
            for comment in samples
        ]
        return [self.t("samples"), *lines] if lines else []


def _author(post: PostFacts) -> str:
    return safe_text.shown_author(post.author_kind, post.author_name, post.author_id)


F = TypeVar("F")
_WORDERS: dict[type, Callable[[Any, _Say], tuple[str, list[str]]]] = {}


def _wording(kind: type[F]) -> Callable[[Callable[[F, _Say], tuple[str, list[str]]]], Any]:
    def register(
        func: Callable[[F, _Say], tuple[str, list[str]]],
    ) -> Callable[[F, _Say], tuple[str, list[str]]]:
        _WORDERS[kind] = func
        return func

    return register


def words(facts: Facts, language: str, tz: ZoneInfo | str, now: datetime) -> tuple[str, str]:
    """(title, text) of the alert that `facts` make, worded at `now`."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    title, lines = _WORDERS[type(facts)](facts, _Say(language, zone, now))
    return title, "\n".join(lines)


def escalated(language: str, title: str) -> str:
    """The title of an escalation: "升级：" / "Escalated: " before it."""
    return i18n.t(language, "alert.escalated") + title


# --- collector health ----------------------------------------------------------------------


@_wording(StaleFacts)
def _stale(facts: StaleFacts, say: _Say) -> tuple[str, list[str]]:
    title = say.t(
        "stale.title",
        platform=say.platform(facts.platform),
        hours=i18n.hours(facts.stale_seconds),
    )
    lines = [
        say.t("stale.last", time=say.time(facts.last_reading_at)),
        say.t("stale.hint"),
        *say.footer(say.t("stale.rule", hours=i18n.hours(facts.stale_after))),
    ]
    return title, lines


@_wording(ParserFacts)
def _parser(facts: ParserFacts, say: _Say) -> tuple[str, list[str]]:
    title = say.t(
        "parser.title",
        platform=say.platform(facts.platform),
        source=safe_text.quote(facts.source, 40),
        n=facts.failures,
    )
    lines = [
        say.t("parser.error", error=safe_text.quote(facts.last_error or "?", 160)),
        say.t("parser.hint"),
        *say.footer(say.t("parser.rule", n=facts.threshold)),
    ]
    return title, lines


# --- negative thread -----------------------------------------------------------------------


@_wording(NegativeThreadFacts)
def _negative(facts: NegativeThreadFacts, say: _Say) -> tuple[str, list[str]]:
    verdict, rule = facts.verdict, facts.rule
    platform = say.platform(facts.post.platform)
    share = i18n.pct(verdict.share)
    if verdict.by_share:
        title = say.t("negative.title", platform=platform, share=share, n=verdict.scored)
    elif verdict.by_rise:
        p0 = i18n.pct(verdict.before_share)
        title = say.t("negative.rise_title", platform=platform, p0=p0, share=share)
    else:
        title = say.t("negative.word_title", platform=platform, word=facts.hits[0].word)
    lines = [
        say.post_line(facts.post),
        say.t(
            "negative.counts",
            hours=i18n.hours(rule.window),
            n=verdict.scored,
            neg=verdict.negative,
            share=share,
            lb=i18n.pct(verdict.lower),
        ),
    ]
    if verdict.by_rise:
        p0 = i18n.pct(verdict.before_share)
        lines.append(say.t("negative.rise", n0=verdict.before_scored, p0=p0, share=share))
    for hit in facts.hits[:3]:
        if hit.comment is not None:
            lines.append(
                say.t(
                    "negative.word_comment",
                    word=hit.word,
                    author=safe_text.mask(hit.comment.author_id),
                    likes=i18n.count(hit.comment.likes or 0),
                )
            )
        elif hit.post is not None:
            name = safe_text.quote(hit.post.author_name, 24)
            lines.append(say.t("negative.word_post", word=hit.word, name=name))
    if facts.terms:
        lines.append(say.t("terms", terms=say.terms(facts.terms)))
    lines += say.sample_lines(facts.samples)
    lines += say.footer(
        say.t(
            "negative.rule",
            threshold=i18n.pct(rule.negative_share),
            min=rule.min_comments,
            ratio=rule.rise_ratio,
            rise_min=i18n.pct(rule.rise_min_share),
            likes=rule.sensitive_min_likes,
        )
    )
    return title, lines


# --- trending ------------------------------------------------------------------------------


@_wording(TrendingFacts)
def _trending(facts: TrendingFacts, say: _Say) -> tuple[str, list[str]]:
    rule, baseline = facts.rule, facts.baseline
    window = i18n.duration(say.language, rule.window)
    lines = [
        say.post_line(facts.post),
        say.t(
            "trending.counts",
            window=window,
            gained=i18n.count(facts.gained),
            r1=i18n.count(facts.previous_rate),
            r2=i18n.count(facts.last_rate),
        ),
    ]
    if facts.plays_rate is not None:
        lines.append(say.t("trending.plays", plays=i18n.count(facts.plays_rate)))
    if baseline.basis == "author":
        lines.append(
            say.t("trending.base_author", k=baseline.count, baseline=i18n.count(baseline.value))
        )
    elif baseline.basis == "topic":
        lines.append(
            say.t(
                "trending.base_topic",
                k=baseline.count,
                baseline=i18n.count(baseline.value),
                z=i18n.ratio(baseline.z or 0.0),
            )
        )
    else:
        floor = rule.min_interactions / (rule.window / 3600)
        lines.append(say.t("trending.base_none", floor=i18n.count(floor), ratio=rule.growth_ratio))
    if facts.terms:
        lines.append(say.t("terms", terms=say.terms(facts.terms)))
    lines += say.sample_lines(facts.samples)
    lines += say.footer(
        say.t(
            "trending.rule",
            growth=rule.growth_ratio,
            z=rule.min_z,
            window=window,
            min=rule.min_interactions,
        )
    )
    title = say.t(
        "trending.title",
        platform=say.platform(facts.post.platform),
        author=_author(facts.post),
        rate=i18n.count(facts.last_rate),
        ratio=i18n.ratio(facts.ratio),
    )
    return title, lines


@_wording(TopicTrendingFacts)
def _topic(facts: TopicTrendingFacts, say: _Say) -> tuple[str, list[str]]:
    rule = facts.rule
    lines = [
        say.t(
            "topic.counts",
            r1=i18n.count(facts.previous_rate),
            r2=i18n.count(facts.last_rate),
            views=i18n.count(facts.views),
            z=i18n.ratio(facts.z),
        ),
        *say.footer(
            say.t(
                "topic.rule",
                growth=rule.topic_growth_ratio,
                z=rule.min_z,
                min=i18n.count(rule.topic_min_views_per_hour),
            )
        ),
    ]
    title = say.t(
        "topic.title",
        topic=facts.topic,
        platform=say.platform(facts.platform),
        metric=say.metric(facts.platform),
        rate=i18n.count(facts.last_rate),
        baseline=i18n.count(facts.median_before),
    )
    return title, lines


# --- milestones, partners, UGC, coordination -----------------------------------------------


@_wording(MilestoneFacts)
def _milestone(facts: MilestoneFacts, say: _Say) -> tuple[str, list[str]]:
    marks = say.terms([i18n.count(m) for m in facts.marks])
    # a milestone's text ends with its rule, without the time line the other alerts carry
    lines = [
        say.t("milestone.counts", views=i18n.count(facts.views), time=say.time(facts.read_at)),
        say.t("rule", rule=say.t("milestone.rule", marks=marks)),
    ]
    title = say.t(
        "milestone.title",
        topic=facts.topic,
        platform=say.platform(facts.platform),
        metric=say.metric(facts.platform),
        mark=i18n.count(facts.mark),
    )
    return title, lines


@_wording(KolUploadFacts)
def _kol_upload(facts: KolUploadFacts, say: _Say) -> tuple[str, list[str]]:
    post = facts.post
    lines = [
        f"「{safe_text.quote(post.text, 80)}」",
        say.t(
            "kol_upload.counts",
            time=say.time(post.created_at),
            likes=i18n.count(post.likes),
            comments=i18n.count(post.comments),
            shares=i18n.count(post.shares if post.shares is not None else post.reposts),
        ),
    ]
    name = safe_text.quote(facts.name, 24)
    title = say.t("kol_upload.title", name=name, platform=say.platform(post.platform))
    return title, lines


@_wording(KolSilentFacts)
def _kol_silent(facts: KolSilentFacts, say: _Say) -> tuple[str, list[str]]:
    lines = [
        say.t("kol_silent.last", time=say.time(facts.last_post_at))
        if facts.last_post_at
        else say.t("kol_silent.never", time=say.time(facts.watching_since)),
        *say.footer(say.t("kol_silent.rule", days=f"{facts.silent_after / 86400:g}")),
    ]
    name = safe_text.quote(facts.name, 24)
    return say.t("kol_silent.title", name=name, days=facts.days), lines


@_wording(UgcFacts)
def _ugc(facts: UgcFacts, say: _Say) -> tuple[str, list[str]]:
    rule = facts.rule
    lines = []
    for item in facts.items:
        nomination = item.nomination
        nominated = (
            say.t(
                "ugc.nomination", **safe_text.nomination_parts(nomination.role, nomination.person)
            )
            if nomination
            else ""
        )
        lines.append(
            say.t(
                "ugc.item",
                author=_author(item.post),
                excerpt=safe_text.quote(item.post.text, 50),
                score=f"{item.post.ugc_score or 0:.2f}",
                nomination=nominated,
            )
        )
        if item.url:
            lines.append(f"  {item.url}")
    lines += say.footer(
        say.t(
            "ugc.rule",
            min=rule.min_score,
            hours=i18n.hours(rule.batch_every),
            max=rule.max_items,
        )
    )
    return say.t("ugc.title", n=facts.total), lines


@_wording(CoordinationFacts)
def _coordination(facts: CoordinationFacts, say: _Say) -> tuple[str, list[str]]:
    suspect, rule = facts.suspect, facts.rule
    authors = say.terms([safe_text.mask(a) for a in suspect.authors[:8]])
    lines = [
        say.t(
            "coordination.counts",
            messages=len(suspect.ids),
            first=say.time(suspect.first_at),
            last=say.time(suspect.last_at),
        ),
        say.t("coordination.sample", sample=safe_text.quote(suspect.sample, 60)),
        say.t("coordination.accounts", authors=authors),
        say.t("coordination.lead"),
        *say.footer(
            say.t(
                "coordination.rule",
                window=i18n.duration(say.language, rule.window),
                accounts=rule.min_accounts,
                distance=rule.max_distance,
            )
        ),
    ]
    return say.t("coordination.title", accounts=len(suspect.authors)), lines
