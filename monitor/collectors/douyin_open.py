"""Douyin collection through the official Open Platform (open.douyin.com), for the KOLs and
organiser accounts that authorised the campaign's app: their videos with real play counts,
their comments and replies, and daily fan totals.

This is the only honest source of per-video plays: the web API reports 0 for them. It gives
nothing about anyone else's videos and no challenge views, so a topic's views and its
citizens' videos need the web modes. Each grant is an access token per account, read from
the environment (`[douyin] open_platform_token_envs`); an expired or revoked one is reported
as an expired login (one alert), never refreshed behind the team's back. When the grant's
variable also names the token's expiry, one health alert comes 3 days before it.

28003017 (the app's quota used up) pauses only that grant, until the quota resets (assumed
at midnight Beijing time, as the Open Platform's daily quotas are counted): no request for
it before then, one warning alert, and the other grants go on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from functools import partial
from typing import Any

from monitor.collectors.douyin_comments import CommentWalker, comment_candidates
from monitor.collectors.walk import Trail, Warnings
from monitor.config import Config, ConfigError
from monitor.errors import CollectorError, ParseError
from monitor.models import AlertRecord, AuthorKind, Cursor, Post, to_utc_iso
from monitor.parse.douyin import CommentPage
from monitor.parse.douyin_open import (
    OpenVideo,
    QuotaUsedUp,
    open_page,
    parse_open_fans,
    parse_open_video,
    read_open_comments,
    read_open_envelope,
)
from monitor.parse.edge import parse_each
from monitor.runtime.clock import Clock
from monitor.runtime.http import Fetcher, HttpResponse
from monitor.runtime.sources import Source, SourceList
from monitor.store import Store

log = logging.getLogger(__name__)

POSTS_SOURCE = "douyin:posts"  # watermark key "open:{sec_uid}"
COMMENTS_SOURCE = "douyin:open_comments"
MAX_PAGES = 30
COUNT = 20
FANS_DAYS = 7
EXPIRY_WARNING = timedelta(days=3)  # one alert this long before a token expires
BEIJING = timezone(timedelta(hours=8))  # the quota's day (China keeps no summer time)


class GrantPaused(CollectorError):
    """This grant's quota is used up: nothing is sent for it until the quota resets."""


def quota_resets_at(now: datetime) -> datetime:
    """The next midnight, Beijing time, after `now`."""
    local = now.astimezone(BEIJING)
    return (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Grant:
    """One account's authorisation of the app: its sec_user_id (as in [[kols]]), the
    app-scoped open_id and the access token (never logged)."""

    sec_uid: str
    open_id: str
    token: str = ""
    expires: datetime | None = None  # when the access token expires, if the team said

    def __repr__(self) -> str:
        return f"Grant({self.sec_uid!r}, open_id={self.open_id!r})"


def read_grants(entries: tuple[str, ...], environ: dict[str, str]) -> list[Grant]:
    """`"sec_user_id=ENV_NAME"` entries; `$ENV_NAME` holds `open_id:access_token`, optionally
    followed by `:` and the token's expiry (`YYYY-MM-DD`, Beijing time, or unix seconds)."""
    key = "douyin.open_platform_token_envs"
    grants = []
    for entry in entries:
        sec_uid, sep, env_name = (part.strip() for part in entry.partition("="))
        if not sep or not sec_uid or not env_name.isidentifier():
            raise ConfigError(
                f"'{key}' entry {entry[:40]!r} is not 'sec_user_id=ENV_NAME'; write the KOL's "
                "sec_user_id, '=', and the name of the variable holding 'open_id:access_token'"
            )
        value = environ.get(env_name, "").strip()
        open_id, colon, rest = value.partition(":")
        token, _, expiry = rest.partition(":")
        if not colon or not open_id or not token:
            raise ConfigError(
                f"${env_name} (named by '{key}') is unset or not 'open_id:access_token'; "
                "export it from the KOL's OAuth grant"
            )
        expires = _expiry(expiry.strip(), env_name) if expiry.strip() else None
        grants.append(Grant(sec_uid, open_id.strip(), token.strip(), expires))
    return grants


def _expiry(text: str, env_name: str) -> datetime:
    try:
        if text.isdigit():
            return datetime.fromtimestamp(int(text), UTC)
        return datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=BEIJING)
    except (ValueError, OverflowError, OSError) as err:
        raise ConfigError(
            f"${env_name}: the token's expiry {text[:20]!r} is neither YYYY-MM-DD nor unix "
            "seconds; write 'open_id:access_token:YYYY-MM-DD' or leave the expiry out"
        ) from err


