"""From the store to a `Digest`, in two steps: `gather` reads everything the week needs
through the store's named queries (monitor/store/weekly.py; in the daemon this runs on the
event loop's thread, which owns the connection), and `assemble` turns it into the digest
without touching the store (keywords, coordination search, thread outcomes: CPU work that the
daemon runs in a worker thread)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from alerts import safe_text
from alerts.digest import i18n
from alerts.digest.model import (
    AlertItem,
    AlertRef,
    CoordinationLead,
    Day,
    Digest,
    Health,
    KolRow,
    Outcome,
    Quote,
    Reach,
    ReachPoint,
    Sentiment,
    Split,
    Term,
    Thread,
    UgcItem,
    Volume,
    VolumeColumn,
    WatchedItem,
)
from alerts.digest.weeks import IsoWeek
from monitor.config import Config, KolConfig
from monitor.models import PLATFORMS
from monitor.store import Store
from monitor.store.outbox import OutboxAlert
from monitor.store.signals import CommentFacts, PostFacts, TopicPoint
from monitor.store.watch import WatchedPost
from monitor.store.weekly import (
    CommentTotals,
    HealthEvent,
    LabelCounts,
    PostTotals,
    ThreadWeek,
)
from nlp.dedup import Message, suspected_coordination
from nlp.segment import keywords
from nlp.sentiment import ModelSummary, model_summary
from nlp.shares import comment_shares
from nlp.trends import wilson_interval
from nlp.ugc import select_ugc

TERMS = 8  # top terms per sentiment
TERM_POOL = 30  # candidates per side before the words both sides share are dropped
TEXTS_FOR_TERMS = 4000  # most liked comments per side that the terms are drawn from
THREADS = 8
SAMPLES = 2  # negative comments quoted per thread
PEAK_MIN_SCORED = 5  # a day counts for a thread's peak with this many scored comments
CALM_AFTER = timedelta(hours=48)  # no new comment for this long before the week's end: calmed
FINAL_WINDOW = timedelta(hours=24)
COORDINATION_LEADS = 5


@dataclass
class KolFacts:
    kol: KolConfig
    uploads: list[PostFacts]
    followers_end: tuple[datetime, int] | None
    followers_start: tuple[datetime, int] | None
    from_first: bool


@dataclass
class ThreadFacts:
    week: ThreadWeek
    comments: list[CommentFacts]
    alert: OutboxAlert | None


@dataclass
class Facts:
    """Everything the store holds about one week (and the one before, for comparisons)."""

    week: IsoWeek
    tz: ZoneInfo
    now: datetime
    posts: list[PostTotals]
    posts_previous: list[PostTotals]
    comments: list[CommentTotals]
    comments_previous: list[CommentTotals]
    days: list[LabelCounts]
    positive_texts: list[str]
    negative_texts: list[str]
    readings: list[TopicPoint]
    readings_end: list[TopicPoint]
    readings_start: list[TopicPoint]
    readings_previous_start: list[TopicPoint]
    threads: list[ThreadFacts]
    ugc: list[PostFacts]
    kols: list[KolFacts]
    alerts: list[OutboxAlert]
    messages: dict[str, list[CommentFacts]]
    health_events: list[HealthEvent]
    circuits: dict[str, str]
    last_readings: dict[str, datetime | None]
    data_span: tuple[datetime, datetime] | None
    enabled: dict[str, bool] = field(default_factory=dict)
    watched: list[WatchedPost] = field(default_factory=list)
    # Each scored comment's three probabilities, this week and the week before (nlp.shares).
    probs: list[tuple[float, float, float]] = field(default_factory=list)
    probs_previous: list[tuple[float, float, float]] = field(default_factory=list)

    @property
    def start(self) -> datetime:
        """In UTC: arithmetic on aware times of one zone would be wall-clock arithmetic."""
        return self.week.start(self.tz).astimezone(UTC)

    @property
    def end(self) -> datetime:
        return self.week.end(self.tz).astimezone(UTC)


def digest_zone(config: Config) -> ZoneInfo:
    """The zone of the digest's weeks, days, schedule and times: [digest] timezone."""
    return ZoneInfo(config.digest.timezone)


