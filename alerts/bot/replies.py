"""Every reply the bot writes, in zh or en ([ui] language), as Telegram HTML.

Templates are HTML; every value put into one is escaped unless it is `Html` the bot built
itself, and citizens' words first go through `render.quote` (one line, links and @mentions
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

from alerts import render
from alerts.rules.base import top_terms
from monitor.config import Config, parse_duration
from monitor.models import PLATFORMS
from monitor.store import Store
from monitor.store.signals import CommentFacts, PostFacts
from monitor.store.team import LabelCandidate, MuteRow
from nlp.sentiment import LinearModel, load_model
from nlp.shares import comment_shares, format_share
from nlp.trends import wilson_interval
from nlp.ugc import Nomination, detect_nomination

MESSAGE_LIMIT = 4096
MIN_SCORED = 5  # /negative: threads with fewer scored comments say too little
TOP_ITEMS = 10
NEGATIVE_ITEMS = 5
UGC_ITEMS = 10
LABELS = ("positive", "neutral", "negative")


class Html(str):
    """Markup the bot built itself: put into a template as it is."""


CATALOG: dict[str, dict[str, str]] = {
    "zh": {
        "refusal": "抱歉，这个机器人只为本项目的运营团队服务，这里无法使用。",
        "help": (
            "<b>平凡监测机器人</b>\n"
            "/status 各平台采集状态、今日帖子与评论、话题阅读/播放及 24 小时增长\n"
            "/top [24h|7d] 互动增长最多的帖子\n"
            "/negative [24h|7d] 负面帖子：负面占比、关键词、代表评论\n"
            "/ugc 值得感谢或展示的 UGC 与提名\n"
            "/kol [7d|30d] 合作 KOL 榜单\n"
            "/digest 立即生成本周周报\n"
            "/label 标注模型最拿不准的评论（用于训练模型）\n"
            "/mute &lt;编号&gt; [时长] 静音，如 /mute #12 2d；/mute 列出静音中的对象\n"
            "/unmute &lt;编号&gt; 取消静音\n"
            "编号：提醒末尾的 #数字，或 平台:帖子/账号 id（如 weibo:4390…）。"
        ),
        "unknown": "不认识这个命令；/help 查看可用命令。",
        "link": '<a href="{url}">原帖</a>',
        "error": "出错了，已记录日志；请稍后再试。",
        "window.bad": "时长 {value} 不可用：请写 {low}到 {high}之间的时长，如 6h、24h、7d。",
        # /status
        "status.title": "<b>采集状态</b> · {time}",
        "status.platform": "<b>{platform}</b>：{state}",
        "status.ok": "✅ 正常",
        "status.open": "⛔ 已暂停采集（{reason}），{until} 后试探恢复",
        "status.half_open": "⚠️ 正在试探恢复（{reason}）",
        "status.off": "未启用",
        "status.stale": "（已 {hours} 小时无新数据）",
        "status.last": "最近一次成功采集：{time}（{ago}前）",
        "status.never": "尚无成功采集",
        "status.today": "今日（{zone}）帖子 {posts}，评论 {comments}",
        "status.sentiment": "近 24 小时评论情绪（{n} 条，校准概率均值，90% 区间）：{shares}",
        "status.topic": "#{topic}# {metric} {views}，24 小时 {growth}",
        "status.topic_since": "#{topic}# {metric} {views}，自 {since} 起 {growth}",
        "status.no_topics": "尚无话题读数",
        # /top
        "top.title": "<b>热门帖子</b> · 近 {window}互动增长",
        "top.item": "{n}. {platform} · {author} · +{gained} 互动",
        "top.counts": "   赞 {likes} · 评论 {comments} · 转发/分享 {shares}{plays} · {link}",
        "top.plays": " · 播放 {plays}",
        "top.none": "近 {window}没有互动增长的帖子。",
        "top.watched": "<b>本次活动视频</b>（按链接关注）",
        "top.watched_item": "{n}. {platform} · {name} · 近 {window} +{gained} 互动",
        "top.watched_pending": "{n}. {platform} · {name} · 尚未采集",
        # /negative
        "negative.title": (
            "<b>负面帖子</b> · 近 {window}（至少 {min} 条已评分评论，负面占比 ≥ {share}）"
        ),
        "negative.item": "{n}. {platform} · {author} · 负面 {share}（{neg}/{scored}）",
        "negative.terms": "   关键词：{terms}",
        "negative.sample": "   代表评论：{author}（赞 {likes}）「{quote}」",
        "negative.none": "近 {window}没有明显负面的帖子。",
        # /ugc
        "ugc.title": "<b>值得感谢或展示的 UGC</b> · 近 {window}（评分 ≥ {min} 或含提名）",
        "ugc.item": "{n}. {platform} · {author} · 评分 {score}{nomination}",
        "ugc.nomination": " · 提名：{role}{person}",
        "ugc.none": "近 {window}没有评分 ≥ {min} 的 UGC 或提名。",
        # /kol
        "kol.title": "<b>合作 KOL 榜单</b> · 近 {window}",
        "kol.item": "{n}. {name}（{platform}）：发布 {uploads}",
        "kol.counts": (
            "   播放 {plays} · 赞 {likes} · 评论 {comments} · 互动率 {rate} · 粉丝 {growth}"
        ),
        "kol.note": "互动率 = 每条发布的平均互动（赞 + 评论 + 转发/分享）÷ 粉丝数",
        "kol.none": "配置里没有合作 KOL（[[kols]]）。",
        # /digest
        "digest.missing": "周报功能尚未完成（周报议题）；完成后 /digest 会立即生成本周周报。",
        # /mute, /unmute
        "mute.usage": (
            "用法：/mute &lt;编号&gt; [时长]，如 /mute #12 2d、/mute weibo:4390… 6h"
            "（默认 24 小时）；/unmute &lt;编号&gt; 取消。"
            "编号是提醒末尾的 #数字，或 平台:帖子/账号 id。"
        ),
        "mute.done": "已静音 {subject}，至 {until}。",
        "mute.title": "<b>静音中</b>",
        "mute.item": "· {subject} 至 {until}{by}",
        "mute.by": "（{name}）",
        "mute.none": "当前没有静音。",
        "unmute.done": "已取消静音：{subject}。",
        "unmute.none": "{subject} 没有在静音。",
        "id.unknown": "找不到 {id}：请用提醒末尾的 #编号，或 平台:id（如 weibo:4390…）。",
        "id.ambiguous": "{id} 在两个平台上都有，请写成 weibo:{id} 或 douyin:{id}。",
        "id.no_subject": "提醒 #{id} 不针对某个帖子或账号，无法静音。",
        "subject.alert": "提醒 #{id} 的对象（{subject}）",
        # /label
        "label.title": "<b>情感标注</b> · 模型最拿不准的一条",
        "label.meta": "{platform} · {time} · 赞 {likes} · {author}",
        "label.text": "「{text}」",
        "label.post": "所在帖子：「{excerpt}」",
        "label.model": "模型：正面概率 {p}",
        "label.model3": "模型：正面 {p} · 中性 {u} · 负面 {n}",
        "label.ask": "这条评论的情感是？（团队已标注 {n} 条，将用于 pingfan nlp train --from-db）",
        "label.none": "暂时没有待标注的评论，谢谢！",
        "label.previous": "✓ 上一条已记为「{label}」",
        "label.skipped": "上一条已跳过",
        "label.saved": "已记录：{label}",
        "label.skip": "跳过",
        "label.positive": "正面",
        "label.neutral": "中性",
        "label.negative": "负面",
        # buttons on alerts
        "ack.line": "✅ {name} 于 {time} 确认",
        "ack.button": "✅ {name} {time}",
        "ack.done": "已确认",
        "ack.already": "{name} 已于 {time} 确认",
        "mute.button": "🔕 静音至 {until} · 取消",
        "mute.pressed": "已静音至 {until}；再按一次取消",
        "unmute.pressed": "已取消静音",
        "press.forged": "这个按钮已失效或无效，已拒绝。",
        "press.old": "这条消息太旧，按钮无法核对，已拒绝；请重新发送命令。",
        "press.stale": "这个按钮已失效（对应的提醒或评论已不在库中），已拒绝。",
        "press.refused": "抱歉，只有运营团队可以使用这些按钮。",
    },
    "en": {
        "refusal": "Sorry, this bot only serves the campaign team; it cannot be used here.",
        "help": (
            "<b>pingfan bot</b>\n"
            "/status collection per platform, today's posts and comments, topic reads/views "
            "and their 24 h growth\n"
            "/top [24h|7d] posts gaining the most interactions\n"
            "/negative [24h|7d] negative threads: share, top terms, a representative comment\n"
            "/ugc UGC and nominations to thank or feature\n"
            "/kol [7d|30d] partner KOL leaderboard\n"
            "/digest this week's digest now\n"
            "/label label the comment the model is least sure about (teaches the model)\n"
            "/mute &lt;id&gt; [duration] e.g. /mute #12 2d; /mute alone lists the mutes\n"
            "/unmute &lt;id&gt;\n"
            "An id is an alert's #number (its last line) or platform:post-or-account-id "
            "(e.g. weibo:4390…)."
        ),
        "unknown": "Unknown command; /help lists them.",
        "link": '<a href="{url}">post</a>',
        "error": "Something went wrong; it is logged. Please try again later.",
        "window.bad": "Cannot use the duration {value}: write one from {low} to {high}, "
        "like 6h, 24h, 7d.",
        "status.title": "<b>Collection status</b> · {time}",
        "status.platform": "<b>{platform}</b>: {state}",
        "status.ok": "✅ running",
        "status.open": "⛔ paused ({reason}); probing again at {until}",
        "status.half_open": "⚠️ probing for recovery ({reason})",
        "status.off": "not enabled",
        "status.stale": " (nothing new for {hours} h)",
        "status.last": "Last successful poll: {time} ({ago} ago)",
        "status.never": "No successful poll yet",
        "status.today": "Today ({zone}): posts {posts}, comments {comments}",
        "status.sentiment": "Comments, last 24 h ({n}; mean probability, 90% interval): {shares}",
        "status.topic": "#{topic}# {metric} {views}, 24 h {growth}",
        "status.topic_since": "#{topic}# {metric} {views}, since {since} {growth}",
        "status.no_topics": "No topic readings yet",
        "top.title": "<b>Trending posts</b> · interactions gained in {window}",
        "top.item": "{n}. {platform} · {author} · +{gained} interactions",
        "top.counts": "   {likes} likes · {comments} comments · {shares} shares{plays} · {link}",
        "top.plays": " · {plays} plays",
        "top.none": "No post gained interactions in {window}.",
        "top.watched": "<b>This campaign's videos</b> (watched by link)",
        "top.watched_item": "{n}. {platform} · {name} · +{gained} interactions in {window}",
        "top.watched_pending": "{n}. {platform} · {name} · not collected yet",
        "negative.title": (
            "<b>Negative threads</b> · last {window} (≥ {min} scored comments, ≥ {share} negative)"
        ),
        "negative.item": "{n}. {platform} · {author} · {share} negative ({neg}/{scored})",
        "negative.terms": "   Top terms: {terms}",
        "negative.sample": "   Representative: {author} ({likes} likes) “{quote}”",
        "negative.none": "No clearly negative thread in {window}.",
        "ugc.title": (
            "<b>UGC to thank or feature</b> · last {window} (score ≥ {min} or a nomination)"
        ),
        "ugc.item": "{n}. {platform} · {author} · score {score}{nomination}",
        "ugc.nomination": " · nominates: {role} {person}",
        "ugc.none": "No UGC scoring ≥ {min} and no nomination in {window}.",
        "kol.title": "<b>Partner KOLs</b> · last {window}",
        "kol.item": "{n}. {name} ({platform}): uploads {uploads}",
        "kol.counts": (
            "   {plays} plays · {likes} likes · {comments} comments · engagement {rate} · "
            "followers {growth}"
        ),
        "kol.note": "Engagement = mean interactions (likes + comments + shares) per upload ÷ "
        "followers",
        "kol.none": "No partner KOLs in the config ([[kols]]).",
        "digest.missing": (
            "The weekly digest is not built yet (the digest issue); then /digest makes this "
            "week's digest at once."
        ),
        "mute.usage": (
            "Usage: /mute &lt;id&gt; [duration], e.g. /mute #12 2d, /mute weibo:4390… 6h "
            "(24 h by default); /unmute &lt;id&gt; undoes it. An id is an alert's #number or "
            "platform:post-or-account-id."
        ),
        "mute.done": "Muted {subject} until {until}.",
        "mute.title": "<b>Muted</b>",
        "mute.item": "· {subject} until {until}{by}",
        "mute.by": " ({name})",
        "mute.none": "Nothing is muted.",
        "unmute.done": "Unmuted {subject}.",
        "unmute.none": "{subject} is not muted.",
        "id.unknown": (
            "Cannot find {id}: use an alert's #number or platform:id (e.g. weibo:4390…)."
        ),
        "id.ambiguous": "{id} exists on both platforms: write weibo:{id} or douyin:{id}.",
        "id.no_subject": "Alert #{id} is not about one post or account; it cannot be muted.",
        "subject.alert": "the subject of alert #{id} ({subject})",
        "label.title": "<b>Sentiment label</b> · the comment the model is least sure about",
        "label.meta": "{platform} · {time} · {likes} likes · {author}",
        "label.text": "“{text}”",
        "label.post": "On the post: “{excerpt}”",
        "label.model": "Model: P(positive) {p}",
        "label.model3": "Model: positive {p} · neutral {u} · negative {n}",
        "label.ask": (
            "What is this comment's sentiment? ({n} labels given so far; used by "
            "pingfan nlp train --from-db)"
        ),
        "label.none": "No comment is waiting for a label. Thank you!",
        "label.previous": "✓ The last one was labelled “{label}”",
        "label.skipped": "The last one was skipped",
        "label.saved": "Saved: {label}",
        "label.skip": "Skip",
        "label.positive": "positive",
        "label.neutral": "neutral",
        "label.negative": "negative",
        "ack.line": "✅ Acknowledged by {name} at {time}",
        "ack.button": "✅ {name} {time}",
        "ack.done": "Acknowledged",
        "ack.already": "Already acknowledged by {name} at {time}",
        "mute.button": "🔕 Muted until {until} · undo",
        "mute.pressed": "Muted until {until}; press again to undo",
        "unmute.pressed": "Unmuted",
        "press.forged": "This button is no longer valid (or never was); refused.",
        "press.old": "This message is too old to check its buttons; refused. Send the command "
        "again.",
        "press.stale": "This button is stale (its alert or comment is no longer stored); refused.",
        "press.refused": "Sorry, only the campaign team may use these buttons.",
    },
}


def fill(template: str, **values: object) -> Html:
    """`template` (HTML) with its values escaped, except `Html` ones."""
    return Html(
        template.format(
            **{
                key: value if isinstance(value, Html) else render.escape_html(str(value))
                for key, value in values.items()
            }
        )
    )


def fit(lines: Iterable[str], limit: int = MESSAGE_LIMIT) -> str:
    """The lines joined; the ones past `limit` dropped whole, ending in "…"."""
    return render.fit_lines(list(lines), limit, render.utf16_len)


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
        return render.lang_of(self.config.ui.language)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.config.ui.timezone)

    def t(self, key: str, **values: object) -> Html:
        return fill(CATALOG[self.language][key], **values)

    def time(self, moment: datetime) -> str:
        return render.local_time(moment, self.tz)

    def short_time(self, moment: datetime) -> str:
        return moment.astimezone(self.tz).strftime("%m-%d %H:%M")

    def platform(self, platform: str | None) -> str:
        return render.platform_name(self.language, platform)

    def window(self, seconds: float) -> str:
        """ "24 小时", "7 天", "30 分钟": days from two days on, whole hours below."""
        if seconds < 2 * 86400 and seconds >= 3600 and seconds % 3600 == 0:
            hours = int(seconds // 3600)
            return f"{hours} 小时" if self.language == "zh" else f"{hours} h"
        return render.duration(self.language, seconds)

    def label_name(self, label: str) -> str:
        return str(self.t(f"label.{label}"))

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
                    reason=render.clean_line(status.circuit_reason) or "–",
                    until=self.time(status.open_until) if status.open_until else "–",
                )
            elif status.circuit == "half_open":
                state = self.t(
                    "status.half_open", reason=render.clean_line(status.circuit_reason) or "–"
                )
            else:
                state = self.t("status.ok")
            last = status.last_success_at
            if last is not None and (now - last).total_seconds() > stale_after:
                state = Html(
                    state + self.t("status.stale", hours=render.hours((now - last).total_seconds()))
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
                    posts=render.count(status.posts_today),
                    comments=render.count(status.comments_today),
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
                        topic=render.quote(topic.topic, 30),
                        metric=render.t(self.language, f"metric.{platform}"),
                        views=render.count(topic.views),
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
            shown = "，" if self.language == "zh" else ", "
            lines.append(
                self.t(
                    "status.sentiment",
                    n=render.count(n),
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
                    author=author(post.author_kind, post.author_name, post.author_id),
                    gained=render.count(post.gained),
                )
            )
            lines.append("   " + self.t("label.text", text=render.quote(post.text, 60)))
            plays = self.t("top.plays", plays=render.count(post.plays)) if post.plays else ""
            lines.append(
                self.t(
                    "top.counts",
                    likes=render.count(post.likes),
                    comments=render.count(post.comments),
                    shares=render.count(post.shares),
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
            name = render.quote(item.note or item.text or item.id or item.url, 30)
            platform = self.platform(item.platform)
            if not item.collected:
                lines.append(self.t("top.watched_pending", n=n, platform=platform, name=name))
                continue
            counts = item.counts
            gained = render.count(item.gained if item.gained is not None else 0)
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
            plays = self.t("top.plays", plays=render.count(counts.plays)) if counts.plays else ""
            shares = (counts.shares or 0) + (counts.reposts or 0)
            lines.append(
                self.t(
                    "top.counts",
                    likes=render.count(counts.likes),
                    comments=render.count(counts.comments),
                    shares=render.count(shares),
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
            self.t("negative.title", window=window, min=MIN_SCORED, share=render.pct(floor))
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
                    author=author(post.author_kind, post.author_name, post.author_id)
                    if post
                    else "?",
                    share=render.pct(counts.negative / counts.scored),
                    neg=counts.negative,
                    scored=counts.scored,
                )
            )
            if post is not None:
                lines.append("   " + self.t("label.text", text=render.quote(post.text, 60)))
            terms = top_terms([c.text for c in negatives])
            if terms:
                lines.append(
                    self.t("negative.terms", terms=render.join_terms(self.language, terms))
                )
            sample = representative(negatives)
            if sample is not None:
                lines.append(
                    self.t(
                        "negative.sample",
                        author=render.mask(sample.author_id),
                        likes=render.count(sample.likes or 0),
                        quote=render.quote(sample.text, 80),
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
        items: list[tuple[Nomination | None, float, int, PostFacts]] = []
        for post in self.store.signals.ugc_posts(
            after_pk=0, created_since=now - timedelta(seconds=rule.lookback), until=now
        ):
            nomination = detect_nomination(post.text)
            score = post.ugc_score or 0.0
            if score >= rule.min_score or nomination is not None:
                items.append((nomination, score, post.pk, post))
        if not items:
            return self.t("ugc.none", window=window, min=rule.min_score)
        # nominations first, then by score
        items.sort(key=lambda item: (item[0] is None, -item[1], item[2]))
        lines: list[str] = [self.t("ugc.title", window=window, min=rule.min_score)]
        for n, (nomination, score, _, post) in enumerate(items[:UGC_ITEMS], 1):
            nominated = (
                self.t(
                    "ugc.nomination",
                    role=render.quote(nomination.role, 12),
                    person=render.quote(nomination.person or "", 12),
                )
                if nomination
                else ""
            )
            lines.append(
                self.t(
                    "ugc.item",
                    n=n,
                    platform=self.platform(post.platform),
                    author=author(post.author_kind, post.author_name, post.author_id),
                    score=f"{score:.2f}",
                    nomination=Html(nominated),
                )
            )
            lines.append("   " + self.t("label.text", text=render.quote(post.text, 80)))
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
                    name=render.quote(names[(row.platform, row.id)], 24),
                    platform=self.platform(row.platform),
                    uploads=row.uploads,
                )
            )
            lines.append(
                self.t(
                    "kol.counts",
                    plays=render.count(row.plays),
                    likes=render.count(row.likes),
                    comments=render.count(row.comments),
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
                likes=render.count(candidate.likes or 0),
                author=render.mask(candidate.author_id),
            )
        )
        lines.append(self.t("label.text", text=render.quote(candidate.text, 500)))
        if candidate.post_text:
            lines.append(self.t("label.post", excerpt=render.quote(candidate.post_text, 60)))
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
                    by=self.t("mute.by", name=render.clean_line(row.muted_by))
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
        safe = render.safe_url(url) or render.safe_url(f"{base.rstrip('/')}/{path}/{post_id}")
        if safe is None:
            return Html("")
        return self.t("link", url=safe)


def author(kind: str, name: str, account_id: str) -> str:
    """Partners and the organiser by name; an ordinary user masked (as in the alerts)."""
    if kind in ("kol", "official"):
        return render.quote(name, 24)
    return render.mask(name or account_id)


def representative(comments: Sequence[CommentFacts]) -> CommentFacts | None:
    """The most liked comment with some words in it (the store sorts by likes)."""
    return next((c for c in comments if render.quote(c.text, 80)), None)


def _model_metrics(config: Config) -> dict[str, float]:
    """The configured sentiment model's metrics (its calibration prior for nlp.shares)."""
    try:
        model = load_model(config.nlp.model)
    except (OSError, ValueError):
        return {}
    return model.metrics if isinstance(model, LinearModel) else {}
