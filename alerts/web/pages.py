"""The console's pages and the editors' actions. Reads go through the store's named queries;
writes are the chat bot's own store operations (acknowledge, mute, label, skip), so the browser
and the chat leave the same rows. After a POST the browser is sent back to the page (303)."""

from __future__ import annotations

import csv
import io
import re
import urllib.parse
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from alerts.bot.label_choice import next_label_candidate, record_label_answer
from alerts.safe_text import mask
from alerts.sinks.telegram import MUTE_BUTTON_SECONDS
from alerts.web import charts
from alerts.web.app import console_of, redirect, refuse, render, session_of
from alerts.web.views import CHART_SPAN, gather_summary, summary_json, utc_offset_hours
from monitor.models import PLATFORMS
from monitor.store.console import UGC_MARKS, CommentRow
from nlp.ugc import NOMINATION_CUES, detect_nomination

LABEL_CODES = {"1": "positive", "2": "neutral", "3": "negative", "0": "skip"}
AUTHOR_KINDS = ("kol", "official", "user")
SEVERITIES = ("info", "warning", "critical")
THREAD_PAGE = 200  # comments a thread page shows
KEYWORD_SAMPLE = 100  # the newest comments a thread's keywords are drawn from
UGC_PAGE = 50  # posts a page of the UGC board shows
UGC_CSV_ROWS = 10_000  # the board's download: all of it, within reason
SEARCH_KINDS = ("posts", "comments")
SEARCH_PAGE = {"posts": 20, "comments": 50}  # matches a page shows per kind (one kind: 50)
_DIGEST_FILE = re.compile(r"digest-\d{4}-W\d{2}\.html")
_CSV_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", overview)
    app.router.add_get("/api/summary", api_summary)
    app.router.add_get("/alerts", alerts_page)
    app.router.add_post("/alerts/{id:[0-9]+}/{action:ack|mute|unmute}", alert_action)
    app.router.add_get("/search", search_page)
    app.router.add_get("/threads", threads_page)
    app.router.add_get("/threads/{platform}/{id}", thread_page)
    app.router.add_get("/ugc", ugc_page)
    app.router.add_get("/ugc.csv", ugc_csv)
    app.router.add_post("/ugc/mark", ugc_mark)
    app.router.add_get("/kols", kols_page)
    app.router.add_get("/label", label_page)
    app.router.add_post("/label", label_action)
    app.router.add_get("/digests", digests_page)
    app.router.add_get("/digests/{name}", digest_file)