def build_digest(store: Store, config: Config, week: IsoWeek, *, now: datetime) -> Digest:
    return assemble(gather(store, config, week, now=now), config)


def gather(store: Store, config: Config, week: IsoWeek, *, now: datetime) -> Facts:
    tz = digest_zone(config)
    start, end = week.start(tz), week.end(tz)
    previous = week.previous()
    p_start, p_end = previous.start(tz), previous.end(tz)
    alerts = store.weekly.week_alerts(start, end)
    rule = config.alerts.negative_thread
    threads = _thread_facts(store, start, end, alerts, rule.min_comments, rule.negative_share)
    ugc = store.weekly.week_posts(start, end, ugc_only=True, limit=1000)
    kols = []
    for kol in config.kols:
        ids = [kol.id]
        end_followers = store.weekly.followers_before(kol.platform, ids, end).get(kol.id)
        start_followers = store.weekly.followers_before(kol.platform, ids, start).get(kol.id)
        from_first = False
        if start_followers is None:
            first = store.weekly.first_followers_in(kol.platform, ids, start, end).get(kol.id)
            start_followers, from_first = first, first is not None
        kols.append(
            KolFacts(
                kol=kol,
                uploads=store.weekly.week_posts(start, end, platform=kol.platform, author_ids=ids),
                followers_end=end_followers,
                followers_start=start_followers,
                from_first=from_first,
            )
        )
    enabled = {"weibo": config.weibo.enabled, "douyin": config.douyin.enabled}
    return Facts(
        week=week,
        tz=tz,
        now=now,
        posts=store.weekly.week_post_totals(start, end),
        posts_previous=store.weekly.week_post_totals(p_start, p_end),
        comments=store.weekly.week_comment_totals(start, end),
        comments_previous=store.weekly.week_comment_totals(p_start, p_end),
        probs=store.weekly.week_comment_probabilities(start, end),
        probs_previous=store.weekly.week_comment_probabilities(p_start, p_end),
        days=store.weekly.daily_labels(week.day_bounds(tz)),
        positive_texts=store.weekly.week_comment_texts(start, end, "positive", TEXTS_FOR_TERMS),
        negative_texts=store.weekly.week_comment_texts(start, end, "negative", TEXTS_FOR_TERMS),
        readings=store.weekly.topic_readings(start, end),
        readings_end=store.weekly.topic_reading_before(end),
        readings_start=store.weekly.topic_reading_before(start),
        readings_previous_start=store.weekly.topic_reading_before(p_start),
        threads=threads,
        ugc=ugc,
        kols=kols,
        alerts=alerts,
        messages={
            platform: store.weekly.week_messages(platform, start, end) for platform in PLATFORMS
        },
        health_events=store.weekly.health_events(end),
        circuits=store.weekly.circuit_states(),
        last_readings={p: store.weekly.last_reading_before(p, end) for p in PLATFORMS},
        data_span=store.weekly.data_span(),
        enabled=enabled,
        watched=store.watch.watched_posts(since=start, until=end),
    )


def _thread_facts(
    store: Store,
    start: datetime,
    end: datetime,
    alerts: list[OutboxAlert],
    min_scored: int,
    share: float,
) -> list[ThreadFacts]:
    alerted: dict[tuple[str, str], OutboxAlert] = {}
    for alert in alerts:
        if alert.kind == "negative_thread" and alert.platform and alert.subject_id:
            alerted.setdefault((alert.platform, alert.subject_id), alert)
    chosen = []
    for thread in store.weekly.week_threads(start, end, min_scored=1):
        key = (thread.platform, thread.post_id)
        lower = wilson_interval(thread.negative, thread.scored)[0] if thread.scored else 0.0
        if key in alerted or (thread.scored >= min_scored and lower >= share):
            chosen.append((lower, thread))
    chosen.sort(key=lambda item: (-item[0], -item[1].negative, item[1].post_id))
    return [
        ThreadFacts(
            week=thread,
            comments=store.weekly.thread_week_comments(thread.platform, thread.post_id, start, end),
            alert=alerted.get((thread.platform, thread.post_id)),
        )
        for _, thread in chosen[:THREADS]
    ]