class OpenPlatformCollector:
    def __init__(
        self, config: Config, store: Store, http: Fetcher, clock: Clock, grants: list[Grant]
    ) -> None:
        self.config = config
        self.store = store
        self.http = http
        self.clock = clock
        self.base = config.douyin.open_platform_base_url.rstrip("/")
        self.grants = {g.sec_uid: g for g in grants}
        self._officials = set(config.official.douyin)
        self._names = {k.id: k.name for k in config.kols if k.platform == "douyin"}
        self._platform_now: datetime | None = None
        self._owners: dict[str, Grant] | None = None  # video id → its author's grant
        self._warnings = Warnings()
        self.paused: dict[str, datetime] = {}  # sec_uid → when its quota resets
        self.comments = CommentWalker(
            store, clock, COMMENTS_SOURCE, self._comment_page, self._reply_page
        )

    def sources(self) -> list[Source]:
        schedule = self.config.schedule
        found = SourceList("douyin", COMMENTS_SOURCE)
        for sec_uid in sorted(self.grants):
            found.add(
                f"open_videos:{sec_uid}",
                schedule.kol_posts,
                partial(self.collect_videos, sec_uid),
                lists_posts=True,
            )
            fans = partial(self.collect_fans, sec_uid)
            found.add(f"open_fans:{sec_uid}", schedule.profiles, fans)
        found.add("open_comments", schedule.comments_hot, self.collect_due_comments)
        return found.sources

    async def _get(self, grant: Grant, path: str, params: dict[str, Any]) -> dict[str, Any]:
        self._check_grant(grant)
        headers = {"access-token": grant.token, "Content-Type": "application/json"}
        response: HttpResponse = await self.http.get(
            f"{self.base}{path}", {"open_id": grant.open_id, **params}, headers
        )
        if self._platform_now is None or response.date > self._platform_now:
            self._platform_now = response.date
        try:
            return read_open_envelope(response.status, response.text, response.url)
        except QuotaUsedUp as err:
            raise self._pause(grant, err) from err

    def is_paused(self, sec_uid: str) -> bool:
        resets = self.paused.get(sec_uid)
        if resets is not None and self.clock.now() >= resets:
            del self.paused[sec_uid]
            log.info("douyin open platform: the quota of %s has reset; resumed", sec_uid)
            return False
        return resets is not None

    def _check_grant(self, grant: Grant) -> None:
        """Before a request: a paused grant sends nothing; a token near expiry alerts once."""
        if self.is_paused(grant.sec_uid):
            raise GrantPaused(
                f"douyin open platform: {grant.sec_uid} is paused until its quota resets at "
                f"{self.paused[grant.sec_uid]:%Y-%m-%d %H:%M %z}"
            )
        now = self.clock.now()
        if grant.expires is not None and now >= grant.expires - EXPIRY_WARNING:
            when = f"{grant.expires.astimezone(BEIJING):%Y-%m-%d %H:%M}"
            self._alert(
                grant,
                "token_expiry",
                grant.expires,
                "抖音开放平台授权即将过期",
                f"{self._label(grant)} 的 access_token 将于 {when}（北京时间）过期；"
                "请在此之前请其重新授权，并更新令牌环境变量。",
                now,
            )

    def _pause(self, grant: Grant, err: QuotaUsedUp) -> GrantPaused:
        now = self.clock.now()
        resets = quota_resets_at(now)
        self.paused[grant.sec_uid] = resets
        log.warning(
            "douyin open platform: %s; %s paused until %s", err, grant.sec_uid, resets.isoformat()
        )
        self._alert(
            grant,
            "quota_used_up",
            resets,
            "抖音开放平台配额已用完",
            f"{self._label(grant)} 的接口配额已用完（28003017）；暂停该授权的采集，直到配额在 "
            f"{resets:%Y-%m-%d %H:%M}（北京时间）重置，其他账号照常采集。",
            now,
        )
        return GrantPaused(f"{err}; {grant.sec_uid} paused until {resets.isoformat()}")

    def _label(self, grant: Grant) -> str:
        return self._names.get(grant.sec_uid) or grant.sec_uid

    def _alert(
        self, grant: Grant, event: str, moment: datetime, title: str, text: str, now: datetime
    ) -> None:
        """One health alert per grant and event moment (the store drops a second one)."""
        self.store.outbox.enqueue_alert(
            AlertRecord(
                kind="collector_health",
                severity="warning",
                title=title,
                text=text,
                dedupe_key=(
                    f"collector_health:douyin:{event}:{grant.sec_uid}:{to_utc_iso(moment)}"
                ),
                created_at=now,
                platform="douyin",
                subject_id=grant.sec_uid,
            )
        )

    def _kind_of(self, sec_uid: str) -> AuthorKind:
        return "official" if sec_uid in self._officials else "kol"

    async def collect_videos(self, sec_uid: str) -> int:
        """`/video/list/` newest first (pinned first), until an unpinned video at or before
        the watermark; traps end the walk early and keep the watermark."""
        if self.is_paused(sec_uid):
            return 0
        grant = self.grants[sec_uid]
        key = f"open:{sec_uid}"
        known = int(self.store.content.cursor(POSTS_SOURCE, key) or 0)
        newest = known
        found: dict[str, Post] = {}
        cursor, complete = 0, False
        name, kind = self._names.get(sec_uid, ""), self._kind_of(sec_uid)
        trail = Trail()
        try:
            for _ in range(MAX_PAGES):
                data = await self._get(grant, "/video/list/", {"cursor": cursor, "count": COUNT})
                page, observed = open_page(data), self._observed()
                reached = False
                videos, skipped = parse_each(
                    page.items, partial(_open_video, observed=observed, sec_uid=sec_uid,
                                        name=name),
                    "video", "item_id",
                )  # fmt: skip
                for record in (*page.skipped, *skipped):
                    log.warning(
                        "douyin open videos of %s: skipped %s %s, its neighbours kept: %s",
                        sec_uid, record.kind, record.id, record.reason,
                    )  # fmt: skip
                for video in videos:
                    found[video.post.id] = replace(video.post, author_kind=kind)
                    self.owners()[video.post.id] = grant
                    stamp = int(video.post.created_at.timestamp())
                    newest = max(newest, stamp)
                    reached = reached or (stamp <= known and not video.pinned)
                if page.has_more and not page.items:
                    self._warnings.walk_ended(
                        f"douyin open videos of {sec_uid}", "has_more with an empty list",
                        "watermark kept",
                    )  # fmt: skip
                    break
                if reached or not page.has_more:
                    complete = True
                    break
                loop = trail.loops(cursor, page.cursor, (v.post.id for v in videos))
                if loop:
                    self._warnings.walk_ended(
                        f"douyin open videos of {sec_uid}", loop, "watermark kept"
                    )
                    break
                cursor = page.cursor
        except BaseException:
            self.store.content.save_posts(found.values())
            raise
        row = Cursor(POSTS_SOURCE, key, str(newest)) if complete else None
        return self.store.content.save_posts(found.values(), cursor=row)

    async def collect_fans(self, sec_uid: str) -> int:
        if self.is_paused(sec_uid):
            return 0
        grant = self.grants[sec_uid]
        data = await self._get(grant, "/data/external/user/fans/", {"date_type": FANS_DAYS})
        name = self._names.get(sec_uid, "")
        account = parse_open_fans(data, sec_uid, name, self._observed(), self._kind_of(sec_uid))
        if account is None:
            raise ParseError(f"no fan data for {sec_uid} in the last {FANS_DAYS} days")
        return self.store.metrics.save_accounts([account])

    def _observed(self) -> datetime:
        return self._platform_now or self.clock.now()

    # --- comments ------------------------------------------------------------------------

    async def collect_due_comments(self) -> int:
        def plan() -> list[tuple[str, int]]:
            owners = self.owners()  # grows as the video listing finds new videos
            candidates = comment_candidates(
                self.store, self.config, self.clock, self._observed(), COMMENTS_SOURCE
            )
            return [
                c for c in candidates if c[0] in owners and not self.is_paused(owners[c[0]].sec_uid)
            ]

        return await self.comments.collect_due(plan)

    def owners(self) -> dict[str, Grant]:
        """Video id → the grant of its author: the stored videos of the granted accounts
        (read once), then every video a walk lists."""
        if self._owners is None:
            stored = self.store.signals.posts_of_authors(
                "douyin", sorted(self.grants), since=datetime.min.replace(tzinfo=UTC),
                until=datetime.max.replace(tzinfo=UTC),
            )  # fmt: skip
            self._owners = {p.id: self.grants[p.author_id] for p in stored}
        return self._owners

    async def _comment_page(self, post_id: str, cursor: int) -> CommentPage:
        grant = self.owners()[post_id]
        data = await self._get(
            grant,
            "/item/comment/list/",
            {"item_id": post_id, "cursor": cursor, "count": COUNT, "sort_type": "time"},
        )
        page = open_page(data)
        comments, totals, skipped = read_open_comments(page.items, post_id, self._observed())
        return CommentPage(
            tuple(comments), totals, page.cursor, page.has_more, listed=True,
            skipped=(*page.skipped, *skipped),
        )  # fmt: skip

    async def _reply_page(self, post_id: str, comment_id: str, cursor: int) -> CommentPage:
        grant = self.owners()[post_id]
        data = await self._get(
            grant,
            "/item/comment/reply/list/",
            {"item_id": post_id, "comment_id": comment_id, "cursor": cursor, "count": COUNT,
             "sort_type": "time"},
        )  # fmt: skip
        page = open_page(data)
        comments, _, skipped = read_open_comments(page.items, post_id, self._observed(), comment_id)
        return CommentPage(
            tuple(comments), {}, page.cursor, page.has_more, listed=True,
            skipped=(*page.skipped, *skipped),
        )  # fmt: skip


def _open_video(item: dict[str, Any], *, observed: datetime, sec_uid: str, name: str) -> OpenVideo:
    return parse_open_video(item, observed, sec_uid, name)