def _choice(request: web.Request, name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.query.get(name, "")
    return value if value in allowed else None


def _int(text: str | None, default: int, low: int, high: int) -> int:
    try:
        return min(max(int(text or default), low), high)
    except ValueError:
        return default


# --- overview ------------------------------------------------------------------------------


async def overview(request: web.Request) -> web.Response:
    console = console_of(request)
    now = console.now()
    session = session_of(request)
    offset = utc_offset_hours(console.zone, now)
    summary = gather_summary(console.queries, now, session.previous_visit_at)
    since = now - CHART_SPAN
    comment_chart = charts.bar_chart(
        console.queries.comments_by_day(since=since, until=now, offset_hours=offset),
        console.texts("overview.chart_comments"),
    )
    view_charts = []
    for reading in summary.topics:
        points = console.queries.topic_views_by_day(
            reading.platform, reading.topic, since=since, until=now, offset_hours=offset
        )
        if len(points) > 1:
            title = console.texts(
                "overview.chart_views", platform=console.texts(f"platform.{reading.platform}")
            )
            view_charts.append((title, charts.line_chart(points, title)))
    return render(
        request,
        "overview.html",
        summary=summary,
        milestones=console.config.alerts.milestones.views,
        previous_visit=session.previous_visit_at,
        comment_chart=comment_chart,
        view_charts=view_charts,
    )


async def api_summary(request: web.Request) -> web.Response:
    console = console_of(request)
    return web.json_response(summary_json(gather_summary(console.queries, console.now())))


# --- alerts ---------------------------------------------------------------------------------


async def alerts_page(request: web.Request) -> web.Response:
    console = console_of(request)
    acked = {"yes": True, "no": False}.get(request.query.get("acked", ""))
    filters = {
        "kind": request.query.get("kind") or None,
        "severity": _choice(request, "severity", SEVERITIES),
        "platform": _choice(request, "platform", PLATFORMS),
        "acked": request.query.get("acked", ""),
    }
    rows = console.queries.alerts(
        console.now(),
        kind=filters["kind"],
        severity=filters["severity"],
        platform=filters["platform"],
        acked=acked,
        limit=200,
    )
    done = request.query.get("done")
    return render(
        request,
        "alerts.html",
        alerts=rows,
        kinds=console.queries.alert_kinds(),
        filters=filters,
        severities=SEVERITIES,
        platforms=PLATFORMS,
        done=done if done in ("ack", "mute", "unmute") else None,
        done_id=_int(request.query.get("id"), 0, 0, 2**62),
    )


async def alert_action(request: web.Request) -> web.Response:
    """The chat buttons' operations: acknowledge (the first acknowledgement stays), mute the
    alert's subject for `MUTE_BUTTON_SECONDS`, or lift that mute."""
    console = console_of(request)
    store = console.store
    alert_id = int(request.match_info["id"])
    action = request.match_info["action"]
    user = session_of(request).user
    now = console.now()
    alert = store.outbox.outbox_alert(alert_id)
    if alert is None:
        return refuse(request, 404, "error.not_found")
    if action == "ack":
        if store.team.alert_ack(alert_id) is None:
            store.team.ack_alert(alert_id, by=user, by_id=f"web:{user}", at=now)
    elif action == "mute":
        until = now + timedelta(seconds=MUTE_BUTTON_SECONDS)
        if not store.outbox.mute_alert_subject(alert_id, until, at=now, by=user):
            return refuse(request, 400, "error.bad_request", reason="no subject to mute")
    elif alert.subject_id:
        store.outbox.unmute(alert.platform, alert.subject_id)
    return redirect(f"/alerts?done={action}&id={alert_id}#alert-{alert_id}")


# --- search ---------------------------------------------------------------------------------


def _local_day(text: str, zone: str) -> datetime | None:
    try:
        day = datetime.strptime(text, "%Y-%m-%d")
    except ValueError:
        return None
    return day.replace(tzinfo=ZoneInfo(zone))


async def search_page(request: web.Request) -> web.Response:
    """The newest matches first, a page per kind (posts, comments); `kind` and `before` (the
    last row shown) go on with one kind. A comment links to its place in its thread."""
    console = console_of(request)
    q = request.query.get("q", "").strip()[:200]
    platform = _choice(request, "platform", PLATFORMS)
    start = _local_day(request.query.get("from", ""), console.zone)
    end = _local_day(request.query.get("to", ""), console.zone)
    only = _choice(request, "kind", SEARCH_KINDS)
    before = (_int(request.query.get("before"), 0, 0, 2**62) or None) if only else None
    match = console.store.content.text_match(q) if q else None
    results: dict[str, list[Any]] = {}
    more: dict[str, int] = {}  # kind -> the row the next page starts after
    for kind in (only,) if only else SEARCH_KINDS:
        size = SEARCH_PAGE["comments"] if only else SEARCH_PAGE[kind]
        found = (
            console.queries.search_newest(
                match,
                kind,
                platform=platform,
                since=start,
                until=end + timedelta(days=1) if end else None,
                before=before,
                limit=size + 1,
            )
            if match
            else []
        )
        results[kind] = found[:size]
        if len(found) > size:
            more[kind] = found[size - 1].pk
    filters = {
        "platform": platform,
        "from": request.query.get("from", "") if start else "",
        "to": request.query.get("to", "") if end else "",
    }
    newest = "/search?" + urllib.parse.urlencode(
        {"q": q, **{k: v for k, v in filters.items() if v}}
    )
    return render(
        request,
        "search.html",
        q=q,
        results=results,
        more={kind: f"{newest}&kind={kind}&before={pk}" for kind, pk in more.items()},
        newest=newest if before is not None else None,
        total=sum(len(hits) for hits in results.values()),
        platforms=PLATFORMS,
        filters=filters,
    )


# --- threads --------------------------------------------------------------------------------


async def threads_page(request: web.Request) -> web.Response:
    console = console_of(request)
    now = console.now()
    days = _int(request.query.get("days"), 7, 1, 365)
    platform = _choice(request, "platform", PLATFORMS)
    author_kind = _choice(request, "author_kind", AUTHOR_KINDS)
    # a week of comments is read for it: kept until something new is stored, or a minute
    rows = console.threads.get(
        (days, platform, author_kind, now.replace(second=0, microsecond=0)),
        (console.queries.content_mark(), console.queries.newest_alert_id()),
        lambda: console.queries.threads(
            since=now - timedelta(days=days),
            until=now + timedelta(microseconds=1),
            recent_since=now - timedelta(days=1),
            platform=platform,
            author_kind=author_kind,
        ),
    )
    return render(
        request,
        "threads.html",
        threads=rows,
        platforms=PLATFORMS,
        author_kinds=AUTHOR_KINDS,
        filters={"platform": platform, "author_kind": author_kind, "days": days},
    )


async def thread_page(request: web.Request) -> web.Response:
    """A post, its counts over time, its keywords, alerts and comments: the newest
    `THREAD_PAGE`, or with `?comment=ID` that comment (a search found it) and the older ones."""
    console = console_of(request)
    platform, post_id = request.match_info["platform"], request.match_info["id"]
    post = console.queries.post(platform, post_id)
    if post is None:
        return refuse(request, 404, "error.not_found")
    upto = request.query.get("comment", "")[:100] or None
    comments = console.queries.post_comments(platform, post_id, THREAD_PAGE + 1, upto=upto)
    older = comments[THREAD_PAGE].id if len(comments) > THREAD_PAGE else None
    comments = comments[:THREAD_PAGE]
    readings = console.queries.post_readings(platform, post_id)
    points = [(console_time(r.observed_at, console.zone), float(r.comments or 0)) for r in readings]
    chart = charts.line_chart(points, console.texts("thread.counts")) if len(points) > 1 else None
    newest = comments if upto is None else None
    return render(
        request,
        "thread.html",
        post=post,
        comments=comments,
        found=upto,
        older=older,
        chart=chart,
        # jieba over a thread's comments is the page's heaviest part: kept until one is added
        keywords=console.keywords.get(
            (platform, post_id),
            console.queries.newest_comment_of(platform, post_id),
            lambda: thread_keywords(
                newest or console.queries.post_comments(platform, post_id, KEYWORD_SAMPLE)
            ),
        ),
        alerts=console.queries.alerts_about(platform, post_id, console.now()),
    )


def thread_keywords(comments: Sequence[CommentRow]) -> list[str]:
    """The words a thread's newest `KEYWORD_SAMPLE` comments are about."""
    from nlp.segment import keywords

    return [word for word, _ in keywords([c.text for c in comments[:KEYWORD_SAMPLE]], top_k=12)]


def console_time(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


# --- UGC ------------------------------------------------------------------------------------


def _board(request: web.Request, *, limit: int, offset: int = 0) -> tuple[list[Any], bool]:
    """((item, nomination) of posts above the UGC rule's bar, nominations below it and every
    post the team marked; whether the board goes on after them)."""
    console = console_of(request)
    bar = console.config.alerts.ugc.min_score
    items = console.queries.ugc_board(
        min_score=bar, cues=NOMINATION_CUES, limit=limit + 1, offset=offset
    )
    board = [(item, detect_nomination(item.post.text)) for item in items[:limit]]
    shown = [
        (item, nomination)
        for item, nomination in board
        if nomination or item.mark or (item.post.ugc_score or 0) >= bar
    ]
    return shown, len(items) > limit


async def ugc_page(request: web.Request) -> web.Response:
    console = console_of(request)
    page = _int(request.query.get("page"), 1, 1, 10_000)
    board, more = _board(request, limit=UGC_PAGE, offset=(page - 1) * UGC_PAGE)
    return render(
        request,
        "ugc.html",
        board=board,
        page=page,
        more=more,
        marks=UGC_MARKS,
        min_score=console.config.alerts.ugc.min_score,
        done=request.query.get("done") == "mark",
    )


async def ugc_mark(request: web.Request) -> web.Response:
    console = console_of(request)
    form = await request.post()
    platform, post_id, mark = (str(form.get(k, "")) for k in ("platform", "post_id", "mark"))
    if mark not in (*UGC_MARKS, "none") or platform not in PLATFORMS:
        return refuse(request, 400, "error.bad_request", reason="mark")
    done = console.queries.mark_ugc(
        platform,
        post_id,
        None if mark == "none" else mark,  # type: ignore[arg-type]
        by=session_of(request).user,
        at=console.now(),
    )
    if not done:
        return refuse(request, 404, "error.not_found")
    page = _int(str(form.get("page", "")), 1, 1, 10_000)
    return redirect(f"/ugc?done=mark&page={page}#ugc-{platform}-{urllib.parse.quote(post_id)}")


def _csv_cell(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula is kept as text (OWASP)."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_CSV_FORMULA):
        return "'" + value
    return value


async def ugc_csv(request: web.Request) -> web.Response:
    """The board for the campaign's selection stage (推荐、选拔), UTF-8 with a byte-order
    mark so that Excel reads the Chinese."""
    console = console_of(request)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(
        ["platform", "id", "url", "author", "created_at", "ugc_score", "nomination_role",
         "nomination_person", "mark", "text"]
    )  # fmt: skip
    for item, nomination in _board(request, limit=UGC_CSV_ROWS)[0]:
        post = item.post
        writer.writerow(
            _csv_cell(value)
            for value in (
                post.platform,
                post.id,
                post.url,
                mask(post.author_name),
                console_time(post.created_at, console.zone),
                None if post.ugc_score is None else round(post.ugc_score, 3),
                nomination.role if nomination else None,
                nomination.person if nomination else None,
                item.mark,
                post.text,
            )
        )
    return web.Response(
        body=("\ufeff" + out.getvalue()).encode("utf-8"),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="pingfan-ugc.csv"'},
    )


# --- KOLs -----------------------------------------------------------------------------------


async def kols_page(request: web.Request) -> web.Response:
    console = console_of(request)
    now = console.now()
    days = _int(request.query.get("days"), 30, 1, 3650)
    kols = console.config.kols
    rows = console.store.team.kol_table(
        [(k.platform, k.id) for k in kols], since=now - timedelta(days=days), now=now
    )
    names = {(k.platform, k.id): k.name for k in kols}
    ranked = sorted(rows, key=lambda row: (row.plays or 0, row.interactions), reverse=True)
    uploads = {
        (row.platform, row.id): console.queries.posts_of_author(row.platform, row.id, 5)
        for row in ranked
    }
    return render(request, "kols.html", kols=ranked, names=names, uploads=uploads, days=days)


# --- labelling ------------------------------------------------------------------------------


async def label_page(request: web.Request) -> web.Response:
    console = console_of(request)
    done = request.query.get("done", "")
    return render(
        request,
        "label.html",
        candidate=next_label_candidate(console.store),  # the chat bot's own choice
        labelled=console.store.team.team_label_count(),
        done=done if done in ("positive", "neutral", "negative", "skip") else None,
    )


async def label_action(request: web.Request) -> web.Response:
    """The chat bot's /label card, in the browser: the same store calls, the same rows."""
    console = console_of(request)
    form = await request.post()
    choice = LABEL_CODES.get(str(form.get("key", "")))
    pk = _int(str(form.get("pk", "")), 0, 0, 2**62)
    candidate = console.store.team.label_candidate(pk) if pk else None
    if choice is None or candidate is None:
        return refuse(request, 400, "error.bad_request", reason="label")
    who = f"web:{session_of(request).user}"
    now = console.now()
    label = None if choice == "skip" else choice
    record_label_answer(console.store, candidate, label, by=who, at=now)
    return redirect(f"/label?done={choice}")


# --- digests --------------------------------------------------------------------------------


async def digests_page(request: web.Request) -> web.Response:
    folder = console_of(request).config.digest.out_dir
    names = (
        sorted((p.name for p in folder.glob("digest-*.html") if _DIGEST_FILE.fullmatch(p.name)),
               reverse=True)
        if folder.is_dir()
        else []
    )  # fmt: skip
    return render(request, "digests.html", digests=names)


async def digest_file(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    path = console_of(request).config.digest.out_dir / name
    if not _DIGEST_FILE.fullmatch(name) or not path.is_file():
        return refuse(request, 404, "error.not_found")
    response = web.Response(body=path.read_bytes(), content_type="text/html", charset="utf-8")
    # The digest is one self-contained file: its own styles and data: images, nothing else.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; frame-ancestors 'none'"
    )
    return response