# --- assembling -----------------------------------------------------------------------------


def assemble(facts: Facts, config: Config) -> Digest:
    marks = tuple(sorted(set(config.alerts.milestones.views)))
    top = max(config.digest.top, 1)
    reach = _reach(facts, marks)
    volume = _volume(facts)
    total = next((c for c in volume if c.platform is None), None)
    threads = tuple(_thread(t, facts, config) for t in facts.threads)
    complaints = {(t.platform, t.post_id) for t in threads}
    has_data = bool(facts.readings or (total and (total.current.posts or total.current.comments)))
    return Digest(
        week=facts.week,
        start=facts.start,
        end=facts.end,
        timezone=config.digest.timezone,
        language=i18n.lang(config.ui.language),
        campaign=" ".join(f"#{topic.name}" for topic in config.topics) or "pingfan",
        generated_at=facts.now,
        partial=facts.now < facts.end,
        has_data=has_data,
        data_span=facts.data_span,
        reach=reach,
        volume=volume,
        sentiment=_sentiment(facts, _model_metrics(config)),
        threads=threads,
        thread_rule=(
            config.alerts.negative_thread.min_comments,
            config.alerts.negative_thread.negative_share,
        ),
        ugc=_ugc([p for p in facts.ugc if (p.platform, p.id) not in complaints], top),
        kols=_kols(facts.kols),
        watched=tuple(_watched(item) for item in facts.watched),
        alerts=tuple(_alert(a) for a in facts.alerts),
        acks_recorded=True,  # the store always records who acknowledged (m050)
        coordination=_coordination(facts, config),
        health=_health(facts),
        marks=marks,
        **_model_facts(config),
    )


def _model(config: Config) -> ModelSummary | None:
    """The configured sentiment model's version and metrics, None if it cannot be read."""
    try:
        return model_summary(config.nlp.model)
    except (OSError, ValueError):
        return None


def _model_metrics(config: Config) -> dict[str, float]:
    """The configured sentiment model's metrics (its calibration prior for nlp.shares)."""
    model = _model(config)
    return model.metrics if model else {}


def _model_facts(config: Config) -> dict[str, Any]:
    """The configured sentiment model's version and its macro-F1 on real text, if known."""
    model = _model(config)
    if model is None:
        return {}
    f1 = model.metrics.get("real_test_macro_f1")
    return {
        "model_version": model.version,
        "model_f1": float(f1) if isinstance(f1, int | float) else None,
    }


def _reach(facts: Facts, marks: tuple[int, ...]) -> tuple[Reach, ...]:
    def key(reading: TopicPoint) -> tuple[str, str]:
        return (reading.platform, reading.topic)

    at_end = {key(r): r for r in facts.readings_end}
    at_start = {key(r): r for r in facts.readings_start}
    at_previous = {key(r): r for r in facts.readings_previous_start}
    in_week: dict[tuple[str, str], list[TopicPoint]] = defaultdict(list)
    for reading in facts.readings:
        in_week[key(reading)].append(reading)
    rows = []
    order: dict[str, int] = {platform: index for index, platform in enumerate(PLATFORMS)}
    for topic_key in sorted(at_end, key=lambda k: (order.get(k[0], 9), k[1])):
        last = at_end[topic_key]
        first = at_start.get(topic_key)
        week_readings = [r for r in in_week.get(topic_key, []) if r.views is not None]
        from_first = first is None or first.views is None
        base = week_readings[0] if from_first and week_readings else first
        # no reading in the week: how much it grew is not known, not zero
        gained = _minus(last.views, base.views if base else None) if week_readings else None
        previous = at_previous.get(topic_key)
        gained_previous = (
            _minus(first.views, previous.views) if first and previous and not from_first else None
        )
        discussions_gained = (
            _minus(last.discussions, base.discussions if base else None) if week_readings else None
        )
        views = last.views
        next_mark = next((m for m in marks if views is None or m > views), None)
        start_views = base.views if base and base.views is not None else None
        passed = tuple(
            m
            for m in marks
            if views is not None and start_views is not None and start_views < m <= views
        )
        series: list[ReachPoint] = []
        if first is not None and first.views is not None:
            series.append(ReachPoint(facts.start, first.views))
        daily: dict[date, TopicPoint] = {}
        for reading in week_readings:
            daily[reading.at.astimezone(facts.tz).date()] = reading
        for _, reading in sorted(daily.items()):
            assert reading.views is not None
            series.append(ReachPoint(reading.at, reading.views))
        rows.append(
            Reach(
                platform=last.platform,
                topic=last.topic,
                views=views,
                views_at_start=start_views,
                gained=gained,
                gained_previous=gained_previous,
                discussions=last.discussions,
                discussions_gained=discussions_gained,
                read_at=last.at,
                readings=len(week_readings),
                from_first_reading=from_first and bool(week_readings),
                next_mark=next_mark,
                progress=(views / next_mark) if views is not None and next_mark else None,
                marks_passed=passed,
                series=tuple(series),
            )
        )
    return tuple(rows)


