"""Douyin collection from the web API (browser and http modes): challenge views as a time
series, the challenge's videos, KOL and organiser uploads, follower snapshots, per-video
statistics and comment threads.

The fetcher fetches (a browser page or aiohttp, see douyin_client.py), `monitor.parse.douyin`
parses, the store saves; this module decides what to fetch and when to stop. Every list is
walked newest first until it meets what is already stored, and its watermark is saved with
the rows it covers, only when the walk finished.

Traps, each ending a walk without an endless loop: HTTP 200 with an empty body is a block
(the parser raises Blocked, the runner opens the circuit and alerts once); has_more 1 with an
empty list, a cursor that does not move, or an answer without a list end the walk early and
keep the watermark where it was, so the next pass reads that stretch again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from monitor.collectors.douyin_comments import CommentWalker, comment_candidates
from monitor.collectors.walk import Trail, Warnings, log_skipped
from monitor.config import Config
from monitor.errors import CollectorError, ParseError
from monitor.models import AuthorKind, Cursor, Post
from monitor.parse.douyin import (
    AwemePage,
    CommentPage,
    aweme_page,
    comment_page,
    hashtag_ids,
    is_pinned,
    parse_aweme_detail,
    parse_awemes,
    parse_challenge,
    parse_profile,
    read_envelope,
    removal_reason,
)
from monitor.parse.edge import Skipped
from monitor.runtime.clock import Clock
from monitor.runtime.fetch import Fetcher, HttpResponse
from monitor.runtime.sources import Source, SourceList
from monitor.store import Store
from monitor.watch import Resolver, due_watched

log = logging.getLogger(__name__)

API = "/aweme/v1/web"
POSTS_SOURCE = "douyin:posts"  # watermarks: "challenge:{topic}", "uploads:{sec_uid}"
COMMENTS_SOURCE = "douyin:comments"
CH_IDS_SOURCE = "douyin:ch_ids"  # challenge ids learned from the videos' own tags
MAX_PAGES = 30
UPLOADS_COUNT = 18  # what the site itself asks for; pages above ~30 come back short
LIST_COUNT = 20
REFRESH_PER_RUN = 20  # hot videos whose counts are re-read through aweme/detail per run


class DouyinCollector:
    """Decides what to fetch and when to stop; the runner owns the circuit and the report."""

    def __init__(
        self,
        config: Config,
        store: Store,
        http: Fetcher,
        clock: Clock,
        *,
        resolver: Resolver | None = None,
    ) -> None:
        self.config = config
        self.resolver = resolver  # follows a v.douyin.com link's redirect once
        self.store = store
        self.http = http
        self.clock = clock
        self.base = config.douyin.base_url.rstrip("/")
        self._officials = set(config.official.douyin)
        self._kols = {k.id for k in config.kols if k.platform == "douyin"}
        self._ch_ids = {t.name: t.douyin_ch_id for t in config.topics if t.douyin_ch_id}
        self._removed: set[str] = set()
        self._warnings = Warnings()
        self._platform_now: datetime | None = None
        self.comments = CommentWalker(
            store, clock, COMMENTS_SOURCE, self._comment_page, self._reply_page
        )

    def sources(self) -> list[Source]:
        """Every Douyin source in pass order: uploads first (their tags name the challenge),
        then each topic's views and videos, then counts and comments."""
        schedule = self.config.schedule
        found = SourceList("douyin", COMMENTS_SOURCE)
        for sec_uid in sorted(self._kols | self._officials):
            found.add(
                f"uploads:{sec_uid}",
                schedule.kol_posts,
                partial(self.collect_uploads, sec_uid),
                lists_posts=True,
            )
            found.add(
                f"profile:{sec_uid}", schedule.profiles, partial(self.collect_profile, sec_uid)
            )
        for topic in self.config.topics:
            found.add(
                f"topic_stats:{topic.name}",
                schedule.topic_stats,
                partial(self.collect_topic_stats, topic.name),
            )
            found.add(
                f"topic_videos:{topic.name}",
                schedule.topic_posts,
                partial(self.collect_challenge_videos, topic.name),
                lists_posts=True,
            )
        found.add("watched", schedule.kol_posts, self.collect_watched, lists_posts=True)
        found.add("post_counts", schedule.comments_hot, self.refresh_post_counts, lists_posts=True)
        found.add("comments", schedule.comments_hot, self.collect_due_comments)
        return found.sources

    async def _get(
        self, path: str, params: dict[str, Any], referer: str | None = None
    ) -> tuple[HttpResponse, dict[str, Any]]:
        headers = {"Referer": referer or f"{self.base}/", "Accept": "application/json"}
        response = await self.http.get(f"{self.base}{API}{path}", params, headers)
        if self._platform_now is None or response.date > self._platform_now:
            self._platform_now = response.date
        return response, read_envelope(response.status, response.text, response.url)

    def platform_now(self) -> datetime:
        """The platform's own clock (its latest Date header), for post ages."""
        return self._platform_now or self.clock.now()

    def _quirk(self, where: str, what: str) -> None:
        """A trap met: logged once per place and kind, then quietly."""
        self._warnings.walk_ended(f"douyin {where}", what, "watermark kept")

    # --- challenges ----------------------------------------------------------------------

    def ch_id(self, topic: str) -> str:
        """The topic's challenge id: configured, or learned from a collected video's tags."""
        known = self._ch_ids.get(topic) or self.store.content.cursor(CH_IDS_SOURCE, topic)
        if not known:
            raise CollectorError(
                f"#{topic}: no douyin_ch_id is configured and no collected Douyin video carries "
                "the tag yet; set douyin_ch_id under [[topics]] (the number in "
                "https://www.douyin.com/hashtag/<ch_id>)"
            )
        return known

    def _learn_ch_ids(self, awemes: tuple[dict[str, Any], ...]) -> None:
        for aweme in awemes:
            for name, ch_id in hashtag_ids(aweme).items():
                if any(t.name == name for t in self.config.topics) and name not in self._ch_ids:
                    self._ch_ids[name] = ch_id
                    self.store.content.save_posts([], cursor=Cursor(CH_IDS_SOURCE, name, ch_id))
                    log.info("douyin: #%s is challenge %s (from a video's tags)", name, ch_id)

    async def collect_topic_stats(self, topic: str) -> int:
        ch_id = self.ch_id(topic)
        response, payload = await self._get(
            "/challenge/detail/", {"ch_id": ch_id}, referer=f"{self.base}/hashtag/{ch_id}"
        )
        return self.store.metrics.save_topic_stats([parse_challenge(payload, topic, response.date)])

    async def collect_challenge_videos(self, topic: str) -> int:
        """`challenge/aweme/` newest first (sort_type 1), until a page holds only videos at
        or before the watermark (the newest create_time of the last finished walk)."""
        ch_id = self.ch_id(topic)

        async def page_at(cursor: int) -> tuple[HttpResponse, AwemePage]:
            params = {"ch_id": ch_id, "cursor": cursor, "count": LIST_COUNT, "sort_type": 1}
            response, payload = await self._get(
                "/challenge/aweme/", params, referer=f"{self.base}/hashtag/{ch_id}"
            )
            return response, aweme_page(payload, "cursor")

        return await self._walk(f"challenge:{topic}", page_at, whole_page_known=True)

    # --- accounts ------------------------------------------------------------------------

    async def collect_uploads(self, sec_uid: str) -> int:
        """`aweme/post/` by max_cursor (ms); pinned uploads come first and never decide the
        stop."""

        async def page_at(cursor: int) -> tuple[HttpResponse, AwemePage]:
            params = {
                "sec_user_id": sec_uid,
                "max_cursor": cursor,
                "count": UPLOADS_COUNT,
                "locate_query": "false",
                "publish_video_strategy_type": 2,
            }
            response, payload = await self._get(
                "/aweme/post/", params, referer=f"{self.base}/user/{sec_uid}"
            )
            return response, aweme_page(payload, "max_cursor")

        return await self._walk(f"uploads:{sec_uid}", page_at, whole_page_known=False)

    async def collect_profile(self, sec_uid: str) -> int:
        response, payload = await self._get(
            "/user/profile/other/",
            {"sec_user_id": sec_uid, "publish_video_strategy_type": 2,
             "personal_center_strategy": 1},
            referer=f"{self.base}/user/{sec_uid}",
        )  # fmt: skip
        account = parse_profile(payload, response.date, self._kind_of(sec_uid))
        return self.store.metrics.save_accounts([account])

    # --- list walks ----------------------------------------------------------------------

    async def _walk(
        self,
        key: str,
        page_at: Callable[[int], Awaitable[tuple[HttpResponse, AwemePage]]],
        *,
        whole_page_known: bool,
    ) -> int:
        """Page a list newest first. It ends complete at has_more 0 or at known videos
        (`whole_page_known`: every video of a page; else any unpinned one), and incomplete at
        a trap; only a complete walk moves the watermark."""
        known = int(self.store.content.cursor(POSTS_SOURCE, key) or 0)
        newest = known
        found: dict[str, Post] = {}
        cursor = 0
        complete = False
        trail = Trail()
        try:
            for _ in range(MAX_PAGES):
                response, page = await page_at(cursor)
                quirk = _list_quirk(page)
                parsed, skipped = parse_awemes(page.awemes, response.date, self.base)
                log_skipped(log, f"douyin {key}", [*page.skipped, *skipped])
                self._learn_ch_ids(tuple(aweme for aweme, _ in parsed))
                stamps = []
                for aweme, post in parsed:
                    post = self._classify(post)
                    found[post.id] = post  # duplicates across pages collapse here
                    stamp = int(post.created_at.timestamp())
                    newest = max(newest, stamp)
                    if not is_pinned(aweme):
                        stamps.append(stamp)
                if quirk:
                    self._quirk(key, quirk)
                    break
                older = [s <= known for s in stamps]
                reached = bool(older) and (all(older) if whole_page_known else any(older))
                if reached or not page.has_more:
                    complete = True
                    break
                loop = trail.loops(cursor, page.cursor, (post.id for _, post in parsed))
                if loop:
                    self._quirk(key, loop)
                    break
                cursor = page.cursor
            else:
                self._quirk(key, f"more than {MAX_PAGES} pages")
        except BaseException:
            # An interrupted walk keeps its rows but not its watermark: the next pass re-reads.
            self.store.content.save_posts(found.values())
            raise
        cursor_row = Cursor(POSTS_SOURCE, key, str(newest)) if complete else None
        return self.store.content.save_posts(found.values(), cursor=cursor_row)

    def _kind_of(self, author_id: str) -> AuthorKind:
        if author_id in self._officials:
            return "official"
        return "kol" if author_id in self._kols else "user"

    def _classify(self, post: Post) -> Post:
        kind = self._kind_of(post.author_id)
        return replace(post, author_kind=kind) if kind != post.author_kind else post

    # --- per-video statistics ------------------------------------------------------------

    async def refresh_post_counts(self) -> int:
        """Counts of hot videos no listing showed lately, one `aweme/detail/` each. A removed
        video answers with filter_detail: its last counts stay, nothing is invented."""
        schedule = self.config.schedule
        now = self.platform_now()
        due = self.store.reports.posts_to_refresh(
            "douyin",
            created_after=now - timedelta(seconds=schedule.hot_window),
            observed_before=now - timedelta(seconds=schedule.comments_hot),
            limit=REFRESH_PER_RUN + len(self._removed),
        )
        posts = []
        for post_id in [p for p in due if p not in self._removed][:REFRESH_PER_RUN]:
            response, payload = await self._get(
                "/aweme/detail/", {"aweme_id": post_id}, referer=f"{self.base}/video/{post_id}"
            )
            try:
                post = parse_aweme_detail(payload, response.date, self.base)
            except ParseError as err:
                dropped = [Skipped("video", post_id, str(err))]
                log_skipped(log, f"douyin post_counts {post_id}", dropped)
                continue
            if post is None:
                self._removed.add(post_id)
                log.info("douyin video %s is gone (%s)", post_id, removal_reason(payload))
                continue
            posts.append(self._classify(post))
        return self.store.content.save_posts(posts)

    async def collect_watched(self) -> int:
        """Videos watched by link (`[[watch]]`, `pingfan watch add`), whatever they are tagged
        with: short links resolved once (one paced request each), then one `aweme/detail/`
        per video whose counts were not read for `kol_posts`/2. Comments follow like any
        stored video's."""
        due, problems = await due_watched(
            self.store, self.config, "douyin", clock=self.clock,
            platform_now=self.platform_now(), resolver=self.resolver,
        )  # fmt: skip
        for problem in problems:
            self._quirk("watched", problem)
        posts = []
        for post_id in [p for p in due if p not in self._removed]:
            response, payload = await self._get(
                "/aweme/detail/", {"aweme_id": post_id}, referer=f"{self.base}/video/{post_id}"
            )
            post = parse_aweme_detail(payload, response.date, self.base)
            if post is None:
                self._removed.add(post_id)
                log.info("douyin watched video %s is gone (%s)", post_id, removal_reason(payload))
                continue
            posts.append(self._classify(post))
        return self.store.content.save_posts(posts)

    # --- comments ------------------------------------------------------------------------

    async def collect_due_comments(self) -> int:
        def plan() -> list[tuple[str, int]]:
            candidates = comment_candidates(
                self.store, self.config, self.clock, self.platform_now(), COMMENTS_SOURCE
            )
            return [c for c in candidates if c[0] not in self._removed]

        return await self.comments.collect_due(plan)

    async def _comment_page(self, post_id: str, cursor: int) -> CommentPage:
        response, payload = await self._get(
            "/comment/list/",
            {"aweme_id": post_id, "cursor": cursor, "count": LIST_COUNT, "item_type": 0},
            referer=f"{self.base}/video/{post_id}",
        )
        return comment_page(payload, post_id, response.date)

    async def _reply_page(self, post_id: str, comment_id: str, cursor: int) -> CommentPage:
        response, payload = await self._get(
            "/comment/list/reply/",
            {"item_id": post_id, "comment_id": comment_id, "cursor": cursor,
             "count": LIST_COUNT, "item_type": 0},
            referer=f"{self.base}/video/{post_id}",
        )  # fmt: skip
        return comment_page(payload, post_id, response.date, parent_id=comment_id)


def _list_quirk(page: AwemePage) -> str | None:
    """A trap of Douyin's lists; repeated cursors and pages are `walk.Trail`'s."""
    if not page.listed:
        return "an answer without aweme_list"
    if page.has_more and not page.awemes:
        return "has_more with an empty list"
    return None
