"""Weibo collection: topic posts, topic reads, KOL timelines, comments, follower snapshots.

The client fetches, `monitor.parse.weibo` parses, the store saves; this module only decides
what to fetch and when to stop. Every source is incremental: it pages until it meets posts
it already has, and its cursor is saved with the rows it covers, only when the walk finished.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from functools import partial
from typing import Any

from alerts.health import blocked_alert, recovered_alert
from monitor.circuit import Circuit
from monitor.config import Config
from monitor.errors import AuthExpired, Blocked, CollectorError, ParseError
from monitor.http import HttpClient, HttpResponse
from monitor.models import AuthorKind, Comment, Cursor, Post, from_iso, utc_now
from monitor.parse.weibo import (
    Envelope,
    cards_to_mblogs,
    is_pinned,
    is_truncated,
    parse_hotflow,
    parse_mblog,
    parse_profile,
    parse_topic_desc,
    parse_topic_detail,
    read_envelope,
)
from monitor.store import Store
from nlp.text import extract_entities, html_to_text

log = logging.getLogger(__name__)

MAX_PAGES = 50  # Weibo search stops at 50 pages anyway
MAX_COMMENT_PAGES = 100
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


@dataclass
class StepResult:
    name: str
    status: str  # ok | blocked | failed | skipped
    rows: int = 0
    detail: str = ""


@dataclass
class PassReport:
    platform: str
    steps: list[StepResult] = field(default_factory=list)
    requests: int = 0

    @property
    def blocked(self) -> bool:
        return any(step.status == "blocked" for step in self.steps)

    def rows(self) -> int:
        return sum(step.rows for step in self.steps)

    def summary(self) -> str:
        counts: dict[str, int] = {}
        for step in self.steps:
            counts[step.status] = counts.get(step.status, 0) + 1
        parts = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        return (
            f"{self.platform}: {len(self.steps)} sources ({parts}), {self.rows()} rows, "
            f"{self.requests} requests"
        )


class WeiboCollector:
    def __init__(
        self,
        config: Config,
        store: Store,
        http: HttpClient,
        circuit: Circuit,
        *,
        extend_limit: int = 10,
    ) -> None:
        self.config = config
        self.store = store
        self.http = http
        self.circuit = circuit
        self.base = config.weibo.base_url.rstrip("/")
        self.topic_base = config.weibo.topic_base_url.rstrip("/")
        self.extend_limit = extend_limit
        self._officials = set(config.official.weibo)
        self._kols = {k.id for k in config.kols if k.platform == "weibo"}
        self._failing: set[str] = set()
        self._topic_desc: dict[str, str] = {}

    # --- one full pass -----------------------------------------------------------------

    async def run_pass(self) -> PassReport:
        report = PassReport("weibo")
        before = self.http.requests
        steps: list[tuple[str, Callable[[], Awaitable[int]]]] = []
        if self.http.has_cookie:
            steps.append(("login", self.check_login))
        for topic in self.config.topics:
            steps.append(
                (f"topic posts #{topic.name}", partial(self.collect_topic_posts, topic.name))
            )
            steps.append(
                (f"topic stats #{topic.name}", partial(self.collect_topic_stats, topic.name))
            )
        for uid in sorted(self._kols | self._officials):
            steps.append((f"timeline {uid}", partial(self.collect_timeline, uid)))
            steps.append((f"profile {uid}", partial(self.collect_profile, uid)))
        for name, step in steps:
            report.steps.append(await self._run_step(name, step))
        for post_id, listed in self.comment_candidates():
            step = partial(self.collect_comments, post_id, listed)
            report.steps.append(await self._run_step(f"comments {post_id}", step))
        report.requests = self.http.requests - before
        log.info("%s", report.summary())
        return report

    async def _run_step(self, name: str, step: Callable[[], Awaitable[int]]) -> StepResult:
        if not self.circuit.allow():
            return StepResult(name, "skipped", detail=f"circuit open ({self.circuit.reason})")
        try:
            rows = await step()
        except (Blocked, AuthExpired) as err:
            self._on_block(err)
            return StepResult(name, "blocked", detail=str(err))
        except CollectorError as err:
            # Logged when a source starts failing, not on every pass it keeps failing.
            level = logging.DEBUG if name in self._failing else logging.WARNING
            log.log(level, "weibo %s failed: %s", name, err)
            self._failing.add(name)
            return StepResult(name, "failed", detail=str(err))
        if name in self._failing:
            log.info("weibo %s recovered", name)
            self._failing.discard(name)
        transition = self.circuit.record_success()
        if transition:
            log.warning("weibo circuit closed: collection recovered")
            self.store.enqueue_alert(recovered_alert("weibo", utc_now(), self.config.ui.language))
        return StepResult(name, "ok", rows=rows)

    def _on_block(self, err: CollectorError) -> None:
        transition = self.circuit.record_block(str(err))
        if transition is None:
            log.debug("weibo still blocked: %s", err)
            return
        minutes = round(self.circuit.seconds_left() / 60)
        log.warning("weibo circuit opened for %d min: %s", minutes, err)
        alert = blocked_alert(
            "weibo",
            str(err),
            minutes,
            utc_now(),
            self.config.ui.language,
            cookie_expired=isinstance(err, AuthExpired),
        )
        self.store.enqueue_alert(alert)

    async def _get(
        self, url: str, params: dict[str, Any] | None = None, referer: str | None = None
    ) -> tuple[HttpResponse, Envelope]:
        headers = {"Referer": referer or f"{self.base}/"}
        response = await self.http.get(url, params, headers)
        return response, read_envelope(response.status, response.text, response.url)

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
        known = int(self.store.cursor(POSTS_SOURCE, key) or 0)
        newest = known
        found: dict[str, Post] = {}
        truncated: set[str] = set()
        marker: Any = None if by_since_id else 1
        complete = False
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
                if key.startswith("container:") and isinstance(envelope.data.get("pageInfo"), dict):
                    self._topic_desc[key.split(":", 1)[1]] = str(
                        envelope.data["pageInfo"].get("desc", "")
                    )
                mblogs = cards_to_mblogs(envelope.data.get("cards"))
                if not mblogs:
                    complete = True
                    break
                reached_known = False
                for mblog in mblogs:
                    post = self._classify(parse_mblog(mblog, response.date, self.base))
                    found[post.id] = post  # duplicates across pages collapse here
                    if is_truncated(mblog):
                        truncated.add(post.id)
                    if not is_pinned(mblog) and _as_int(post.id) <= known:
                        reached_known = True
                    newest = max(newest, _as_int(post.id))
                info = envelope.data.get("cardlistInfo") or {}
                marker = info.get("since_id") if by_since_id else info.get("page")
                if reached_known or not marker:
                    complete = True
                    break
            posts = await self._complete_long_texts(found, truncated, known)
        except BaseException:
            # An interrupted walk keeps its rows but not its cursor: the next pass re-reads.
            # No further requests here: the platform may just have blocked us.
            self.store.save_posts(found.values())
            raise
        cursor = Cursor(POSTS_SOURCE, key, str(newest)) if complete else None
        self.store.save_posts(posts, cursor=cursor)
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
            fallback = parse_topic_desc(self._topic_desc.get(topic, ""), topic, utc_now())
            if fallback is None:
                raise
            stats = fallback
        return self.store.save_topic_stats([stats])

    async def collect_profile(self, uid: str) -> int:
        response, envelope = await self._get(
            f"{self.base}/api/container/getIndex", {"containerid": f"100505{uid}"}
        )
        if envelope.empty:
            raise ParseError(f"no profile for uid {uid}", response.url)
        account = parse_profile(envelope.data, response.date, self._kind_of(uid))
        return self.store.save_accounts([account])

    def comment_candidates(self) -> list[tuple[str, int]]:
        """Posts whose comments are due: never read, more comments listed than at the last
        read, or hot (young at its last reading) and not read for `comments_hot`, or not read
        for `comments_cold`."""
        schedule = self.config.schedule
        now = utc_now()
        due = []
        rows = self.store.comment_poll_state("weibo", COMMENTS_SOURCE)
        for row in rows:
            listed = row["comments"] or 0
            if row["value"] is None:
                due.append((row["id"], listed))
                continue
            seen = json.loads(row["value"]).get("count", 0)
            since_read = (now - from_iso(row["updated_at"])).total_seconds()
            age = from_iso(row["observed_at"]) - from_iso(row["created_at"])
            hot = age < timedelta(seconds=schedule.hot_window)
            if (
                listed > seen
                or (hot and since_read >= schedule.comments_hot)
                or since_read >= schedule.comments_cold
            ):
                due.append((row["id"], listed))
        return due

    async def collect_comments(self, post_id: str, listed: int = 0) -> int:
        """New comments since the cursor: hotflow pages with max_id and max_id_type passed
        back (the type flips 0 → 1 mid-stream), until max_id 0 or known comments."""
        state = json.loads(self.store.cursor(COMMENTS_SOURCE, post_id) or "{}")
        known = int(state.get("newest", 0))
        newest = known
        found: dict[str, Comment] = {}
        max_id, max_id_type = 0, 0
        complete = False
        referer = f"{self.base}/detail/{post_id}"
        try:
            for _ in range(MAX_COMMENT_PAGES):
                params: dict[str, Any] = {"id": post_id, "mid": post_id, "max_id_type": max_id_type}
                if max_id:
                    params["max_id"] = max_id
                response, envelope = await self._get(
                    f"{self.base}/comments/hotflow", params, referer
                )
                if envelope.empty:
                    complete = max_id == 0  # an empty first page is "no comments"
                    break
                page = parse_hotflow(envelope.data, post_id, response.date)
                reached_known = False
                for comment in page.comments:
                    found[comment.id] = comment
                    newest = max(newest, _as_int(comment.id))
                    # Only the time-ordered section (type 1, newest first) can end the walk.
                    if max_id_type == 1 and not comment.parent_id and _as_int(comment.id) <= known:
                        reached_known = True
                if reached_known or page.max_id == 0:
                    complete = True
                    break
                max_id, max_id_type = page.max_id, page.max_id_type
        finally:
            cursor = None
            if complete:
                cursor = Cursor(
                    COMMENTS_SOURCE, post_id, json.dumps({"newest": newest, "count": listed})
                )
            self.store.save_comments(found.values(), cursor=cursor)
        return len(found)


def _search_params(containerid: str, page: int) -> dict[str, Any]:
    return {"containerid": containerid, "page_type": "searchall", "page": page}


def _timeline_params(uid: str, since_id: str | None) -> dict[str, Any]:
    params: dict[str, Any] = {"containerid": f"107603{uid}"}
    if since_id:
        params["since_id"] = since_id
    return params


def _as_int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return 0