def _minus(a: int | None, b: int | None) -> int | None:
    return a - b if a is not None and b is not None else None


def _volume(facts: Facts) -> tuple[VolumeColumn, ...]:
    def as_volume(posts: PostTotals | None, comments: CommentTotals | None) -> Volume:
        p = posts or PostTotals(None)
        c = comments or CommentTotals(None)
        return Volume(
            posts=p.posts,
            ugc_posts=p.ugc_posts,
            kol_posts=p.kol_posts,
            official_posts=p.official_posts,
            authors=p.authors,
            comments=c.comments,
            commenters=c.commenters,
            likes=p.likes,
            post_comments=p.comments,
            shares=p.shares + p.reposts,
            engagement=p.engagement,
            plays=p.plays if p.plays_known else None,
        )

    def by_platform(rows: list[PostTotals] | list[CommentTotals]) -> dict[str | None, object]:
        return {row.platform: row for row in rows}

    posts, posts_prev = by_platform(facts.posts), by_platform(facts.posts_previous)
    comments, comments_prev = by_platform(facts.comments), by_platform(facts.comments_previous)
    present = {p for p in (*posts, *comments, *posts_prev, *comments_prev) if p is not None}
    columns = []
    for platform in [p for p in PLATFORMS if p in present] + [None]:
        columns.append(
            VolumeColumn(
                platform=platform,
                current=as_volume(posts.get(platform), comments.get(platform)),  # type: ignore[arg-type]
                previous=as_volume(posts_prev.get(platform), comments_prev.get(platform)),  # type: ignore[arg-type]
            )
        )
    return tuple(columns)


def _split(
    totals: list[CommentTotals],
    probs: list[tuple[float, float, float]] | None = None,
    metrics: Mapping[str, object] | None = None,
) -> Split:
    row = next((r for r in totals if r.platform is None), None)
    if row is None:
        return Split()
    shares = comment_shares(probs, metrics) if probs else None
    return Split(row.positive, row.neutral, row.negative, row.unscored, row.mean_p_negative, shares)


def _sentiment(facts: Facts, metrics: Mapping[str, object] | None = None) -> Sentiment:
    days = tuple(
        Day(day, Split(c.positive, c.neutral, c.negative, c.unscored))
        for day, c in zip(facts.week.days(), facts.days, strict=True)
    )
    positive = keywords(facts.positive_texts, top_k=TERM_POOL) if facts.positive_texts else []
    negative = keywords(facts.negative_texts, top_k=TERM_POOL) if facts.negative_texts else []
    shared = {w for w, _ in positive} & {w for w, _ in negative}
    return Sentiment(
        current=_split(facts.comments, facts.probs, metrics),
        previous=_split(facts.comments_previous, facts.probs_previous, metrics),
        days=days,
        positive_terms=tuple(Term(w, s) for w, s in positive if w not in shared)[:TERMS],
        negative_terms=tuple(Term(w, s) for w, s in negative if w not in shared)[:TERMS],
    )


