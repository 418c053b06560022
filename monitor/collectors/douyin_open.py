"""Douyin collection through the official Open Platform (open.douyin.com), for the KOLs and
organiser accounts that authorised the campaign's app: their videos with real play counts,
their comments and replies, and daily fan totals.

This is the only honest source of per-video plays: the web API reports 0 for them. It gives
nothing about anyone else's videos and no challenge views, so a topic's views and its
citizens' videos need the web modes. Each grant is an access token per account, read from
the environment (`[douyin] open_platform_token_envs`). When the grant's variable also names
the token's expiry (or its refresh token's), one health alert comes 3 days before it.

By default pingfan never refreshes a token: an expired or revoked one is reported as an
expired login (one alert). With `open_platform_refresh = true` it refreshes the access token
3 days before it expires (or when the API says it has), and renews the refresh token 3 days
before that expires, through the OAuth endpoints (douyin_oauth.py); an expiry alert comes only
when that fails. The new tokens are kept in memory only: nothing secret lands on disk, where
the database is copied and exported, and no key has to be managed. A restart reads the
variable again; its refresh token still works after access-token refreshes (they leave it as
it was), but not after a renewal (that voids the old one), so a restart after a renewal means
the KOL authorises again, which the failed refresh then says in one alert.

28003017 (the app's quota used up) pauses only that grant, until the quota resets (assumed
at midnight Beijing time, as the Open Platform's daily quotas are counted): no request for
it before then, one warning alert, and the other grants go on.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from functools import partial
from typing import Any

from monitor.collectors.douyin_comments import CommentWalker, comment_candidates
from monitor.collectors.douyin_oauth import OAuthClient
from monitor.collectors.walk import Trail, Warnings
from monitor.config import Config, ConfigError
from monitor.errors import AuthExpired, CollectorError, ParseError
from monitor.models import AlertRecord, AuthorKind, Cursor, Post, to_utc_iso
from monitor.parse.douyin import CommentPage
from monitor.parse.douyin_open import (
    OpenVideo,
    QuotaUsedUp,
    TokenAnswer,
    open_page,
    parse_open_fans,
    parse_open_video,
    read_open_comments,
    read_open_envelope,
)
from monitor.parse.edge import parse_each
from monitor.runtime.body import MB
from monitor.runtime.clock import Clock
from monitor.runtime.fetch import Fetcher, HttpResponse
from monitor.runtime.sources import Source, SourceList
from monitor.store import Store

log = logging.getLogger(__name__)

POSTS_SOURCE = "douyin:posts"  # watermark key "open:{sec_uid}"
COMMENTS_SOURCE = "douyin:open_comments"
MAX_PAGES = 30
COUNT = 20
FANS_DAYS = 7
EXPIRY_WARNING = timedelta(days=3)  # one alert this long before a token expires
REFRESH_RETRY = timedelta(hours=1)  # after a failed refresh or renewal, the next try
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
    expires: datetime | None = None  # when the access token expires, if known
    refresh_token: str = ""
    refresh_expires: datetime | None = None  # when the refresh token expires, if known

    def __repr__(self) -> str:
        return f"Grant({self.sec_uid!r}, open_id={self.open_id!r})"


def read_grants(entries: tuple[str, ...], environ: dict[str, str]) -> list[Grant]:
    """`"sec_user_id=ENV_NAME"` entries; `$ENV_NAME` holds `open_id:access_token`, optionally
    followed by `:expiry`, `:refresh_token` and `:refresh_expiry` (each may be empty; an expiry
    is `YYYY-MM-DD`, Beijing time, or unix seconds)."""
    key = "douyin.open_platform_token_envs"
    grants = []
    for entry in entries:
        sec_uid, sep, env_name = (part.strip() for part in entry.partition("="))
        if not sep or not sec_uid or not env_name.isidentifier():
            raise ConfigError(
                f"'{key}' entry {entry[:40]!r} is not 'sec_user_id=ENV_NAME'; write the KOL's "
                "sec_user_id, '=', and the name of the variable holding 'open_id:access_token'"
            )
        fields = [part.strip() for part in environ.get(env_name, "").strip().split(":")]
        if len(fields) < 2 or len(fields) > 5 or not fields[0] or not fields[1]:
            raise ConfigError(
                f"${env_name} (named by '{key}') is unset or not 'open_id:access_token' (with "
                "':expiry:refresh_token:refresh_expiry' optional); export it from the KOL's grant"
            )
        open_id, token, expiry, refresh_token, refresh_expiry = (*fields, "", "", "")[:5]
        grants.append(
            Grant(
                sec_uid, open_id, token, _expiry(expiry, env_name) if expiry else None,
                refresh_token, _expiry(refresh_expiry, env_name) if refresh_expiry else None,
            )
        )  # fmt: skip
    return grants


def read_oauth(
    config: Config, grants: list[Grant], environ: dict[str, str], clock: Clock
) -> OAuthClient | None:
    """The OAuth client when `open_platform_refresh` is on (None when off): it needs the app's
    client_key in the environment and a refresh token in every grant."""
    settings = config.douyin
    if not settings.open_platform_refresh:
        return None
    env_name = settings.open_platform_client_key_env
    client_key = environ.get(env_name, "").strip()
    if not client_key:
        raise ConfigError(
            f"'douyin.open_platform_refresh' is on but ${env_name} (named by "
            "'douyin.open_platform_client_key_env') is unset; export the app's client_key or "
            "turn refresh off"
        )
    missing = [g.sec_uid for g in grants if not g.refresh_token]
    if missing:
        raise ConfigError(
            f"'douyin.open_platform_refresh' is on but the grant of {missing[0]} has no refresh "
            "token; write 'open_id:access_token:expiry:refresh_token:refresh_expiry' in its "
            "variable (the expiries may be empty)"
        )
    return OAuthClient(
        settings.open_platform_base_url, client_key, clock, timeout=settings.timeout,
        max_body_bytes=settings.max_response_mb * MB,
    )  # fmt: skip


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
        self,
        config: Config,
        store: Store,
        http: Fetcher,
        clock: Clock,
        grants: list[Grant],
        oauth: OAuthClient | None = None,
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
        self.oauth = oauth  # None: never refresh, alert only
        # (sec_uid, "refresh" | "renew") → no new try before then, and why the last one failed
        self._retry_at: dict[tuple[str, str], datetime] = {}
        self._failed: dict[tuple[str, str], str] = {}
        # One refresh at a time per grant: its sources run side by side.
        self._refreshing: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
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
        grant = await self._ready(grant.sec_uid)
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
        except AuthExpired:
            if not await self._refresh_after_refusal(grant):
                raise
        # With the new token; a second refusal finds nothing new to refresh to, and raises.
        return await self._get(self.grants[grant.sec_uid], path, params)

    def is_paused(self, sec_uid: str) -> bool:
        resets = self.paused.get(sec_uid)
        if resets is not None and self.clock.now() >= resets:
            del self.paused[sec_uid]
            log.info("douyin open platform: the quota of %s has reset; resumed", sec_uid)
            return False
        return resets is not None

    async def _ready(self, sec_uid: str) -> Grant:
        """Before a request: a paused grant sends nothing; with refresh on, a token near its
        expiry is refreshed (or renewed); a token still near its expiry alerts once."""
        if self.is_paused(sec_uid):
            raise GrantPaused(
                f"douyin open platform: {sec_uid} is paused until its quota resets at "
                f"{self.paused[sec_uid]:%Y-%m-%d %H:%M %z}"
            )
        now = self.clock.now()
        grant = self.grants[sec_uid]
        if self.oauth is not None:
            async with self._refreshing[sec_uid]:
                grant = self.grants[sec_uid]  # as another source may have left it
                if _near(grant.refresh_expires, now) and self._may_try(sec_uid, "renew", now):
                    await self._renew(grant, now)
                grant = self.grants[sec_uid]
                if _near(grant.expires, now) and self._may_try(sec_uid, "refresh", now):
                    await self._refresh(grant, now)
                grant = self.grants[sec_uid]
        self._warn_of_expiry(grant, now)
        return grant

    def _warn_of_expiry(self, grant: Grant, now: datetime) -> None:
        for kind, expires, what in (
            ("refresh", grant.expires, "access_token"),
            ("renew", grant.refresh_expires, "refresh_token"),
        ):
            if expires is None or not _near(expires, now):
                continue
            when = f"{expires.astimezone(BEIJING):%Y-%m-%d %H:%M}"
            failed = self._failed.get((grant.sec_uid, kind))
            tried = f"自动刷新未成功（{failed}）；" if failed else ""
            self._alert(
                grant,
                "token_expiry" if kind == "refresh" else "refresh_token_expiry",
                expires,
                "抖音开放平台授权即将过期" if kind == "refresh" else "抖音开放平台刷新令牌即将过期",
                f"{self._label(grant)} 的 {what} 将于 {when}（北京时间）过期；{tried}"
                "请在此之前请其重新授权，并更新令牌环境变量。",
                now,
            )

    def _may_try(self, sec_uid: str, kind: str, now: datetime) -> bool:
        retry_at = self._retry_at.get((sec_uid, kind))
        return retry_at is None or now >= retry_at

    async def _refresh(self, grant: Grant, now: datetime) -> bool:
        """A new access token through the refresh token; False (and why kept) when refused."""
        answer = await self._oauth_call("refresh", grant, now)
        if answer is None:
            return False
        if not answer.access_token or answer.open_id not in ("", grant.open_id):
            failure = "the answer held no access token for this grant's open_id"
            self._failed[(grant.sec_uid, "refresh")] = failure
            log.warning("douyin open platform: refresh of %s failed: %s", grant.sec_uid, failure)
            return False
        self.grants[grant.sec_uid] = replace(
            grant,
            token=answer.access_token,
            expires=now + timedelta(seconds=answer.expires_in) if answer.expires_in else None,
            refresh_token=answer.refresh_token,
            refresh_expires=(
                now + timedelta(seconds=answer.refresh_expires_in)
                if answer.refresh_expires_in
                else grant.refresh_expires
            ),
        )
        log.info("douyin open platform: refreshed the access token of %s", grant.sec_uid)
        return True

    async def _renew(self, grant: Grant, now: datetime) -> None:
        answer = await self._oauth_call("renew", grant, now)
        if answer is None:
            return
        self.grants[grant.sec_uid] = replace(
            grant,
            refresh_token=answer.refresh_token,
            refresh_expires=now + timedelta(seconds=answer.expires_in)
            if answer.expires_in
            else None,
        )
        log.info(
            "douyin open platform: renewed the refresh token of %s (in memory only: after a "
            "restart the variable's refresh token is void)",
            grant.sec_uid,
        )

    async def _oauth_call(self, kind: str, grant: Grant, now: datetime) -> TokenAnswer | None:
        """One refresh or renewal; a failure is logged without tokens, kept for the expiry
        alert, and not tried again for REFRESH_RETRY."""
        assert self.oauth is not None
        call = self.oauth.refresh if kind == "refresh" else self.oauth.renew
        self._retry_at[(grant.sec_uid, kind)] = now + REFRESH_RETRY
        try:
            answer = await call(grant.refresh_token)
        except CollectorError as err:
            self._failed[(grant.sec_uid, kind)] = str(err)
            log.warning("douyin open platform: %s of %s failed: %s", kind, grant.sec_uid, err)
            return None
        self._failed.pop((grant.sec_uid, kind), None)
        return answer

    async def _refresh_after_refusal(self, grant: Grant) -> bool:
        """The API refused the access token: with refresh on, one refresh (not again within
        REFRESH_RETRY, so a refused new token is an expired login, not a loop)."""
        if self.oauth is None:
            return False
        async with self._refreshing[grant.sec_uid]:
            if self.grants[grant.sec_uid].token != grant.token:
                return True  # another source of this grant refreshed it meanwhile
            now = self.clock.now()
            if not self._may_try(grant.sec_uid, "refresh", now):
                return False
            return await self._refresh(grant, now)

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


def _near(expires: datetime | None, now: datetime) -> bool:
    """Within EXPIRY_WARNING of `expires` (or past it)."""
    return expires is not None and now >= expires - EXPIRY_WARNING


def _open_video(item: dict[str, Any], *, observed: datetime, sec_uid: str, name: str) -> OpenVideo:
    return parse_open_video(item, observed, sec_uid, name)
