"""Words and escaping for alerts: the zh/en catalogue, masking, making user text inert, and
each sink's escaper.

Two layers keep citizens' words from acting on a chat. `quote` (at rule time, for every sink)
puts user text on one line, drops control characters, breaks links and @mentions with a
visible or invisible mark, and shortens it. The sinks then escape the whole alert for their
own markup (`escape_html` for Telegram; the webhooks send plain text or structured JSON), so
`</b><a href="http://evil">点我</a>` or `@all` shows as text and adds no link, mention or button.
"""

from __future__ import annotations

import math
import re
import unicodedata
import urllib.parse
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

WORD_JOINER = "\u2060"  # invisible; stops a client from reading "@name" as a mention

PLATFORM_NAMES = {
    "zh": {"weibo": "微博", "douyin": "抖音"},
    "en": {"weibo": "Weibo", "douyin": "Douyin"},
}
SEVERITY_NAMES = {
    "zh": {"info": "提示", "warning": "注意", "critical": "紧急"},
    "en": {"info": "info", "warning": "warning", "critical": "critical"},
}

CATALOG: dict[str, dict[str, str]] = {
    "zh": {
        "escalated": "升级：",
        "duplicate": "（可能重复：上次发送未确认）",
        "time": "时间：{time}",
        "rule": "规则：{rule}",
        "terms": "关键词：{terms}",
        "samples": "代表评论：",
        "sample": "· {author}（赞 {likes}）：「{quote}」",
        "post": "帖子：{author}「{excerpt}」",
        "link": "链接：{url}",
        # negative thread
        "negative.title": "负面舆情：{platform}帖子负面占比 {share}（{n} 条评论）",
        "negative.rise_title": "负面上升：{platform}帖子负面占比 {p0} → {share}",
        "negative.word_title": "敏感词：{platform}帖子出现「{word}」",
        "negative.counts": (
            "近 {hours} 小时 {n} 条已评分评论中负面 {neg} 条（{share}，95% 置信下限 {lb}）"
        ),
        "negative.rise": "此前 {n0} 条评论负面占比 {p0}；本窗口升至 {share}",
        "negative.word_comment": "敏感词「{word}」出现在高赞评论：{author}（赞 {likes}）",
        "negative.word_post": "敏感词「{word}」出现在合作 KOL {name} 的帖子中",
        "negative.rule": (
            "负面占比的 95% 置信下限 ≥ {threshold}（至少 {min} 条评论），"
            "或较此前升高 {ratio} 倍且下限 ≥ {rise_min}，或高赞（≥{likes}）评论/KOL 帖子含敏感词"
        ),
        # trending
        "trending.title": "热度飙升：{platform} {author} 的帖子 {rate}/小时（基线的 {ratio} 倍）",
        "trending.counts": (
            "近 {window} 互动增加 {gained}（赞+评+转）；最近两次读数 {r1}/小时、{r2}/小时"
        ),
        "trending.plays": "播放 {plays}/小时",
        "trending.base_author": "基线：该作者近期 {k} 条帖子同龄时的中位速度 {baseline}/小时",
        "trending.base_topic": (
            "基线：同平台话题内 {k} 条帖子同龄时的中位速度 {baseline}/小时，稳健 z = {z}"
        ),
        "trending.base_none": "暂无可比基线：按最低量 {floor}/小时的 {ratio} 倍判断",
        "trending.rule": (
            "增速 ≥ 基线 {growth} 倍（话题基线另需 z ≥ {z}），窗口 {window} 内至少 {min} 次互动，"
            "连续两次读数确认"
        ),
        "topic.title": (
            "话题加速：#{topic}# {platform}{metric} {rate}/小时（此前中位 {baseline}/小时）"
        ),
        "topic.counts": "最近两次读数 {r1}/小时、{r2}/小时，累计 {views}；稳健 z = {z}",
        "topic.rule": "增速 ≥ 此前中位 {growth} 倍且 z ≥ {z}，至少 {min}/小时，连续两次读数确认",
        "metric.weibo": "阅读",
        "metric.douyin": "播放",
        # milestones
        "milestone.title": "里程碑：#{topic}# {platform}{metric}突破 {mark}",
        "milestone.counts": "当前 {views}（{time} 读数）",
        "milestone.rule": "设定的里程碑：{marks}",
        # kol
        "kol_upload.title": "合作 KOL 发布：{name}（{platform}）",
        "kol_upload.counts": "发布于 {time}；赞 {likes}，评论 {comments}，转发/分享 {shares}",
        "kol_silent.title": "合作 KOL 沉默：{name} 已 {days} 天未发布",
        "kol_silent.last": "最近一次发布：{time}",
        "kol_silent.never": "自 {time} 开始监测以来未见发布",
        "kol_silent.rule": "超过 {days} 天无发布",
        # ugc
        "ugc.title": "UGC 与提名：{n} 条值得感谢或展示",
        "ugc.item": "· {author}：「{excerpt}」评分 {score}{nomination}",
        "ugc.nomination": "，提名：{role}{person}",
        "ugc.rule": "UGC 评分 ≥ {min} 或含提名；每 {hours} 小时最多一批，最多 {max} 条",
        # coordination
        "coordination.title": "疑似协同（线索）：{accounts} 个账号发布近似内容",
        "coordination.counts": "{messages} 条近似文本，{first} 至 {last}",
        "coordination.sample": "样本：「{sample}」",
        "coordination.accounts": "账号：{authors}",
        "coordination.lead": "这只是线索，需要人工核实，不是结论。",
        "coordination.rule": (
            "{window}内至少 {accounts} 个账号发布近似文本（SimHash 距离 ≤ {distance}）"
        ),
        # collector and sink health
        "stale.title": "{platform}数据已 {hours} 小时未更新",
        "stale.last": "最近一次读数：{time}",
        "stale.hint": "请检查 pingfan run 是否在运行、网络与 Cookie（pingfan doctor）。",
        "stale.rule": "超过 {hours} 小时无新读数",
        "parser.title": "{platform}解析失败：{source} 连续 {n} 次",
        "parser.error": "最近错误：{error}",
        "parser.hint": "其他来源照常采集；平台页面可能已改版。",
        "parser.rule": "同一来源连续失败 ≥ {n} 次",
        "sink.title": "提醒通道失效：{sink}",
        "sink.text": "{reason}。该通道已停止发送，修正配置后重启即恢复；其他通道照常。",
        "coalesced.title": "另有 {n} 条提醒（已合并，避免超出频率限制）",
        "coalesced.item": "· 【{severity}】{title}",
        "coalesced.more": "完整内容见 pingfan export alerts 与周报。",
    },
    "en": {
        "escalated": "Escalated: ",
        "duplicate": " (possible duplicate: the last send was not confirmed)",
        "time": "At {time}",
        "rule": "Rule: {rule}",
        "terms": "Top terms: {terms}",
        "samples": "Representative comments:",
        "sample": "· {author} ({likes} likes): “{quote}”",
        "post": "Post: {author} “{excerpt}”",
        "link": "Link: {url}",
        "negative.title": "Negative thread on {platform}: {share} negative ({n} comments)",
        "negative.rise_title": "Negativity rising on {platform}: {p0} → {share} negative",
        "negative.word_title": "Sensitive word on {platform}: “{word}”",
        "negative.counts": (
            "Last {hours} h: {neg} of {n} scored comments negative ({share}; 95% lower bound {lb})"
        ),
        "negative.rise": "Before: {p0} negative of {n0} comments; this window: {share}",
        "negative.word_comment": (
            "Sensitive word “{word}” in a liked comment: {author} ({likes} likes)"
        ),
        "negative.word_post": "Sensitive word “{word}” in partner KOL {name}'s post",
        "negative.rule": (
            "95% lower bound of the negative share ≥ {threshold} with ≥ {min} comments, or a "
            "{ratio}× rise with lower bound ≥ {rise_min}, or a sensitive word in a comment with "
            "≥ {likes} likes or a KOL post"
        ),
        "trending.title": "Trending on {platform}: {author}'s post at {rate}/h ({ratio}× baseline)",
        "trending.counts": (
            "Gained {gained} interactions (likes+comments+shares) in {window}; "
            "last two readings {r1}/h, {r2}/h"
        ),
        "trending.plays": "Plays {plays}/h",
        "trending.base_author": (
            "Baseline: the author's last {k} posts at the same age, median {baseline}/h"
        ),
        "trending.base_topic": (
            "Baseline: {k} posts of the topic at the same age, median {baseline}/h, robust z = {z}"
        ),
        "trending.base_none": "No comparable baseline yet: judged at {ratio}× the floor {floor}/h",
        "trending.rule": (
            "velocity ≥ {growth}× baseline (and z ≥ {z} against the topic), ≥ {min} interactions "
            "in {window}, confirmed over two readings"
        ),
        "topic.title": (
            "Topic accelerating: #{topic}# {platform} {metric} {rate}/h "
            "(median before {baseline}/h)"
        ),
        "topic.counts": "Last two readings {r1}/h, {r2}/h, total {views}; robust z = {z}",
        "topic.rule": (
            "velocity ≥ {growth}× the median before and z ≥ {z}, at least {min}/h, "
            "confirmed over two readings"
        ),
        "metric.weibo": "reads",
        "metric.douyin": "views",
        "milestone.title": "Milestone: #{topic}# passed {mark} {metric} on {platform}",
        "milestone.counts": "Now {views} (read at {time})",
        "milestone.rule": "configured marks: {marks}",
        "kol_upload.title": "Partner KOL posted: {name} ({platform})",
        "kol_upload.counts": (
            "Posted at {time}; {likes} likes, {comments} comments, {shares} shares"
        ),
        "kol_silent.title": "Partner KOL silent: {name}, no post for {days} days",
        "kol_silent.last": "Last post: {time}",
        "kol_silent.never": "No post seen since monitoring began ({time})",
        "kol_silent.rule": "no post for more than {days} days",
        "ugc.title": "UGC and nominations: {n} worth thanking or featuring",
        "ugc.item": "· {author}: “{excerpt}” score {score}{nomination}",
        "ugc.nomination": ", nominates: {role} {person}",
        "ugc.rule": (
            "UGC score ≥ {min} or a nomination; one batch per {hours} h at most, {max} items"
        ),
        "coordination.title": (
            "Possible coordination (a lead): {accounts} accounts posted near-identical text"
        ),
        "coordination.counts": "{messages} near-identical texts, {first} to {last}",
        "coordination.sample": "Sample: “{sample}”",
        "coordination.accounts": "Accounts: {authors}",
        "coordination.lead": "This is a lead for a person to check, not a verdict.",
        "coordination.rule": (
            "≥ {accounts} accounts within {window} posting near-identical text "
            "(SimHash distance ≤ {distance})"
        ),
        "stale.title": "{platform} data stale: nothing new for {hours} h",
        "stale.last": "Last reading: {time}",
        "stale.hint": (
            "Check that pingfan run is running, the network and the cookie (pingfan doctor)."
        ),
        "stale.rule": "no new reading for more than {hours} h",
        "parser.title": "{platform} parser failing: {source}, {n} times in a row",
        "parser.error": "Last error: {error}",
        "parser.hint": "The other sources go on; the platform's pages may have changed.",
        "parser.rule": "one source failing ≥ {n} times in a row",
        "sink.title": "Alert sink broken: {sink}",
        "sink.text": (
            "{reason}. This sink stops sending until its configuration is fixed and pingfan "
            "restarts; the other sinks go on."
        ),
        "coalesced.title": "{n} more alerts (coalesced to respect the rate limit)",
        "coalesced.item": "· [{severity}] {title}",
        "coalesced.more": "Full texts: pingfan export alerts, and the weekly digest.",
    },
}


