"""Weibo collection: topic posts, topic reads, KOL timelines, comments, follower snapshots.

The client fetches, `monitor.parse.weibo` parses, the store saves; this module only decides
what to fetch and when to stop. Every source is incremental: it pages until it meets posts
it already has, and its cursor is saved with the rows it covers, only when the walk finished.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from monitor.collectors.due import due_threads, visit_due_threads
from monitor.collectors.walk import Trail, Warnings, log_skipped
from monitor.config import Config
from monitor.errors import AuthExpired, ParseError
from monitor.models import AuthorKind, Comment, Cursor, Post, from_iso, to_utc_iso
from monitor.parse.edge import INT64_MAX
from monitor.parse.weibo import (
    Envelope,
    cards_to_mblogs,
    is_pinned,
    is_truncated,
    next_marker,
    page_description,
    parse_hotflow,
    parse_mblogs,
    parse_profile,
    parse_topic_desc,
    parse_topic_detail,
    read_envelope,
)
from monitor.runtime.clock import Clock
from monitor.runtime.fetch import Fetcher, HttpResponse, time_is_up
from monitor.runtime.sources import Source, SourceList
from monitor.store import Store
from monitor.watch import due_watched
from nlp.text import extract_entities, html_to_text

log = logging.getLogger(__name__)

MAX_PAGES = 50  # Weibo search stops at 50 pages anyway
HEADERS = {
    "User-Agent": (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1"
    ),
    "Accept": "application/json, text/plain, */*",
    "MWeibo-Pwa": "1",
    "X-Requested-With": "XMLHttpRequest",
}
POSTS_SOURCE = "weibo:posts"
COMMENTS_SOURCE = "weibo:comments"
# A visit to one thread reads at most this many comment pages, then the next due thread gets
# its turn; an unfinished walk resumes where it stopped (fair share: no thread starves others).
PAGES_PER_VISIT = 5
# A thread is re-read whole every this many `comments_cold` intervals (a day by default), for
# new replies under comments it already has.
FULL_REREAD_EVERY_COLD = 12
# Posts whose counts are refreshed through /statuses/show in one run, oldest reading first.
REFRESH_PER_RUN = 20


class WeiboCollector:
    """Decides what to fetch and when to stop; the runner owns the circuit and the report."""

    def __init__(
        self,
        config: Config,
        store: Store,
        http: Fetcher,
        clock: Clock,
        *,
        extend_limit: int = 10,
    ) -> None:
        self.config = config
        self.store = store
        self.http = http
        self.clock = clock
        self.base = config.weibo.base_url.rstrip("/")
        self.topic_base = config.weibo.topic_base_url.rstrip("/")
        self.extend_limit = extend_limit
        self._officials = set(config.official.weibo)
        self._kols = {k.id for k in config.kols if k.platform == "weibo"}
        self._topic_desc: dict[str, str] = {}
        self._platform_now: datetime | None = None
        self._warnings = Warnings()

    def sources(self, *, logged_in: bool) -> list[Source]:
        """Every Weibo source in pass order: posts before the comments they lead to."""
        schedule = self.config.schedule
        found = SourceList("weibo", COMMENTS_SOURCE)
        if logged_in:
            found.add("login", schedule.profiles, self.check_login)
        for topic in self.config.topics:
            found.add(
                f"topic_posts:{topic.name}",
                schedule.topic_posts,
                partial(self.collect_topic_posts, topic.name),
                lists_posts=True,
            )
            found.add(
                f"topic_stats:{topic.name}",
                schedule.topic_stats,
                partial(self.collect_topic_stats, topic.name),
            )
        for uid in sorted(self._kols | self._officials):
            found.add(
                f"timeline:{uid}",
                schedule.kol_posts,
                partial(self.collect_timeline, uid),
                lists_posts=True,
            )
            found.add(f"profile:{uid}", schedule.profiles, partial(self.collect_profile, uid))
        found.add("watched", schedule.kol_posts, self.collect_watched, lists_posts=True)
        found.add("post_counts", schedule.comments_hot, self.refresh_post_counts, lists_posts=True)
        found.add("comments", schedule.comments_hot, self.collect_due_comments)
        return found.sources

    async def _get(
        self, url: str, params: dict[str, Any] | None = None, referer: str | None = None
    ) -> tuple[HttpResponse, Envelope]:
        headers = {"Referer": referer or f"{self.base}/"}
        response = await self.http.get(url, params, headers)
        if self._platform_now is None or response.date > self._platform_now:
            self._platform_now = response.date
        return response, read_envelope(response.status, response.text, response.url)

    def platform_now(self) -> datetime:
        """The platform's own clock (its latest Date header): what post ages are measured
        against, so that "young" means young on the platform whatever our clock says."""
        return self._platform_now or self.clock.now()

    # --- sources -----------------------------------------------------------------------

    async def check_login(self) -> int:
        """With a cookie configured, `/api/config` says whether it is still accepted."""
        _, envelope = await self._get(f"{self.base}/api/config")
        if not envelope.data.get("login"):
            raise AuthExpired(
                f"the Weibo cookie in ${self.config.weibo.cookie_env} is expired or not a "
                "login cookie; log in again and export a fresh one"
            )
        return 0

    async def collect_topic_posts(self, topic: str) -> int:
        """Real-time search and the topic container, each until it meets known posts."""
        rows = 0
        for key, containerid in (
            (f"search:{topic}", f"100103type=61&q=#{topic}#"),
            (f"container:{topic}", f"231522type=1&t=10&q=#{topic}#"),
        ):
            rows += await self._walk_pages(key, partial(_search_params, containerid))
        return rows

    async def collect_timeline(self, uid: str) -> int:
        """`107603{uid}` by since_id; pinned posts come first and never decide the stop."""
        return await self._walk_pages(
            f"timeline:{uid}", partial(_timeline_params, uid), by_since_id=True
        )

    async def _walk_pages(
        self, key: str, params_for: Callable[[Any], dict[str, Any]], by_since_id: bool = False
    ) -> int:
        known = int(self.store.content.cursor(POSTS_SOURCE, key) or 0)
        newest = known
        found: dict[str, Post] = {}
        truncated: set[str] = set()
        marker: Any = None if by_since_id else 1
        complete = False
        trail = Trail()
        try:
            for page_number in range(MAX_PAGES):
                response, envelope = await self._get(
                    f"{self.base}/api/container/getIndex", params_for(marker)
                )
                if envelope.empty:
                    # 这里还没有内容 on page 1 is "nothing there"; after a next-page marker
                    # it is an early end (MediaCrawler #907): keep the cursor where it was.
                    complete = page_number == 0
                    break
                desc = page_description(envelope.data)
                if key.startswith("container:") and desc is not None:
                    self._topic_desc[key.split(":", 1)[1]] = desc
                mblogs = cards_to_mblogs(envelope.data.get("cards"))
                if not mblogs:
                    complete = True
                    break
                reached_known = False
                parsed, skipped = parse_mblogs(mblogs, response.date, self.base)
                log_skipped(log, f"weibo {key}", skipped)
                for mblog, post in parsed:
                    post = self._classify(post)
                    found[post.id] = post  # duplicates across pages collapse here
                    if is_truncated(mblog):
                        truncated.add(post.id)
                    if not is_pinned(mblog) and _as_int(post.id) <= known:
                        reached_known = True
                    newest = max(newest, _as_int(post.id))
                following = next_marker(envelope.data, by_since_id)
                if reached_known or not following:
                    complete = True
                    break
                loop = trail.loops(str(marker), str(following), (post.id for _, post in parsed))
                if loop:
                    # The stretch after this page is read again next pass: cursor kept.
                    self._warnings.walk_ended(f"weibo {key}", loop, "watermark kept")
                    break
                marker = following
            posts = await self._complete_long_texts(found, truncated, known)
        except BaseException:
            # An interrupted walk keeps its rows but not its cursor: the next pass re-reads.
            # No further requests here: the platform may just have blocked us.
            self.store.content.save_posts(found.values())
            raise
        cursor = Cursor(POSTS_SOURCE, key, str(newest)) if complete else None
        self.store.content.save_posts(posts, cursor=cursor)
        return len(found)

    def _kind_of(self, author_id: str) -> AuthorKind:
        if author_id in self._officials:
            return "official"
        return "kol" if author_id in self._kols else "user"

    def _classify(self, post: Post) -> Post:
        kind = self._kind_of(post.author_id)
        return replace(post, author_kind=kind) if kind != post.author_kind else post

    async def _complete_long_texts(
        self, found: dict[str, Post], truncated: set[str], known: int
    ) -> list[Post]:
        """`全文` posts get their full text from /statuses/extend, new ones first, a few a pass."""
        budget = self.extend_limit
        posts = []
        for post in found.values():
            if post.id in truncated and budget > 0 and _as_int(post.id) > known:
                budget -= 1
                try:
                    _, envelope = await self._get(f"{self.base}/statuses/extend", {"id": post.id})
                except ParseError as err:
                    log.debug("weibo long text of %s not read: %s", post.id, err)
                else:
                    content = envelope.data.get("longTextContent")
                    if isinstance(content, str) and content:
                        text = html_to_text(content)
                        entities = extract_entities(text)
                        post = replace(
                            post, text=text, topics=entities.hashtags, mentions=entities.mentions
                        )
            posts.append(post)
        return posts

    async def collect_topic_stats(self, topic: str) -> int:
        """Reads and discussions from m.s.weibo.com; the topic container's text as a fallback."""
        try:
            response, envelope = await self._get(
                f"{self.topic_base}/ajax_topic/detail", {"q": f"#{topic}#"}
            )
            if envelope.empty:
                raise ParseError("topic detail is empty", response.url)
            stats = parse_topic_detail(envelope.data, topic, response.date)
        except ParseError:
            fallback = parse_topic_desc(self._topic_desc.get(topic, ""), topic, self.clock.now())
            if fallback is None:
                raise
            stats = fallback
        return self.store.metrics.save_topic_stats([stats])

    async def collect_profile(self, uid: str) -> int:
        response, envelope = await self._get(
            f"{self.base}/api/container/getIndex", {"containerid": f"100505{uid}"}
        )
        if envelope.empty:
            raise ParseError(f"no profile for uid {uid}", response.url)
        account = parse_profile(envelope.data, response.date, self._kind_of(uid))
        return self.store.metrics.save_accounts([account])

    async def refresh_post_counts(self) -> int:
        """Counts of hot posts that no listing showed lately, one `/statuses/show` each."""
        schedule = self.config.schedule
        now = self.platform_now()
        due = self.store.reports.posts_to_refresh(
            "weibo",
            created_after=now - timedelta(seconds=schedule.hot_window),
            observed_before=now - timedelta(seconds=schedule.comments_hot),
            limit=REFRESH_PER_RUN,
        )
        posts: list[Post] = []
        for post_id in due:
            response, envelope = await self._get(f"{self.base}/statuses/show", {"id": post_id})
            if envelope.empty:  # deleted or private now: keep what we have
                continue
            parsed, skipped = parse_mblogs([envelope.data], response.date, self.base)
            log_skipped(log, f"weibo post_counts {post_id}", skipped)
            posts.extend(self._classify(post) for _, post in parsed)
        return self.store.content.save_posts(posts)

    async def collect_watched(self) -> int:
        """Posts watched by link (`[[watch]]`, `pingfan watch add`), whatever they are tagged
        with: one `/statuses/show` each, when their counts were not read for `kol_posts`/2.
        Their comments follow like any stored post's."""
        due, _ = await due_watched(
            self.store, self.config, "weibo", clock=self.clock, platform_now=self.platform_now()
        )
        posts: list[Post] = []
        for mid in due:
            response, envelope = await self._get(
                f"{self.base}/statuses/show", {"id": mid}, referer=f"{self.base}/detail/{mid}"
            )
            if envelope.empty:
                log.info("weibo watched post %s is gone or private; its last counts stay", mid)
                continue
            parsed, skipped = parse_mblogs([envelope.data], response.date, self.base)
            log_skipped(log, f"weibo watched {mid}", skipped)
            posts.extend(self._classify(post) for _, post in parsed)
        return self.store.content.save_posts(posts)

    def comment_candidates(self) -> list[tuple[str, int]]:
        """Posts whose comments are due, most urgent first (`monitor.collectors.due`)."""
        rising = self.store.reports.threads_turning_negative(
            "weibo", since=self.platform_now() - timedelta(hours=6)
        )
        rows = self.store.reports.comment_poll_state("weibo", COMMENTS_SOURCE)
        now = self.clock.now()
        return due_threads(rows, now, self.platform_now(), self.config.schedule, rising)

    async def collect_due_comments(self) -> int:
        """Visit the due threads (`monitor.collectors.due.visit_due_threads`); what is left
        when the run's time is up waits for the next run, first in line."""

        async def visit(post_id: str, listed: int) -> tuple[int, bool]:
            found, finished = await self.collect_comments(post_id, listed)
            return found, not finished

        return await visit_due_threads(
            self.comment_candidates, visit, self.clock, self.store, source=COMMENTS_SOURCE
        )

    async def collect_comments(
        self, post_id: str, listed: int = 0, max_pages: int = PAGES_PER_VISIT
    ) -> tuple[int, bool]:
        """New comments since the cursor: hotflow pages with max_id and max_id_type passed
        back (the type flips 0 → 1 mid-stream), until max_id 0 or known comments.

        Returns (comments read, walk finished). A walk cut at `max_pages` stores its rows
        with a resume point in the same transaction, and the next visit goes on from there.
        Every twelve `comments_cold` (a day by default) the walk ignores what it knows and
        re-reads the whole thread, which brings new replies under old comments."""
        state = json.loads(self.store.content.cursor(COMMENTS_SOURCE, post_id) or "{}")
        state.pop("failed", None)  # a visit that gets this far no longer counts as failing
        now = self.clock.now()
        resume = state.get("resume") or {}
        full_reread = _full_reread_due(
            state, now, self.config.schedule.comments_cold * FULL_REREAD_EVERY_COLD
        )
        known = 0 if full_reread else int(state.get("newest", 0))
        newest = max(int(resume.get("newest", 0)), int(state.get("newest", 0)))
        max_id, max_id_type = int(resume.get("max_id", 0)), int(resume.get("max_id_type", 0))
        first_page = max_id == 0
        found: dict[str, Comment] = {}
        finished = empty_first_page = False
        referer = f"{self.base}/detail/{post_id}"
        trail = Trail()
        try:
            for page_number in range(max_pages):
                if page_number and time_is_up(self.clock):
                    break  # the run's time is up: the next visit resumes here
                params: dict[str, Any] = {"id": post_id, "mid": post_id, "max_id_type": max_id_type}
                if max_id:
                    params["max_id"] = max_id
                response, envelope = await self._get(
                    f"{self.base}/comments/hotflow", params, referer
                )
                if envelope.empty:
                    # An empty first page is "no comments (yet)": the next hot poll asks again.
                    # After a next-page marker it is an early end: resume from there next time.
                    finished = empty_first_page = first_page
                    break
                page = parse_hotflow(envelope.data, post_id, response.date)
                log_skipped(log, f"weibo comments of {post_id}", page.skipped)
                reached_known = False
                for comment in page.comments:
                    found[comment.id] = comment
                    newest = max(newest, _as_int(comment.id))
                    # Only the time-ordered section (type 1, newest first) can end the walk.
                    if max_id_type == 1 and not comment.parent_id and _as_int(comment.id) <= known:
                        reached_known = True
                if reached_known or page.max_id == 0:
                    finished = True
                    break
                here, following = (max_id, max_id_type), (page.max_id, page.max_id_type)
                loop = trail.loops(here, following, (c.id for c in page.comments))
                if loop:
                    # Hotflow loops (the same max_id again): this walk ends here and the
                    # thread counts as read; the daily full re-read goes over it again.
                    self._warnings.walk_ended(f"weibo comments of {post_id}", loop, "thread read")
                    finished = True
                    break
                max_id, max_id_type = following
                first_page = False
        except BaseException:
            # Rows read so far are kept; the cursor stays where it was, so nothing is skipped.
            self.store.content.save_comments(found.values())
            raise
        if finished:
            value: dict[str, Any] = {
                "newest": newest,
                "count": 0 if empty_first_page else listed,
                "read_at": to_utc_iso(now),
                # A walk that knew nothing (the first, or a full re-read) read the whole thread.
                "full_at": to_utc_iso(now) if known == 0 else state.get("full_at"),
            }
        else:
            value = {**state, "resume": {"max_id": max_id, "max_id_type": max_id_type,
                                         "newest": newest}}  # fmt: skip
            if full_reread:
                value["newest"] = 0  # a full re-read in progress: finish it before stopping
        cursor = Cursor(COMMENTS_SOURCE, post_id, json.dumps(value))
        self.store.content.save_comments(found.values(), cursor=cursor)
        return len(found), finished


def _full_reread_due(state: dict[str, Any], now: datetime, every: float) -> bool:
    if "newest" not in state:
        return False  # a first walk reads everything anyway
    if state.get("resume") and state.get("newest") == 0:
        return True  # a full re-read is under way
    last = state.get("full_at") or state.get("read_at")
    return last is None or (now - from_iso(last)).total_seconds() >= every


def _search_params(containerid: str, page: int) -> dict[str, Any]:
    return {"containerid": containerid, "page_type": "searchall", "page": page}


def _timeline_params(uid: str, since_id: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {"containerid": f"107603{uid}"}
    if since_id:
        params["since_id"] = since_id
    return params


def _as_int(value: str) -> int:
    """An id as a number for ordering; 0 when it is none SQLite could hold."""
    if not value.isdigit() or len(value) > 19:
        return 0
    number = int(value)
    return number if number <= INT64_MAX else 0
