"""The digest's words in Chinese and English, and its number and time formats."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from alerts import render

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "title": "{campaign} 周报 · {week}",
        "title_plain": "周报 · {week}",
        "period": "{first}（周一）至 {last}（周日），{tz}",
        "generated": "生成于 {time}",
        "partial": "本周尚未结束：数据截至 {time}。",
        "no_data": "本周（{week}）没有采集到任何数据：帖子、评论和话题读数都是 0。",
        "no_data_span": "数据库中的数据从 {first} 到 {last}。",
        "no_data_empty": "数据库里还没有任何帖子或评论。",
        "no_data_hint": "请确认采集在运行（pingfan status、pingfan doctor），"
        "或换一周：--week {hint}。",
        "no_data_check": "请确认采集在运行（pingfan status、pingfan doctor）。",
        "toc": "目录",
        "summary": "本周要点",
        "reach": "传播",
        "volume": "声量",
        "sentiment": "情绪",
        "threads": "本周负面讨论",
        "ugc": "值得感谢或展示的 UGC 与提名",
        "kols": "合作 KOL 榜单",
        "watched": "本次活动视频",
        "alerts": "本周提醒",
        "coordination": "疑似协同",
        "health": "采集健康",
        "notes": "说明",
        "none": "无",
        "unknown": "–",
        "new": "新增",
        # summary lines
        "sum.reach": "{platform}话题{metric} {views}，本周 +{gained}{change}{mark}",
        "sum.reach_unknown": "{platform}话题{metric} {views}（本周增长未知：周初无读数）",
        "sum.reach_stale": "{platform}话题{metric} {views}（本周没有读数，最近一次在 {at}）",
        "sum.mark_next": "，距 {mark} 还差 {left}",
        "sum.mark_passed": "，本周突破 {marks}",
        "sum.volume": "帖子 {posts}{posts_change}，评论 {comments}{comments_change}，"
        "发帖作者 {authors}，互动 {engagement}",
        "sum.sentiment": "评论情绪：正面 {pos}，中性 {neu}，负面 {neg}{neg_change}",
        "sum.sentiment_none": "本周没有已评分的评论",
        "note.model": "情绪模型 {version}：在真实微博评论（人工标注的 LCCC 测试集）上三分类 "
        "macro-F1 {f1}；情绪占比是校准后概率的均值，括号内为 90% 区间。",
        "note.model_unmeasured": "情绪模型 {version}：未在真实评论上测量。",
        "sum.sentiment_shares": "评论情绪（概率均值，90% 区间）：正面 {pos}，中性 {neu}，负面 {neg}"
        "{neg_change}",
        "sum.drivers": "负面关键词：{terms}",
        "sum.threads": "负面讨论 {n} 个（{calmed} 个已平息）",
        "sum.threads_none": "本周没有负面讨论",
        "sum.ugc": "值得感谢的 UGC {n} 条，其中提名 {nominations} 条",
        "sum.alerts": "提醒 {n} 条，已确认 {acked}",
        "sum.alerts_no_ack": "提醒 {n} 条",
        "sum.coordination": "疑似协同线索 {n} 条（需人工核实）",
        "sum.health": "采集中断：{parts}",
        "sum.health_part": "{platform} {duration}",
        "sum.health_ok": "采集无中断",
        "sum.no_data": "本周没有采集到数据",
        "sum.files": "完整周报：{name}",
        "sum.attached": "完整周报见附件（HTML）。",
        # reach
        "reach.platform": "平台",
        "reach.topic": "话题",
        "reach.metric": "指标",
        "reach.views": "周末累计",
        "reach.gained": "本周增长",
        "reach.previous": "上周增长",
        "reach.change": "环比",
        "reach.discussions": "讨论（本周增长）",
        "reach.mark": "下一里程碑",
        "reach.mark_value": "{mark}（已达 {progress}）",
        "reach.all_marks": "全部达成",
        "reach.read_at": "最近读数 {time}",
        "reach.none": "本周没有话题读数。",
        "reach.partial": "周初之前没有读数：本周增长从本周第一次读数算起。",
        "reach.chart": "话题累计阅读/播放（每天最后一次读数）",
        "metric.weibo": "阅读",
        "metric.douyin": "播放",
        # volume
        "volume.metric": "",
        "volume.total": "合计",
        "volume.previous": "上周合计",
        "volume.change": "环比",
        "volume.posts": "帖子",
        "volume.ugc_posts": "其中 UGC",
        "volume.kol_posts": "其中 KOL",
        "volume.official_posts": "其中官方",
        "volume.authors": "发帖作者",
        "volume.comments": "评论",
        "volume.commenters": "评论用户",
        "volume.likes": "点赞",
        "volume.post_comments": "评论数（平台计数）",
        "volume.shares": "分享/转发",
        "volume.engagement": "互动（赞+评+转）",
        "volume.plays": "播放（已知部分）",
        # sentiment
        "sent.label": "情绪",
        "sent.positive": "正面",
        "sent.neutral": "中性",
        "sent.negative": "负面",
        "sent.unscored": "未评分",
        "sent.this_week": "本周",
        "sent.last_week": "上周",
        "sent.p_negative": "负面概率均值（本周）：{value}",
        "sent.daily": "每日情绪",
        "sent.day": "日期",
        "sent.share_negative": "负面占比",
        "sent.drivers": "情绪来源",
        "sent.positive_terms": "正面评论关键词",
        "sent.negative_terms": "负面评论关键词",
        "sent.chart": "每日评论情绪",
        "sent.none": "本周没有评论。",
        # threads
        "thread.by": "{platform} · {author} · 发布于 {time}",
        "thread.counts": "本周评论 {comments} 条，已评分 {scored} 条，负面 {negative} 条"
        "（{share}，95% 置信下限 {lower}）",
        "thread.peak": "负面最高的一天：{day}（{share}）",
        "thread.outcome": "结果：{outcome}",
        "thread.calmed": "已平息：{time} 之后没有新评论",
        "thread.cooling": "降温：周末 24 小时负面占比 {share}（{n} 条）",
        "thread.quiet": "降温：周末 24 小时没有新评论（最后一条 {time}）",
        "thread.ongoing": "仍在发酵：周末 24 小时负面占比 {share}（{n} 条）",
        "thread.alert": "提醒 #{id}（{time}）：{state}{ack}",
        "thread.no_alert": "未触发提醒",
        "thread.terms": "关键词：{terms}",
        "thread.samples": "代表性负面评论：",
        "quote.likes": "赞 {n}",
        "thread.link": "原帖",
        "thread.rule": "入选：本周至少 {min} 条已评分评论，且负面占比的 95% 置信下限 ≥ {share}，"
        "或本周触发了负面提醒。",
        # ugc
        "ugc.author": "作者",
        "ugc.platform": "平台",
        "ugc.text": "内容",
        "ugc.score": "评分",
        "ugc.nomination": "提名",
        "ugc.interactions": "互动",
        "ugc.link": "链接",
        "ugc.none": "本周没有 UGC。",
        "ugc.masked": "作者已打码；通过链接在平台上联系作者。",
        # kols
        "kol.name": "KOL",
        "kol.platform": "平台",
        "kol.uploads": "发布",
        "kol.plays": "播放",
        "kol.likes": "点赞",
        "kol.comments": "评论",
        "kol.shares": "分享/转发",
        "kol.rate": "互动率",
        "kol.followers": "粉丝",
        "kol.growth": "粉丝增长",
        "kol.none": "配置中没有合作 KOL（[[kols]]）。",
        "kol.chart": "KOL 本周互动（赞+评+转）",
        "kol.rate_note": "互动率 = 本周作品的互动 ÷ 作品数 ÷ 周末粉丝数；“–”表示平台未提供。",
        "kol.partial": "*",
        "kol.partial_note": "* 周初之前没有粉丝快照：增长从本周第一次快照算起。",
        # watched (本次活动视频)
        "watched.post": "作品",
        "watched.note": "备注",
        "watched.gained": "本周新增互动",
        "watched.negative": "本周负面占比",
        "watched.pending": "尚未采集",
        "watched.intro": "按链接关注的作品（[[watch]] 与 pingfan watch add），无论是否带话题。",
        # alerts
        "alert.time": "时间",
        "alert.kind": "类型",
        "alert.severity": "级别",
        "alert.title": "标题",
        "alert.state": "发送",
        "alert.ack": "确认",
        "alert.acked": "{who}（{time}）",
        "alert.not_acked": "未确认",
        "alert.ack_unknown": "未记录",
        "alert.none": "本周没有提醒。",
        "alert.by_kind": "按类型：{parts}",
        # coordination
        "coord.item": "{platform}：{accounts} 个账号在 {first} 至 {last} 发布近似内容 "
        "{messages} 条：「{sample}」（账号：{authors}）",
        "coord.none": "本周未发现多个账号在短时间内发布近似内容。",
        "coord.lead": "这些只是线索，需要人工核实，不是结论。",
        # health
        "health.platform": "平台",
        "health.downtime": "中断时长",
        "health.outages": "中断次数",
        "health.stale": "数据过期提醒",
        "health.parser": "解析失败提醒",
        "health.last": "最近读数",
        "health.down_now": "（周末仍中断）",
        "health.disabled": "未启用",
        "health.note": "中断 = 平台拦截或 Cookie 失效后暂停采集、直到恢复的时间"
        "（来自采集健康提醒）。",
        # notes
        "note.counts": "帖子、评论、作者、互动、情绪和提醒的数字与同一周的 `pingfan export` 一致；"
        "帖子的点赞、评论、分享按生成周报时数据库中的计数。",
        "note.masked": "评论作者与 UGC 作者均已打码，评论内容中的链接和 @ 已失效化。",
        "note.font": "图表缺少中文字体，已改用英文标注；安装 fonts-noto-cjk 后重新生成即可。",
    },
    "en": {
        "title": "{campaign} weekly digest · {week}",
        "title_plain": "Weekly digest · {week}",
        "period": "{first} (Monday) to {last} (Sunday), {tz}",
        "generated": "Generated {time}",
        "partial": "This week is not over yet: data up to {time}.",
        "no_data": "No data was collected in {week}: no posts, no comments, no topic readings.",
        "no_data_span": "The database holds data from {first} to {last}.",
        "no_data_empty": "The database holds no posts or comments yet.",
        "no_data_hint": "Check that collection runs (pingfan status, pingfan doctor), or pick "
        "another week: --week {hint}.",
        "no_data_check": "Check that collection runs (pingfan status, pingfan doctor).",
        "toc": "Contents",
        "summary": "This week",
        "reach": "Reach",
        "volume": "Volume",
        "sentiment": "Sentiment",
        "threads": "Negative threads this week",
        "ugc": "UGC and nominations to thank or feature",
        "kols": "Partner KOL leaderboard",
        "watched": "This campaign's videos",
        "alerts": "Alerts this week",
        "coordination": "Suspected coordination",
        "health": "Collector health",
        "notes": "Notes",
        "none": "none",
        "unknown": "–",
        "new": "new",
        "sum.reach": "{platform} topic {metric} {views}, +{gained} this week{change}{mark}",
        "sum.reach_unknown": "{platform} topic {metric} {views} (growth unknown: no reading "
        "before the week)",
        "sum.reach_stale": "{platform} topic {metric} {views} (no reading this week; the last "
        "one was on {at})",
        "sum.mark_next": ", {left} to go to {mark}",
        "sum.mark_passed": ", passed {marks} this week",
        "sum.volume": "Posts {posts}{posts_change}, comments {comments}{comments_change}, "
        "authors {authors}, interactions {engagement}",
        "sum.sentiment": "Comments: {pos} positive, {neu} neutral, {neg} negative{neg_change}",
        "sum.sentiment_none": "No scored comments this week",
        "note.model": "Sentiment model {version}: three-way macro-F1 {f1} on real Weibo "
        "comments (hand-labelled LCCC test split); shares are mean calibrated probabilities, "
        "90% interval in brackets.",
        "note.model_unmeasured": "Sentiment model {version}: not measured on real comments.",
        "sum.sentiment_shares": "Comments (mean probability, 90% interval): {pos} positive, "
        "{neu} neutral, {neg} negative{neg_change}",
        "sum.drivers": "Negative terms: {terms}",
        "sum.threads": "Negative threads: {n} ({calmed} calmed down)",
        "sum.threads_none": "No negative threads this week",
        "sum.ugc": "UGC to thank: {n}, nominations among them: {nominations}",
        "sum.alerts": "Alerts: {n}, acknowledged: {acked}",
        "sum.alerts_no_ack": "Alerts: {n}",
        "sum.coordination": "Suspected coordination leads: {n} (for a person to check)",
        "sum.health": "Collection down: {parts}",
        "sum.health_part": "{platform} {duration}",
        "sum.health_ok": "Collection ran without interruption",
        "sum.no_data": "No data was collected this week",
        "sum.files": "Full digest: {name}",
        "sum.attached": "The full digest is attached (HTML).",
        "reach.platform": "Platform",
        "reach.topic": "Topic",
        "reach.metric": "Metric",
        "reach.views": "Total at week end",
        "reach.gained": "Gained this week",
        "reach.previous": "Gained last week",
        "reach.change": "Change",
        "reach.discussions": "Discussions (gained)",
        "reach.mark": "Next mark",
        "reach.mark_value": "{mark} ({progress} there)",
        "reach.all_marks": "all passed",
        "reach.read_at": "last reading {time}",
        "reach.none": "No topic readings this week.",
        "reach.partial": "No reading before the week: growth counts from the week's first reading.",
        "reach.chart": "Topic reads/views (last reading of each day)",
        "metric.weibo": "reads",
        "metric.douyin": "views",
        "volume.metric": "",
        "volume.total": "All",
        "volume.previous": "All, last week",
        "volume.change": "Change",
        "volume.posts": "Posts",
        "volume.ugc_posts": "of which UGC",
        "volume.kol_posts": "of which KOL",
        "volume.official_posts": "of which official",
        "volume.authors": "Authors",
        "volume.comments": "Comments",
        "volume.commenters": "Commenters",
        "volume.likes": "Likes",
        "volume.post_comments": "Comment counts (platform)",
        "volume.shares": "Shares/reposts",
        "volume.engagement": "Interactions (likes+comments+shares)",
        "volume.plays": "Plays (where known)",
        "sent.label": "Sentiment",
        "sent.positive": "positive",
        "sent.neutral": "neutral",
        "sent.negative": "negative",
        "sent.unscored": "not scored",
        "sent.this_week": "This week",
        "sent.last_week": "Last week",
        "sent.p_negative": "Mean P(negative) this week: {value}",
        "sent.daily": "Sentiment by day",
        "sent.day": "Day",
        "sent.share_negative": "Negative share",
        "sent.drivers": "What drives it",
        "sent.positive_terms": "Terms in positive comments",
        "sent.negative_terms": "Terms in negative comments",
        "sent.chart": "Comment sentiment by day",
        "sent.none": "No comments this week.",
        "thread.by": "{platform} · {author} · posted {time}",
        "thread.counts": "{comments} comments this week, {scored} scored, {negative} negative "
        "({share}; 95% lower bound {lower})",
        "thread.peak": "Most negative day: {day} ({share})",
        "thread.outcome": "Outcome: {outcome}",
        "thread.calmed": "calmed down: no new comments after {time}",
        "thread.cooling": "cooling: {share} negative in the week's last 24 h ({n} comments)",
        "thread.quiet": "cooling: no new comment in the week's last 24 h (last one {time})",
        "thread.ongoing": "still going: {share} negative in the week's last 24 h ({n} comments)",
        "thread.alert": "Alert #{id} ({time}): {state}{ack}",
        "thread.no_alert": "no alert raised",
        "thread.terms": "Terms: {terms}",
        "thread.samples": "Representative negative comments:",
        "quote.likes": "{n} likes",
        "thread.link": "post",
        "thread.rule": "Listed: at least {min} scored comments this week and a 95% lower bound "
        "of the negative share ≥ {share}, or a negative-thread alert this week.",
        "ugc.author": "Author",
        "ugc.platform": "Platform",
        "ugc.text": "Text",
        "ugc.score": "Score",
        "ugc.nomination": "Nominates",
        "ugc.interactions": "Interactions",
        "ugc.link": "Link",
        "ugc.none": "No UGC this week.",
        "ugc.masked": "Authors are masked; reach them through the link on the platform.",
        "kol.name": "KOL",
        "kol.platform": "Platform",
        "kol.uploads": "Uploads",
        "kol.plays": "Plays",
        "kol.likes": "Likes",
        "kol.comments": "Comments",
        "kol.shares": "Shares",
        "kol.rate": "Engagement rate",
        "kol.followers": "Followers",
        "kol.growth": "Follower growth",
        "kol.none": "No partner KOLs are configured ([[kols]]).",
        "kol.chart": "KOL interactions this week (likes+comments+shares)",
        "kol.rate_note": "Engagement rate = the week's interactions ÷ uploads ÷ followers at week "
        "end; “–” where the platform gives no figure.",
        "kol.partial": "*",
        "kol.partial_note": "* No follower snapshot before the week: growth counts from the "
        "week's first snapshot.",
        "watched.post": "Post",
        "watched.note": "Note",
        "watched.gained": "Interactions gained",
        "watched.negative": "Negative share",
        "watched.pending": "not collected yet",
        "watched.intro": "Posts watched by link ([[watch]] and pingfan watch add), tagged or not.",
        "alert.time": "Time",
        "alert.kind": "Kind",
        "alert.severity": "Severity",
        "alert.title": "Title",
        "alert.state": "Delivery",
        "alert.ack": "Acknowledged",
        "alert.acked": "{who} ({time})",
        "alert.not_acked": "no",
        "alert.ack_unknown": "not recorded",
        "alert.none": "No alerts this week.",
        "alert.by_kind": "By kind: {parts}",
        "coord.item": "{platform}: {accounts} accounts posted {messages} near-identical texts "
        "between {first} and {last}: “{sample}” (accounts: {authors})",
        "coord.none": "No group of accounts posted near-identical text within minutes this week.",
        "coord.lead": "These are leads for a person to check, not verdicts.",
        "health.platform": "Platform",
        "health.downtime": "Downtime",
        "health.outages": "Outages",
        "health.stale": "Stale-data alerts",
        "health.parser": "Parser alerts",
        "health.last": "Last reading",
        "health.down_now": " (still down at week end)",
        "health.disabled": "disabled",
        "health.note": "Downtime = collection paused after a block or an expired cookie, until "
        "it recovered (from the collector-health alerts).",
        "note.counts": "Posts, comments, authors, interactions, sentiment and alerts equal "
        "`pingfan export` for the same week; a post's likes, comments and shares are its counts "
        "in the database when the digest was made.",
        "note.masked": "Comment and UGC authors are masked; links and @mentions in comments are "
        "made inert.",
        "note.font": "No CJK font for the charts: they are labelled in English; install "
        "fonts-noto-cjk and build the digest again.",
    },
}

KIND_NAMES = {
    "zh": {
        "negative_thread": "负面舆情",
        "trending": "热度飙升",
        "topic_trending": "话题加速",
        "milestone": "里程碑",
        "kol_upload": "KOL 发布",
        "kol_silent": "KOL 沉默",
        "ugc": "UGC",
        "coordination": "疑似协同",
        "collector_health": "采集健康",
        "sink_health": "通道健康",
    },
    "en": {
        "negative_thread": "negative thread",
        "trending": "trending",
        "topic_trending": "topic accelerating",
        "milestone": "milestone",
        "kol_upload": "KOL upload",
        "kol_silent": "KOL silent",
        "ugc": "UGC",
        "coordination": "coordination",
        "collector_health": "collector health",
        "sink_health": "sink health",
    },
}

STATE_NAMES = {
    "zh": {"pending": "待发送", "sent": "已发送"},
    "en": {"pending": "pending", "sent": "sent"},
}

_WEEKDAY_ZH = "一二三四五六日"


def lang(language: str) -> str:
    return render.lang_of(language)


def t(language: str, key: str, **values: object) -> str:
    return TEXT[lang(language)][key].format(**values)


def kind_name(language: str, kind: str) -> str:
    return KIND_NAMES[lang(language)].get(kind, kind)


def state_name(language: str, state: str) -> str:
    return STATE_NAMES[lang(language)].get(state, state)


def metric_name(language: str, platform: str) -> str:
    key = f"metric.{platform}"
    return TEXT[lang(language)].get(key, "views")


# --- numbers ------------------------------------------------------------------------------


def count(value: int | float | None) -> str:
    """`1234567` → `1,234,567`; None → `–` (the platform did not give it)."""
    return render.count(value)


def compact(language: str, value: int | float | None) -> str:
    """`1856000` → `185.6万` (zh) or `1.86M` (en); small numbers as they are."""
    if value is None:
        return "–"
    number = float(value)
    sign = "-" if number < 0 else ""
    number = abs(number)
    if lang(language) == "zh":
        if number >= 1e8:
            return f"{sign}{_trim(number / 1e8)}亿"
        if number >= 1e4:
            return f"{sign}{_trim(number / 1e4)}万"
        return f"{sign}{round(number):,}"
    if number >= 1e9:
        return f"{sign}{_trim(number / 1e9, 2)}B"
    if number >= 1e6:
        return f"{sign}{_trim(number / 1e6, 2)}M"
    if number >= 1e4:
        return f"{sign}{_trim(number / 1e3)}k"
    return f"{sign}{round(number):,}"


def _trim(value: float, digits: int = 1) -> str:
    text = f"{value:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def pct(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.0%}"


def change(language: str, current: float | None, previous: float | None) -> str:
    """Week over week: `+12%`, `−5%`, `±0%`; `new` when last week had none; `–` when unknown."""
    if current is None or previous is None:
        return "–"
    if previous == 0:
        return "±0%" if current == 0 else t(language, "new")
    ratio = (current - previous) / previous
    if abs(ratio) < 0.005:
        return "±0%"
    return f"+{ratio:.0%}" if ratio > 0 else f"−{abs(ratio):.0%}"


def points(current: float | None, previous: float | None) -> str:
    """A change of a share in percentage points: `+3.2 pp`."""
    if current is None or previous is None:
        return "–"
    diff = (current - previous) * 100
    if abs(diff) < 0.05:
        return "±0 pp"
    return f"+{diff:.1f} pp" if diff > 0 else f"−{abs(diff):.1f} pp"


# --- times ----------------------------------------------------------------------------------


def day(language: str, value: date) -> str:
    if lang(language) == "zh":
        return f"{value.month}月{value.day}日（周{_WEEKDAY_ZH[value.weekday()]}）"
    return value.strftime("%a %d %b")


def short_day(language: str, value: date) -> str:
    if lang(language) == "zh":
        return f"{value.month}/{value.day} 周{_WEEKDAY_ZH[value.weekday()]}"
    return value.strftime("%a %d/%m")


def moment(value: datetime, tz: ZoneInfo) -> str:
    return render.local_time(value, tz)


def duration(language: str, seconds: float) -> str:
    """`3 小时 20 分钟` / `3 h 20 min`; `0` when nothing."""
    minutes = round(seconds / 60)
    if minutes <= 0:
        return "0"
    hours, rest = divmod(minutes, 60)
    zh = lang(language) == "zh"
    if hours and rest:
        return f"{hours} 小时 {rest} 分钟" if zh else f"{hours} h {rest} min"
    if hours:
        return f"{hours} 小时" if zh else f"{hours} h"
    return f"{rest} 分钟" if zh else f"{rest} min"