def _thread(facts: ThreadFacts, all_facts: Facts, config: Config) -> Thread:
    week = facts.week
    tz = all_facts.tz
    scored = [c for c in facts.comments if c.label is not None]
    negatives = [c for c in scored if c.label == "negative"]
    share = len(negatives) / len(scored) if scored else 0.0
    lower = wilson_interval(len(negatives), len(scored))[0] if scored else 0.0
    by_day: dict[date, list[CommentFacts]] = defaultdict(list)
    for comment in scored:
        by_day[comment.created_at.astimezone(tz).date()].append(comment)
    peak_day, peak_share = None, None
    for day, comments in sorted(by_day.items()):
        if len(comments) < PEAK_MIN_SCORED:
            continue
        day_share = sum(c.label == "negative" for c in comments) / len(comments)
        if peak_share is None or day_share > peak_share:
            peak_day, peak_share = day, day_share
    reference = min(all_facts.end, all_facts.now)
    final = [c for c in scored if c.created_at >= reference - FINAL_WINDOW]
    final_share = sum(c.label == "negative" for c in final) / len(final) if final else None
    outcome: Outcome
    if week.last_comment_at < reference - CALM_AFTER:
        outcome = "calmed"
    elif final_share is None or final_share < config.alerts.negative_thread.negative_share:
        outcome = "cooling"
    else:
        outcome = "ongoing"
    liked = sorted(negatives, key=lambda c: (-(c.likes or 0), c.created_at, c.id))
    samples = tuple(
        Quote(safe_text.mask(c.author_id), c.text, c.likes, c.created_at) for c in liked[:SAMPLES]
    )
    terms = tuple(w for w, _ in keywords([c.text for c in negatives], top_k=5)) if negatives else ()
    alert = facts.alert
    public = week.author_kind in ("kol", "official")
    return Thread(
        platform=week.platform,
        post_id=week.post_id,
        url=safe_text.safe_url(week.url),
        author=week.author_name if public else safe_text.mask(week.author_name),
        text=week.text,
        posted_at=week.created_at,
        comments=len(facts.comments),
        scored=len(scored),
        negative=len(negatives),
        share=share,
        lower=lower,
        peak_day=peak_day,
        peak_share=peak_share,
        outcome=outcome,
        last_comment_at=week.last_comment_at,
        final_scored=len(final),
        final_share=final_share,
        terms=terms,
        samples=samples,
        alert=(
            AlertRef(alert.id, alert.created_at, alert.state, alert.acked_by, alert.acked_at)
            if alert
            else None
        ),
    )


def _ugc(posts: list[PostFacts], top: int) -> tuple[UgcItem, ...]:
    """The week's best `top` UGC (posts come best first), and up to `top` nominations
    beside them, by score."""
    selection = select_ugc(
        ((post, post.text, post.ugc_score) for post in posts),
        min_score=0.0,  # a report of the week: every scored post may be among the best
        limit=top,
        order="score",
        extra_nominations=top,
    )
    items = []
    for pick in selection.shown:
        post, nomination = pick.item, pick.nomination
        nominated = None
        if nomination is not None:
            nominated = " ".join(p for p in (nomination.role, nomination.person) if p)
        items.append(
            UgcItem(
                platform=post.platform,
                post_id=post.id,
                url=safe_text.safe_url(post.url),
                author=safe_text.mask(post.author_name),
                text=post.text,
                score=float(post.ugc_score or 0.0),
                nomination=nominated,
                interactions=sum(
                    n or 0 for n in (post.likes, post.comments, post.shares, post.reposts)
                ),
                posted_at=post.created_at,
            )
        )
    return tuple(sorted(items, key=lambda i: (-i.score, i.posted_at, i.post_id)))


def _watched(item: WatchedPost) -> WatchedItem:
    counts = item.counts
    author = item.author_name if item.author_kind in ("kol", "official") else ""
    return WatchedItem(
        platform=item.platform,
        post_id=item.id,
        url=safe_text.safe_url(item.url if "://" in item.url else f"https://{item.url}"),
        note=item.note,
        collected=item.collected,
        author=(author or safe_text.mask(item.author_name)) if item.collected else "",
        text=item.text,
        posted_at=item.created_at,
        plays=counts.plays,
        likes=counts.likes,
        comments=counts.comments,
        shares=(counts.shares or 0) + (counts.reposts or 0)
        if counts.shares is not None or counts.reposts is not None
        else None,
        gained=item.gained,
        scored=item.scored,
        negative=item.negative,
    )


