"""Every reply the bot writes, in zh or en ([ui] language), as Telegram HTML.

Templates are HTML; every value put into one is escaped unless it is `Html` the bot built
itself, and citizens' words first go through `safe_text.quote` (one line, links and @mentions
broken) as in the alerts. A reply is at most `MESSAGE_LIMIT` UTF-16 units of HTML (more than
Telegram counts after parsing, so always within its limit): lines that do not fit are dropped
whole, so no tag is ever cut. Authors are masked unless they are partners or the organiser.
Times are shown in [ui] timezone; `now` comes from the caller (the daemon's clock).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from alerts import i18n, safe_text
from alerts.rules.base import top_terms
from monitor.config import Config, parse_duration
from monitor.models import PLATFORMS
from monitor.store import Store
from monitor.store.signals import CommentFacts
from monitor.store.team import LabelCandidate, MuteRow
from nlp.sentiment import model_summary
from nlp.shares import comment_shares, format_share
from nlp.trends import wilson_interval
from nlp.ugc import select_ugc

MESSAGE_LIMIT = 4096
MIN_SCORED = 5  # /negative: threads with fewer scored comments say too little
TOP_ITEMS = 10
NEGATIVE_ITEMS = 5
UGC_ITEMS = 10
LABELS = ("positive", "neutral", "negative")


class Html(str):
    """Markup the bot built itself: put into a template as it is."""


def fill(template: str, **values: object) -> Html:
    """`template` (HTML) with its values escaped, except `Html` ones."""
    return Html(
        template.format(
            **{
                key: value if isinstance(value, Html) else safe_text.escape_html(str(value))
                for key, value in values.items()
            }
        )
    )


def fit(lines: Iterable[str], limit: int = MESSAGE_LIMIT) -> str:
    """The lines joined; the ones past `limit` dropped whole, ending in "…"."""
    return safe_text.fit_lines(list(lines), limit, safe_text.utf16_len)


def parse_window(
    text: str | None, default: float, *, shortest: float = 3600.0, longest: float = 30 * 86400.0
) -> float | None:
    """Seconds from "24h", "7d", "3天", "12小时" (`default` for none); None when unreadable
    or outside [shortest, longest]."""
    if not text:
        return default
    value = text.strip().lower()
    for word, unit in (("小时", "h"), ("分钟", "m"), ("天", "d"), ("周", "w")):
        value = value.replace(word, unit)
    try:
        seconds = parse_duration(value)
    except ValueError:
        return None
    return seconds if shortest <= seconds <= longest else None


@dataclass(frozen=True)
class Replies:
    """Reads the store through its named queries and writes the replies."""

    config: Config
    store: Store

    @property
    def language(self) -> str:
        return i18n.lang_of(self.config.ui.language)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.config.ui.timezone)

    def t(self, key: str, **values: object) -> Html:
        """The bot's text `key` (`bot.<key>` in the catalogue), its values escaped."""
        return fill(i18n.template(self.language, f"bot.{key}"), **values)

    def time(self, moment: datetime) -> str:
        return i18n.local_time(moment, self.tz)

    def short_time(self, moment: datetime) -> str:
        return moment.astimezone(self.tz).strftime("%m-%d %H:%M")

    def platform(self, platform: str | None) -> str:
        return i18n.platform_name(self.language, platform)

    def window(self, seconds: float) -> str:
        """ "24 小时", "7 天", "30 分钟": days from two days on, whole hours below."""
        if seconds < 2 * 86400 and seconds >= 3600 and seconds % 3600 == 0:
            return i18n.t(self.language, "unit.hours", n=int(seconds // 3600))
        return i18n.duration(self.language, seconds)

    def label_name(self, label: str) -> str:
        return i18n.name(self.language, "label", label)

    # --- simple ones ------------------------------------------------------------------

    def help(self) -> str:
        return self.t("help")

    def line(self, key: str, **values: object) -> str:
        return self.t(key, **values)

    # --- /status ----------------------------------------------------------------------

    def status(self, now: datetime) -> str:
        local = now.astimezone(self.tz)
        day_start = datetime.combine(local.date(), time(0), tzinfo=self.tz)
        enabled = {"weibo": self.config.weibo.enabled, "douyin": self.config.douyin.enabled}
        statuses = {
            s.platform: s
            for s in self.store.team.platform_status(
                [p for p in PLATFORMS if enabled[p]], day_start=day_start, now=now
            )
        }
        topics = self.store.team.topic_growth(since=now - timedelta(days=1), now=now)
        stale_after = self.config.alerts.health.stale_after
        lines: list[str] = [self.t("status.title", time=self.time(now))]
        for platform in PLATFORMS:
            status = statuses.get(platform)
            if status is None:
                lines.append(
                    self.t(
                        "status.platform",
                        platform=self.platform(platform),
                        state=self.t("status.off"),
                    )
                )
                continue
            if status.circuit == "open":
                state = self.t(
                    "status.open",
                    reason=safe_text.clean_line(status.circuit_reason) or "–",
                    until=self.time(status.open_until) if status.open_until else "–",
                )
            elif status.circuit == "half_open":
                state = self.t(
                    "status.half_open", reason=safe_text.clean_line(status.circuit_reason) or "–"
                )
            else:
                state = self.t("status.ok")
            last = status.last_success_at
            if last is not None and (now - last).total_seconds() > stale_after:
                state = Html(
                    state + self.t("status.stale", hours=i18n.hours((now - last).total_seconds()))
                )
            lines.append(self.t("status.platform", platform=self.platform(platform), state=state))
            if last is None:
                lines.append("  " + self.t("status.never"))
            else:
                ago = max((now - last).total_seconds(), 60.0)
                lines.append(
                    "  " + self.t("status.last", time=self.time(last), ago=self.window(ago))
                )
            lines.append(
                "  "
                + self.t(
                    "status.today",
                    zone=self.config.ui.timezone,
                    posts=i18n.count(status.posts_today),
                    comments=i18n.count(status.comments_today),
                )
            )
            mine = [topic for topic in topics if topic.platform == platform]
            if not mine:
                lines.append("  " + self.t("status.no_topics"))
            for topic in mine:
                growth = topic.growth
                shown = "–" if growth is None else f"{'+' if growth >= 0 else ''}{growth:,}"
                key = "status.topic"
                since = ""
                if topic.before_at is not None and topic.before_at > now - timedelta(hours=23):
                    key, since = "status.topic_since", self.time(topic.before_at)
                lines.append(
                    "  "
                    + self.t(
                        key,
                        topic=safe_text.quote(topic.topic, 30),
                        metric=i18n.name(self.language, "metric", platform),
                        views=i18n.count(topic.views),
                        growth=shown,
                        since=since,
                    )
                )
        shares = comment_shares(
            self.store.reports.comment_probabilities(since=now - timedelta(days=1)),
            _model_metrics(self.config),
        )
        if shares is not None:
            n = shares.n
            shown = i18n.t(self.language, "sep.clause")
            lines.append(
                self.t(
                    "status.sentiment",
                    n=i18n.count(n),
                    shares=shown.join(
                        format_share(self.label_name(share.label), share) for share in shares
                    ),
                )
            )
        return fit(lines)

    # --- /top -------------------------------------------------------------------------

    def top(self, now: datetime, seconds: float) -> str:
        posts = self.store.team.top_posts(
            PLATFORMS, since=now - timedelta(seconds=seconds), now=now, limit=TOP_ITEMS
        )
        window = self.window(seconds)
        watched = self._watched_lines(now, seconds)
        if not posts:
            return fit([self.t("top.none", window=window), *watched])
        lines: list[str] = [self.t("top.title", window=window)]
        for n, post in enumerate(posts, 1):
            lines.append(
                self.t(
                    "top.item",
                    n=n,
                    platform=self.platform(post.platform),
                    author=safe_text.shown_author(
                        post.author_kind, post.author_name, post.author_id
                    ),
                    gained=i18n.count(post.gained),
                )
            )
            lines.append("   " + self.t("label.text", text=safe_text.quote(post.text, 60)))
            plays = self.t("top.plays", plays=i18n.count(post.plays)) if post.plays else ""
            lines.append(
                self.t(
                    "top.counts",
                    likes=i18n.count(post.likes),
                    comments=i18n.count(post.comments),
                    shares=i18n.count(post.shares),
                    plays=Html(plays),
                    link=self.link(post.platform, post.id, post.url),
                )
            )
        return fit([*lines, *watched])

    def _watched_lines(self, now: datetime, seconds: float) -> list[str]:
        """本次活动视频: every post watched by link, with its gain in the window."""
        # the counts as stored now (the bot answers about the present)
        items = self.store.watch.watched_posts(since=now - timedelta(seconds=seconds))
        if not items:
            return []
        lines: list[str] = ["", self.t("top.watched")]
        window = self.window(seconds)
        for n, item in enumerate(items, 1):
            name = safe_text.quote(item.note or item.text or item.id or item.url, 30)
            platform = self.platform(item.platform)
            if not item.collected:
                lines.append(self.t("top.watched_pending", n=n, platform=platform, name=name))
                continue
            counts = item.counts
            gained = i18n.count(item.gained if item.gained is not None else 0)
            lines.append(
                self.t(
                    "top.watched_item",
                    n=n,
                    platform=platform,
                    name=name,
                    window=window,
                    gained=gained,
                )
            )
            plays = self.t("top.plays", plays=i18n.count(counts.plays)) if counts.plays else ""
            shares = (counts.shares or 0) + (counts.reposts or 0)
            lines.append(
                self.t(
                    "top.counts",
                    likes=i18n.count(counts.likes),
                    comments=i18n.count(counts.comments),
                    shares=i18n.count(shares),
                    plays=Html(plays),
                    link=self.link(item.platform, item.id, item.url),
                )
            )
        return lines

    # --- /negative --------------------------------------------------------------------

    def negative(self, now: datetime, seconds: float) -> str:
        since = now - timedelta(seconds=seconds)
        floor = self.config.alerts.negative_thread.rise_min_share
        window = self.window(seconds)
        ranked = []
        for counts in self.store.signals.thread_counts(since=since, until=now):
            if counts.scored < MIN_SCORED or counts.negative / counts.scored < floor:
                continue
            lower = wilson_interval(counts.negative, counts.scored)[0]
            ranked.append((lower, counts))
        ranked.sort(
            key=lambda item: (-item[0], -item[1].negative, item[1].platform, item[1].post_id)
        )
        ranked = ranked[:NEGATIVE_ITEMS]
        if not ranked:
            return self.t("negative.none", window=window)
        posts = self.store.signals.posts_by_keys((c.platform, c.post_id) for _, c in ranked)
        lines: list[str] = [
            self.t("negative.title", window=window, min=MIN_SCORED, share=i18n.pct(floor))
        ]
        for n, (_, counts) in enumerate(ranked, 1):
            post = posts.get((counts.platform, counts.post_id))
            negatives = self.store.signals.thread_comments(
                counts.platform, counts.post_id, since=since, until=now, label="negative", limit=50
            )
            lines.append(
                self.t(
                    "negative.item",
                    n=n,
                    platform=self.platform(counts.platform),
                    author=safe_text.shown_author(
                        post.author_kind, post.author_name, post.author_id
                    )
                    if post
                    else "?",
                    share=i18n.pct(counts.negative / counts.scored),
                    neg=counts.negative,
                    scored=counts.scored,
                )
            )
            if post is not None:
                lines.append("   " + self.t("label.text", text=safe_text.quote(post.text, 60)))
            terms = top_terms([c.text for c in negatives])
            if terms:
                lines.append(self.t("negative.terms", terms=i18n.join_terms(self.language, terms)))
            sample = representative(negatives)
            if sample is not None:
                lines.append(
                    self.t(
                        "negative.sample",
                        author=safe_text.mask(sample.author_id),
                        likes=i18n.count(sample.likes or 0),
                        quote=safe_text.quote(sample.text, 80),
                    )
                )
            lines.append(
                "   " + self.link(counts.platform, counts.post_id, post.url if post else None)
            )
        return fit(lines)

    # --- /ugc -------------------------------------------------------------------------

    def ugc(self, now: datetime) -> str:
        rule = self.config.alerts.ugc
        window = self.window(rule.lookback)
        posts = self.store.signals.ugc_posts(
            after_pk=0, created_since=now - timedelta(seconds=rule.lookback), until=now
        )
        selection = select_ugc(
            ((post, post.text, post.ugc_score) for post in posts),
            min_score=rule.min_score,
            limit=UGC_ITEMS,
        )
        if not selection.worth:
            return self.t("ugc.none", window=window, min=rule.min_score)
        lines: list[str] = [self.t("ugc.title", window=window, min=rule.min_score)]
        for n, pick in enumerate(selection.shown, 1):
            post, nomination = pick.item, pick.nomination
            nominated = (
                self.t(
                    "ugc.nomination",
                    **safe_text.nomination_parts(nomination.role, nomination.person),
                )
                if nomination
                else ""
            )
            lines.append(
                self.t(
                    "ugc.item",
                    n=n,
                    platform=self.platform(post.platform),
                    author=safe_text.shown_author(
                        post.author_kind, post.author_name, post.author_id
                    ),
                    score=f"{pick.score:.2f}",
                    nomination=Html(nominated),
                )
            )
            lines.append("   " + self.t("label.text", text=safe_text.quote(post.text, 80)))
            lines.append("   " + self.link(post.platform, post.id, post.url))
        return fit(lines)

    # --- /kol -------------------------------------------------------------------------

    def kol(self, now: datetime, seconds: float) -> str:
        kols = self.config.kols
        if not kols:
            return self.t("kol.none")
        names: dict[tuple[str, str], str] = {(k.platform, k.id): k.name for k in kols}
        rows = self.store.team.kol_table(
            [(k.platform, k.id) for k in kols], since=now - timedelta(seconds=seconds), now=now
        )
        rows.sort(key=lambda r: (-r.interactions, -r.uploads, r.platform, r.id))
        lines: list[str] = [self.t("kol.title", window=self.window(seconds))]
        for n, row in enumerate(rows, 1):
            growth = row.follower_growth
            rate = row.engagement_rate
            lines.append(
                self.t(
                    "kol.item",
                    n=n,
                    name=safe_text.quote(names[(row.platform, row.id)], 24),
                    platform=self.platform(row.platform),
                    uploads=row.uploads,
                )
            )
            lines.append(
                self.t(
                    "kol.counts",
                    plays=i18n.count(row.plays),
                    likes=i18n.count(row.likes),
                    comments=i18n.count(row.comments),
                    rate="–" if rate is None else f"{rate:.2%}",
                    growth="–" if growth is None else f"{'+' if growth >= 0 else ''}{growth:,}",
                )
            )
        lines.append(f"<i>{self.t('kol.note')}</i>")
        return fit(lines)

    # --- /label -----------------------------------------------------------------------

    def label(self, candidate: LabelCandidate | None, previous: str | None = None) -> str:
        """The labelling card for `candidate`; `previous` is the last press ("skip" or a
        label) to confirm at the top."""
        lines: list[str] = []
        if previous == "skip":
            lines.append(self.t("label.skipped"))
        elif previous:
            lines.append(self.t("label.previous", label=self.label_name(previous)))
        if candidate is None:
            lines.append(self.t("label.none"))
            return fit(lines)
        lines.append(self.t("label.title"))
        lines.append(
            self.t(
                "label.meta",
                platform=self.platform(candidate.platform),
                time=self.time(candidate.created_at),
                likes=i18n.count(candidate.likes or 0),
                author=safe_text.mask(candidate.author_id),
            )
        )
        lines.append(self.t("label.text", text=safe_text.quote(candidate.text, 500)))
        if candidate.post_text:
            lines.append(self.t("label.post", excerpt=safe_text.quote(candidate.post_text, 60)))
        if candidate.sentiment is not None and candidate.p_negative is not None:
            lines.append(
                self.t(
                    "label.model3",
                    p=f"{candidate.sentiment:.2f}",
                    u=f"{candidate.p_neutral or 0:.2f}",
                    n=f"{candidate.p_negative:.2f}",
                )
            )
        elif candidate.sentiment is not None:
            lines.append(self.t("label.model", p=f"{candidate.sentiment:.2f}"))
        lines.append(self.t("label.ask", n=self.store.team.team_label_count()))
        return fit(lines)

    # --- /mute ------------------------------------------------------------------------

    def mutes(self, rows: Sequence[MuteRow]) -> str:
        if not rows:
            return fit([self.t("mute.none"), self.t("mute.usage")])
        lines: list[str] = [self.t("mute.title")]
        for row in rows:
            lines.append(
                self.t(
                    "mute.item",
                    subject=self.subject(row.platform, row.subject_id),
                    until=self.time(row.until),
                    by=self.t("mute.by", name=safe_text.clean_line(row.muted_by))
                    if row.muted_by
                    else "",
                )
            )
        return fit(lines)

    def subject(self, platform: str | None, subject_id: str) -> str:
        name = self.platform(platform)
        return f"{name} {subject_id}" if name else subject_id

    # --- pieces -----------------------------------------------------------------------

    def link(self, platform: str, post_id: str, url: str | None) -> Html:
        """The post's link: the stored one, else the platform's own address for it."""
        base = self.config.weibo.base_url if platform == "weibo" else self.config.douyin.base_url
        path = "detail" if platform == "weibo" else "video"
        safe = safe_text.safe_url(url) or safe_text.safe_url(f"{base.rstrip('/')}/{path}/{post_id}")
        if safe is None:
            return Html("")
        return self.t("link", url=safe)


def representative(comments: Sequence[CommentFacts]) -> CommentFacts | None:
    """The most liked comment with some words in it (the store sorts by likes)."""
    return next((c for c in comments if safe_text.quote(c.text, 80)), None)


def _model_metrics(config: Config) -> dict[str, float]:
    """The configured sentiment model's metrics (its calibration prior for nlp.shares)."""
    try:
        return model_summary(config.nlp.model).metrics
    except (OSError, ValueError):
        return {}
