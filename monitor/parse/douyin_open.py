"""Douyin Open Platform JSON (open.douyin.com, a KOL's own data under their OAuth grant) →
frozen models. Pure: payloads in, records out, no I/O.

The envelope is `{"data": {…, "error_code", "description"}, "extra": {"error_code",
"description", "logid", "now"}}`; older endpoints put the error in `data`, newer ones in
`extra`, so both are read. Ids (`item_id`, `comment_id`) are opaque strings of the Open
Platform, not the web API's numeric aweme ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from monitor.errors import AuthExpired, Blocked, CollectorError, ParseError
from monitor.models import Account, AuthorKind, Comment, Post
from monitor.parse.common import from_unix, parse_count
from monitor.parse.douyin import DouyinApiError
from monitor.parse.edge import Skipped, load_json, parse_each, parser_edge, require_id, short
from nlp.text import extract_entities

# The grant is gone: expired (10008/2190008 old, 28001008 new), invalid (2190002), the scope
# not granted (28001012), or token and open_id of different users (28001015).
TOKEN_CODES = {10008, 2190008, 2190002, 28001008, 28001012, 28001015}
# Slow down: quota used up (2190001), too frequent (28003018), risk (28001052).
LIMIT_CODES = {2190001, 28003018, 28001052}
# The app's quota for this grant is used up: it only comes back when the quota resets.
QUOTA_USED_UP = 28003017
# The item data scope (data.external.item) reports only videos created in the last 30 days.
REPORTED_FOR = timedelta(days=30)


class QuotaUsedUp(Blocked):
    """28003017: no retry helps before the quota resets; the collector pauses that grant."""


class TokenRefused(CollectorError):
    """The OAuth endpoint would not refresh or renew: its error code and description (never a
    token). 10010: the refresh token expired; 10020: renewed five times already; 10004: the
    app lacks the permission; 10005: a parameter is missing."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class TokenAnswer:
    """What `/oauth/refresh_token/` or `/oauth/renew_refresh_token/` gave. `expires_in` is
    the access token's lifetime after a refresh and the refresh token's after a renewal."""

    refresh_token: str = field(repr=False)
    expires_in: int | None
    access_token: str = field(default="", repr=False)  # "" from a renewal
    refresh_expires_in: int | None = None
    open_id: str = ""


@dataclass(frozen=True)
class OpenVideo:
    post: Post
    item_id: str
    pinned: bool


@dataclass(frozen=True)
class OpenPage:
    items: tuple[dict[str, Any], ...]
    cursor: int
    has_more: bool
    skipped: tuple[Skipped, ...] = ()  # list entries that are not objects


@parser_edge
def read_open_envelope(status: int, body: str, url: str) -> dict[str, Any]:
    """The `data` object of an Open Platform answer, or the error it stands for."""
    if status in (401, 403):
        raise AuthExpired(f"the Open Platform refused the access token (HTTP {status}) for {url}")
    if status == 429:
        raise Blocked(f"the Open Platform answered HTTP 429 (rate limited) for {url}")
    if status != 200:
        raise ParseError(f"the Open Platform answered HTTP {status}", url)
    payload = load_json(body, url)
    if not isinstance(payload, dict):
        raise ParseError("JSON is not an object", url)
    data = payload.get("data")
    extra = payload.get("extra")
    holders = [h for h in (data, extra) if isinstance(h, dict)]
    for holder in holders:
        code = _code(holder.get("error_code"))
        if code:
            described = (
                f"the Open Platform answered error_code {code} "
                f"({holder.get('description') or 'no description'}) for {url.split('?')[0]}"
            )
            if code in TOKEN_CODES:
                raise AuthExpired(described + "; the KOL must authorise the app again")
            if code == QUOTA_USED_UP:
                raise QuotaUsedUp(described + "; paused until the quota resets")
            if code in LIMIT_CODES:
                raise Blocked(described)
            raise DouyinApiError(described)
    if not isinstance(data, dict):
        raise ParseError("answer without data", url)
    return data


@parser_edge
def read_token_answer(status: int, body: str, url: str) -> TokenAnswer:
    """An OAuth answer: `{"data": {access_token, expires_in, open_id, refresh_token,
    refresh_expires_in, scope, error_code, description}, "message"}`; lifetimes are seconds,
    as numbers or as strings. No error message quotes the body (it holds tokens)."""
    where = url.split("?")[0]
    if status != 200:
        raise TokenRefused(f"the Open Platform's OAuth answered HTTP {status} for {where}")
    payload = load_json(body, where)
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict):
        raise ParseError("OAuth answer without data", where)
    code = _code(data.get("error_code"))
    if code:
        description = short(data.get("description")) or "no description"
        raise TokenRefused(
            f"the Open Platform's OAuth answered error_code {code} ({description}) for {where}",
            code,
        )
    refresh_token = data.get("refresh_token")
    if not isinstance(refresh_token, str) or not refresh_token.strip():
        raise ParseError("OAuth answer without refresh_token", where)
    access_token = data.get("access_token") or ""
    if not isinstance(access_token, str):
        raise ParseError("OAuth answer with an access_token that is not text", where)
    return TokenAnswer(
        refresh_token=refresh_token.strip(),
        expires_in=_seconds(data.get("expires_in")),
        access_token=access_token.strip(),
        refresh_expires_in=_seconds(data.get("refresh_expires_in")),
        open_id=str(data.get("open_id") or ""),
    )


_LONGEST_LIFETIME = 366 * 86400  # a lifetime past a year is not one the platform gives