def _kols(kols: list[KolFacts]) -> tuple[KolRow, ...]:
    rows = []
    for facts in kols:
        uploads = facts.uploads
        plays_known = [p.plays for p in uploads if p.plays is not None]
        likes = sum(p.likes or 0 for p in uploads)
        comments = sum(p.comments or 0 for p in uploads)
        shares = sum((p.shares or 0) + (p.reposts or 0) for p in uploads)
        engagement = likes + comments + shares
        followers = facts.followers_end[1] if facts.followers_end else None
        start = facts.followers_start[1] if facts.followers_start else None
        rate = engagement / len(uploads) / followers if uploads and followers else None
        rows.append(
            KolRow(
                name=facts.kol.name,
                platform=facts.kol.platform,
                account_id=facts.kol.id,
                uploads=len(uploads),
                plays=sum(plays_known) if plays_known else None,
                likes=likes,
                comments=comments,
                shares=shares,
                engagement=engagement,
                rate=rate,
                followers=followers,
                growth=_minus(followers, start),
                growth_from_first=facts.from_first,
            )
        )
    rows.sort(key=lambda r: (-r.engagement, -r.uploads, r.name))
    return tuple(rows)


def _alert(alert: OutboxAlert) -> AlertItem:
    return AlertItem(
        id=alert.id,
        at=alert.created_at,
        kind=alert.kind,
        severity=alert.severity,
        title=alert.title,
        platform=alert.platform,
        state=alert.state,
        url=safe_text.safe_url(alert.url),
        acked_by=alert.acked_by,
        acked_at=alert.acked_at,
    )


def _coordination(facts: Facts, config: Config) -> tuple[CoordinationLead, ...]:
    rule = config.alerts.coordination
    leads = []
    for platform, rows in facts.messages.items():
        messages = [Message(m.id, m.author_id, m.text, m.created_at) for m in rows]
        for suspect in suspected_coordination(
            messages,
            window=timedelta(seconds=rule.window),
            min_accounts=rule.min_accounts,
            max_distance=rule.max_distance,
        ):
            leads.append(
                CoordinationLead(
                    platform=platform,
                    accounts=len(suspect.authors),
                    messages=len(suspect.ids),
                    first_at=suspect.first_at,
                    last_at=suspect.last_at,
                    sample=suspect.sample,
                    authors=tuple(safe_text.mask(a) for a in suspect.authors),
                )
            )
    leads.sort(key=lambda lead: (-lead.accounts, lead.first_at))
    return tuple(leads[:COORDINATION_LEADS])


def _health(facts: Facts) -> tuple[Health, ...]:
    start, end = facts.start, facts.end
    horizon = min(end, max(facts.now, start))
    rows = []
    for platform in PLATFORMS:
        events = [e for e in facts.health_events if e.platform == platform]
        down_since: datetime | None = None
        intervals: list[tuple[datetime, datetime]] = []
        for event in events:
            if event.event == "opened" and down_since is None:
                down_since = event.at
            elif event.event == "recovered" and down_since is not None:
                intervals.append((down_since, event.at))
                down_since = None
        down_at_end = down_since is not None and facts.circuits.get(platform) != "closed"
        if down_since is not None:
            intervals.append((down_since, horizon if down_at_end else down_since))
        downtime = 0.0
        outages = 0
        for begin, finish in intervals:
            overlap = (min(finish, horizon) - max(begin, start)).total_seconds()
            if overlap > 0 or start <= begin < end:
                outages += 1
                downtime += max(overlap, 0.0)
        in_week = [e for e in events if start <= e.at < end]
        rows.append(
            Health(
                platform=platform,
                enabled=facts.enabled.get(platform, True),
                downtime=downtime,
                outages=outages,
                down_at_end=down_at_end and down_since is not None and down_since < end,
                stale_alerts=sum(e.event == "stale" for e in in_week),
                parser_alerts=sum(e.event == "parser" for e in in_week),
                last_reading_at=facts.last_readings.get(platform),
            )
        )
    return tuple(rows)