def lang_of(language: str) -> str:
    return language if language in CATALOG else "zh"


def t(language: str, key: str, **values: object) -> str:
    """The catalogue string `key` in `language` (zh when unknown), formatted."""
    return CATALOG[lang_of(language)][key].format(**values)


def platform_name(language: str, platform: str | None) -> str:
    if platform is None:
        return ""
    return PLATFORM_NAMES[lang_of(language)].get(platform, platform)


def severity_name(language: str, severity: str) -> str:
    return SEVERITY_NAMES[lang_of(language)].get(severity, severity)


# --- numbers and times -----------------------------------------------------------------


def count(value: float | int | None) -> str:
    if value is None:
        return "–"
    return f"{round(value):,}"


def pct(value: float) -> str:
    return f"{value:.0%}"


def ratio(value: float) -> str:
    if math.isinf(value):
        return "∞"
    return f"{value:.1f}"


def local_time(moment: datetime, tz: ZoneInfo | str) -> str:
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def hours(seconds: float) -> str:
    value = seconds / 3600
    return f"{value:.0f}" if value >= 1 or value == 0 else f"{value:.1f}"


def duration(language: str, seconds: float) -> str:
    if seconds >= 86400 and seconds % 86400 == 0:
        days = int(seconds // 86400)
        return f"{days} 天" if lang_of(language) == "zh" else f"{days} d"
    if seconds >= 3600:
        return f"{hours(seconds)} 小时" if lang_of(language) == "zh" else f"{hours(seconds)} h"
    minutes = max(1, round(seconds / 60))
    return f"{minutes} 分钟" if lang_of(language) == "zh" else f"{minutes} min"


def join_terms(language: str, terms: Iterable[str]) -> str:
    return ("、" if lang_of(language) == "zh" else ", ").join(terms)


# --- people and user text ----------------------------------------------------------------


def mask(author: str | None) -> str:
    """`3000000001` → `3***`, `海边的小王` → `海***`: never a full id or name in an alert."""
    clean = "".join(ch for ch in (author or "") if ch.isprintable() and not ch.isspace())
    return (clean[:1] or "?") + "***"


_CONTROL_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"}
_LINK = re.compile(
    r"(?i)\b(?:(?:https?|ftp|tg|file|javascript|data)\s*:\s*/*|www\.)[^\s<>\"'「」]*"
    r"|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:cn|com|net|org|cc|me|io|top|xyz|info|vip|co|tv|ly)"
    r"\b(?:/[^\s<>\"'「」]*)?"
)
_MENTION = re.compile(r"[@＠]")


def clean_line(text: str) -> str:
    """One line without control or invisible formatting characters (ANSI escapes, bidi
    overrides, zero-width spaces), whitespace runs collapsed. The word joiner `quote` puts
    after an @ stays."""
    kept = []
    for ch in text:
        category = unicodedata.category(ch)
        if ch in "\t\r\n" or category in ("Zl", "Zp"):
            kept.append(" ")
        elif category in _CONTROL_CATEGORIES and ch != WORD_JOINER:
            continue
        else:
            kept.append(ch)
    return " ".join("".join(kept).split())


def _defang(match: re.Match[str]) -> str:
    link = match.group(0)
    link = re.sub(r"(?i)^(h)(tt)(ps?)", r"\1xx\3", link)
    link = link.replace("://", "[:]//").replace(".", "[.]")
    return re.sub(r"(?i)^(javascript|data|file|tg|ftp)\s*:", r"\1[:]", link)


def quote(text: str, limit: int = 60) -> str:
    """User text made inert for any sink: one line, no control characters, links broken
    (`http://evil.com` → `hxxp[:]//evil[.]com`), @mentions broken with an invisible joiner,
    at most `limit` characters (then "…")."""
    line = clean_line(text)
    if len(line) > limit:
        line = line[: max(limit - 1, 1)].rstrip() + "…"
    line = _LINK.sub(_defang, line)
    return _MENTION.sub(lambda m: m.group(0) + WORD_JOINER, line)


def safe_url(url: str | None) -> str | None:
    """An http(s) URL we built ourselves (a post link), or None for anything else."""
    if not url:
        return None
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    if any(ch.isspace() or ord(ch) < 32 or ch in "<>\"'`" for ch in url):
        return None
    return url


# --- per-sink escaping ---------------------------------------------------------------------


def escape_html(text: str) -> str:
    """For Telegram's HTML parse mode: the only entities it needs are &amp; &lt; &gt; &quot;."""
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def plain(text: str) -> str:
    """Terminal- and file-safe text: every line cleaned of control characters."""
    return "\n".join(clean_line(line) for line in text.split("\n"))


def utf16_len(text: str) -> int:
    """Telegram counts message length in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def split_lines(lines: Sequence[str], limit: int, measure: Callable[[str], int] = len) -> list[str]:
    """Lines joined into chunks of at most `limit` (by `measure`), split only between lines;
    a line longer than `limit` on its own is cut (the caller passes lines without markup
    that a cut could break)."""
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        while measure(line) > limit:
            cut = _fit(line, limit, measure)
            if current:
                chunks.append("\n".join(current))
                current, size = [], 0
            chunks.append(line[:cut])
            line = line[cut:]
        extra = measure(line) + (1 if current else 0)
        if current and size + extra > limit:
            chunks.append("\n".join(current))
            current, size = [], 0
            extra = measure(line)
        current.append(line)
        size += extra
    if current:
        chunks.append("\n".join(current))
    return chunks


def fit_lines(
    lines: Sequence[str], limit: int, measure: Callable[[str], int], keep_last: int = 0
) -> str:
    """As many leading lines as fit in `limit` (by `measure`), then "…", always keeping the
    last `keep_last` lines (the link, the footer)."""
    tail = list(lines[len(lines) - keep_last :]) if keep_last else []
    head = list(lines[: len(lines) - keep_last]) if keep_last else list(lines)
    whole = "\n".join(head + tail)
    if measure(whole) <= limit:
        return whole
    kept: list[str] = []
    for line in head:
        candidate = "\n".join([*kept, line, "…", *tail])
        if measure(candidate) > limit:
            break
        kept.append(line)
    text = "\n".join([*kept, "…", *tail])
    if measure(text) > limit:  # the tail alone is too long: cut characters
        text = text[: _fit(text, limit, measure)]
    return text


def _fit(text: str, limit: int, measure: Callable[[str], int]) -> int:
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if measure(text[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    return max(low, 1)