def _seconds(value: object) -> int | None:
    """A lifetime in seconds (`1296000` or `"1296000"`); None when absent or unreadable."""
    if isinstance(value, bool):
        return None
    text = str(value).strip() if isinstance(value, int | str) else ""
    if not text.isdigit() or len(text) > 9 or not 0 < int(text) <= _LONGEST_LIFETIME:
        return None
    return int(text)


def _code(value: object) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 0


@parser_edge
def open_page(data: dict[str, Any]) -> OpenPage:
    """`data.list` with `cursor` and `has_more` (a bool here, 0/1 elsewhere); entries that
    are not objects are left out and named."""
    items = data.get("list") or []
    if not isinstance(items, list):
        raise ParseError("Open Platform list is not a list")
    raw = data.get("cursor") or 0
    text = str(raw).strip()
    if isinstance(raw, bool | float | dict | list) or not text.isdigit() or len(text) > 19:
        raise ParseError(f"Open Platform cursor unreadable: {short(raw)!r}")
    skipped = tuple(
        Skipped("item", "?", f"list entry is {type(item).__name__}, not an object")
        for item in items
        if not isinstance(item, dict)
    )
    objects = tuple(item for item in items if isinstance(item, dict))
    if items and not objects:
        raise ParseError("Open Platform list holds no objects")
    return OpenPage(objects, int(text), bool(data.get("has_more")), skipped)


@parser_edge
def parse_open_video(
    item: dict[str, Any], observed_at: datetime, author_id: str, author_name: str
) -> OpenVideo:
    """One `/video/list/` item. play_count is real here (the author's own figure), but it
    turns 0 when the video is made private: a 0 beside other activity is unknown, not 0.
    A video over 30 days old whose counts are all 0 or absent is no longer reported (the
    item data covers only the last 30 days): its counts are unknown and it is marked so."""
    try:
        item_id = require_id(item.get("item_id"), "item_id")
        stats = item.get("statistics") or {}
        title = str(item.get("title") or "")
        likes = parse_count(stats.get("digg_count")).value
        comments = parse_count(stats.get("comment_count")).value
        plays = parse_count(stats.get("play_count")).value
        if plays == 0 and (likes or comments):
            plays = None
        shares = parse_count(stats.get("share_count")).value
        reposts = parse_count(stats.get("forward_count")).value
        created_at = from_unix(item.get("create_time"))
        unreported = observed_at - created_at > REPORTED_FOR and not any(
            (plays, likes, comments, shares, reposts)
        )
        if unreported:
            plays = likes = comments = shares = reposts = None
        post = Post(
            platform="douyin",
            id=item_id,
            author_id=author_id,
            author_name=author_name,
            text=title,
            created_at=created_at,
            observed_at=observed_at,
            url=str(item["share_url"]) if item.get("share_url") else None,
            topics=extract_entities(title).hashtags,
            mentions=extract_entities(title).mentions,
            is_original=True,
            media="image" if item.get("media_type") == 2 else "video",
            plays=plays,
            likes=likes,
            comments=comments,
            shares=shares,
            reposts=reposts,
            author_kind="kol",
            counts_no_longer_reported=unreported,
        )
    except (KeyError, TypeError, AttributeError) as err:
        raise ParseError(f"Open Platform video without the expected fields ({err!r})") from err
    return OpenVideo(post, item_id, pinned=bool(item.get("is_top")))


def parse_open_comments(
    items: tuple[dict[str, Any], ...],
    post_id: str,
    observed_at: datetime,
    parent_id: str | None = None,
) -> tuple[list[Comment], dict[str, int]]:
    """Comments (or, with `parent_id`, the replies to one) and each top-level comment's
    reply_comment_total. `comment_user_id` is already an app-scoped id, kept as is."""
    comments, totals, _ = read_open_comments(items, post_id, observed_at, parent_id)
    return comments, totals


def read_open_comments(
    items: tuple[dict[str, Any], ...],
    post_id: str,
    observed_at: datetime,
    parent_id: str | None = None,
) -> tuple[list[Comment], dict[str, int], list[Skipped]]:
    """`parse_open_comments`, and the comments that could not be read, named."""
    parsed, skipped = parse_each(
        items, lambda item: _open_comment(item, post_id, observed_at, parent_id), "comment",
        "comment_id",
    )  # fmt: skip
    comments = [comment for comment, _ in parsed]
    totals = {comment.id: total for comment, total in parsed if parent_id is None}
    return comments, totals, skipped


def _open_comment(
    item: object, post_id: str, observed_at: datetime, parent_id: str | None
) -> tuple[Comment, int]:
    if not isinstance(item, dict):
        raise ParseError("comment is not an object")
    comment = Comment(
        platform="douyin",
        id=require_id(item.get("comment_id"), "comment_id"),
        post_id=post_id,
        author_id=str(item.get("comment_user_id") or ""),
        text=str(item.get("content") or ""),
        created_at=from_unix(item.get("create_time")),
        observed_at=observed_at,
        parent_id=parent_id,
        likes=parse_count(item.get("digg_count")).value,
    )
    return comment, parse_count(item.get("reply_comment_total")).value or 0


@parser_edge
def parse_open_fans(
    data: dict[str, Any], account_id: str, name: str, observed_at: datetime, kind: AuthorKind
) -> Account | None:
    """`/data/external/user/fans/`: the latest day's total_fans; None when no day is given."""
    days = data.get("result_list")
    if not isinstance(days, list):
        raise ParseError("fans data without result_list")
    dated = [d for d in days if isinstance(d, dict) and d.get("date")]
    if not dated:
        return None
    latest = max(dated, key=lambda d: str(d["date"]))
    return Account(
        platform="douyin",
        id=account_id,
        name=name,
        observed_at=observed_at,
        followers=parse_count(latest.get("total_fans")).value,
        kind=kind,
    )
