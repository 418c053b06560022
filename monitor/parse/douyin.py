"""Douyin web API JSON (www.douyin.com/aweme/v1/web/…) → frozen models. Pure: payloads in,
records out, no I/O.

The envelope is `{"status_code": 0, …}` with the payload at the top level. Platform quirks
are commented beside the field that has them; the traps are listed in monitor/sim/README.md
("Douyin for collectors").
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from monitor.errors import AuthExpired, Blocked, CollectorError, ParseError
from monitor.models import Account, AuthorKind, Comment, Post, TopicStats
from monitor.parse.common import from_unix, parse_count
from monitor.parse.edge import Skipped, load_json, parse_each, parser_edge, require_id, short
from nlp.text import extract_entities

# Markers of Douyin's verification and login walls in an HTML answer or a page.
CAPTCHA_MARKERS = ("captcha_container", "captcha-verify", "verifycenter", "验证码", "安全验证")
LOGIN_MARKERS = ("login-pannel", "login-panel", "扫码登录", "登录后查看")
_BLOCK_STATUSES = {403: "HTTP 403", 429: "HTTP 429 (rate limited)", 444: "HTTP 444"}
# What the signature gateway (2026) answers, and what it means.
_GATEWAY_REFUSALS = {
    "Signature Not Found": "the request lacks the page SDK's signature (x-secsdk-web-signature)",
    "Uifid Not Found": "the request lacks the page SDK's uifid",
    "Sign Invalid": "a security parameter came twice or was forged; pingfan never sets one",
}
# status_msg wording that means the session or the client was refused, not "no such item".
_LOGIN_WORDS = ("登录", "login")
_BLOCK_WORDS = ("频繁", "验证", "风控", "captcha", "verify", "limit")
# aweme_type values of photo posts (图文); everything else with a `video` is a video.
_IMAGE_TYPES = {2, 68, 150}


class DouyinApiError(CollectorError):
    """Douyin answered `status_code != 0` with a message that is neither a block nor a login
    wall (a removed account, a bad parameter...): that one source fails, the others go on."""


@dataclass(frozen=True)
class AwemePage:
    awemes: tuple[dict[str, Any], ...]
    cursor: int  # `cursor` (challenge lists) or `max_cursor` (uploads, ms epoch)
    has_more: bool
    listed: bool  # False: the answer had no list at all ({"status_code":0} alone)
    skipped: tuple[Skipped, ...] = ()  # list entries that are not objects


@dataclass(frozen=True)
class CommentPage:
    comments: tuple[Comment, ...]
    # Top-level comment id → reply_comment_total, for deciding whose replies to read.
    reply_totals: dict[str, int]
    cursor: int
    has_more: bool
    listed: bool
    skipped: tuple[Skipped, ...] = ()  # comments that could not be read, named


@parser_edge
def read_envelope(status: int, body: str, url: str) -> dict[str, Any]:
    """Sort a raw web API answer into its JSON, or the error it stands for.

    HTTP 200 with an empty body (or the bare word `blocked`) is how Douyin refuses a request
    whose signature, cookie or client it does not trust: a block, never "no data".
    """
    if status == 403 and body.strip() in _GATEWAY_REFUSALS:
        reason = body.strip()
        raise Blocked(f"Douyin's gateway answered HTTP 403 {reason} for {url}: "
                      f"{_GATEWAY_REFUSALS[reason]}")  # fmt: skip
    if status in _BLOCK_STATUSES:
        raise Blocked(f"Douyin answered {_BLOCK_STATUSES[status]} for {url}")
    text = body.strip()
    if status == 200 and not text:
        raise Blocked(
            f"Douyin answered HTTP 200 with an empty body for {url}: the signature, the "
            "cookie or risk control refused the request"
        )
    if text == "blocked":
        raise Blocked(f"Douyin answered 'blocked' for {url}")
    if text.startswith("<"):
        wall = wall_in(text)
        if wall:
            raise Blocked(f"Douyin shows its {wall} for {url}; pingfan never solves it")
        raise ParseError(f"Douyin sent HTML instead of JSON (HTTP {status})", url)
    if status != 200:
        raise ParseError(f"Douyin answered HTTP {status}", url)
    payload = load_json(text, url)
    if not isinstance(payload, dict):
        raise ParseError("JSON is not an object", url)
    code = payload.get("status_code")
    if code is None:
        raise ParseError("answer without status_code", url)
    if code not in (0, "0"):
        raise _status_error(code, str(payload.get("status_msg") or ""), url)
    return payload


def _status_error(code: object, message: str, url: str) -> CollectorError:
    lowered = message.lower()
    described = f"Douyin answered status_code {code} ({message or 'no message'}) for {url}"
    if any(word in lowered for word in _LOGIN_WORDS):
        return AuthExpired(described + "; the cookie is expired or not a login")
    if any(word in lowered for word in _BLOCK_WORDS):
        return Blocked(described)
    return DouyinApiError(described)


def wall_in(html: str) -> str | None:
    """'captcha' or 'login wall' when an HTML page is one of Douyin's walls, else None."""
    if any(marker in html for marker in CAPTCHA_MARKERS):
        return "captcha"
    if any(marker in html for marker in LOGIN_MARKERS):
        return "login wall"
    return None


def _int(value: object, what: str) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        if len(value.strip().lstrip("-")) > 19:  # past int64 (and int()'s digit limit)
            raise ParseError(f"{what} is not a number SQLite can hold: {short(value)!r}")
        return int(value)
    if value is None or value == "":
        return 0  # the first max_cursor is 0 or "" (and a JSON integer past int64 is None)
    raise ParseError(f"{what} is not a number: {short(value)!r}")


@parser_edge
def aweme_page(payload: dict[str, Any], cursor_key: str = "cursor") -> AwemePage:
    """A challenge list (`cursor`) or an uploads page (`max_cursor`); `aweme_list` may be
    null (nothing) or missing (an early end, Evil0ctal #640)."""
    if "aweme_list" not in payload:
        return AwemePage((), _int(payload.get(cursor_key), cursor_key), False, listed=False)
    items = payload["aweme_list"] or []
    if not isinstance(items, list):
        raise ParseError("aweme_list is not a list")
    awemes = tuple(item for item in items if isinstance(item, dict))
    if items and not awemes:
        raise ParseError("aweme_list holds no objects")
    skipped = tuple(
        Skipped("video", "?", f"aweme_list entry is {type(item).__name__}, not an object")
        for item in items
        if not isinstance(item, dict)
    )
    return AwemePage(
        awemes,
        _int(payload.get(cursor_key), cursor_key),
        bool(_int(payload.get("has_more"), "has_more")),
        listed=True,
        skipped=skipped,
    )


def is_pinned(aweme: dict[str, Any]) -> bool:
    """Pinned uploads (`is_top`) come first on a profile's first page, whatever their age."""
    return bool(aweme.get("is_top"))


def hashtag_ids(aweme: dict[str, Any]) -> dict[str, str]:
    """Challenge name → ch_id, from `cha_list` and `text_extra` (id "0" means none)."""
    found: dict[str, str] = {}
    for entry in _entries(aweme.get("cha_list")):
        if isinstance(entry, dict) and entry.get("cha_name") and str(entry.get("cid", "0")) != "0":
            found[str(entry["cha_name"])] = str(entry["cid"])
    for entry in _entries(aweme.get("text_extra")):
        if not isinstance(entry, dict):
            continue
        name, ident = entry.get("hashtag_name"), str(entry.get("hashtag_id") or "0")
        if name and ident != "0":
            found.setdefault(str(name), ident)
    return found


def _entries(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def parse_awemes(
    awemes: tuple[dict[str, Any], ...], observed_at: datetime, base_url: str
) -> tuple[list[tuple[dict[str, Any], Post]], list[Skipped]]:
    """Every video of a page that can be read, with its aweme; the others named."""
    return parse_each(
        awemes, lambda aweme: (aweme, parse_aweme(aweme, observed_at, base_url)), "video",
        "aweme_id",
    )  # fmt: skip


@parser_edge
def parse_aweme(aweme: dict[str, Any], observed_at: datetime, base_url: str) -> Post:
    """One `aweme` to a Post. Authors are keyed by `sec_uid`, the id profiles are read by."""
    try:
        aweme_id = require_id(aweme.get("aweme_id"), "aweme_id")
        author = aweme.get("author")
        if not isinstance(author, dict) or not author.get("sec_uid"):
            raise ParseError(f"aweme {aweme_id} has no author")
        text = str(aweme.get("desc") or "")
        entities = extract_entities(text)
        tags = [*entities.hashtags]
        for name in hashtag_ids(aweme):
            if name not in tags:
                tags.append(name)
        stats = aweme.get("statistics") or {}
        if not isinstance(stats, dict):
            raise ParseError(f"aweme {aweme_id}: statistics is not an object")
        return Post(
            platform="douyin",
            id=aweme_id,
            author_id=require_id(author["sec_uid"], "author.sec_uid"),
            author_name=str(author.get("nickname") or ""),
            text=text,
            created_at=from_unix(aweme.get("create_time")),
            observed_at=observed_at,
            url=f"{base_url.rstrip('/')}/video/{aweme_id}",
            topics=tuple(tags),
            mentions=entities.mentions,
            is_original=True,
            media=_media(aweme),
            # The web API reports play_count 0 (or nothing real) for everyone's videos: plays
            # are unknown here, never zero. Only the Open Platform gives real per-video plays.
            plays=web_plays(stats.get("play_count")),
            likes=parse_count(stats.get("digg_count")).value,
            comments=parse_count(stats.get("comment_count")).value,
            shares=parse_count(stats.get("share_count")).value,
            reposts=None,  # Douyin has no reposts in this sense; forwards are not listed
        )
    except (KeyError, TypeError, AttributeError) as err:
        raise ParseError(f"aweme without the expected fields ({err!r})") from err


def web_plays(value: object) -> int | None:
    """A web API play_count: 0 means "not given", so only a positive count is kept."""
    count = parse_count(value).value
    return count if count else None


def collects(aweme: dict[str, Any]) -> int | None:
    """statistics.collect_count (favourites); the Post model has no field for it yet."""
    stats = aweme.get("statistics")
    return parse_count(stats.get("collect_count")).value if isinstance(stats, dict) else None


def _media(aweme: dict[str, Any]) -> Literal["video", "image"]:
    if aweme.get("images") or _int(aweme.get("aweme_type"), "aweme_type") in _IMAGE_TYPES:
        return "image"
    return "video"


@parser_edge
def parse_aweme_detail(
    payload: dict[str, Any], observed_at: datetime, base_url: str
) -> Post | None:
    """`aweme/detail/`; None for a removed or private video (`filter_detail`, no detail)."""
    detail = payload.get("aweme_detail")
    if isinstance(detail, dict):
        return parse_aweme(detail, observed_at, base_url)
    if isinstance(payload.get("filter_detail"), dict) or "aweme_detail" in payload:
        return None
    raise ParseError("aweme detail without aweme_detail")


def removal_reason(payload: dict[str, Any]) -> str:
    """The `filter_detail` reason of a removed video ("status_self_see", "copyright_foreign")."""
    detail = payload.get("filter_detail")
    if isinstance(detail, dict):
        return str(detail.get("filter_reason") or detail.get("detail_msg") or "removed")
    return "no detail"


@parser_edge
def parse_challenge(payload: dict[str, Any], topic: str, observed_at: datetime) -> TopicStats:
    """`challenge/detail/`: ch_info.view_count (plays of the challenge's videos) and
    user_count (people who joined) — the campaign's headline figures."""
    if "ch_info" not in payload:
        raise ParseError("challenge detail without ch_info")
    info = payload["ch_info"]
    if not isinstance(info, dict):
        raise ParseError(f"no challenge for #{topic} (ch_info is null): check douyin_ch_id")
    return TopicStats(
        "douyin",
        topic,
        observed_at,
        views=parse_count(info.get("view_count")).value,
        discussions=parse_count(info.get("user_count")).value,
    )


def challenge_name(payload: dict[str, Any]) -> str | None:
    info = payload.get("ch_info")
    return str(info.get("cha_name")) if isinstance(info, dict) and info.get("cha_name") else None


@parser_edge
def parse_comment(item: object, post_id: str, observed_at: datetime) -> Comment:
    """One comment or reply. Replies carry their top-level comment in `reply_id` ("0" at
    the top level). Authors are kept as their sec_uid only: no names or avatars."""
    if not isinstance(item, dict):
        raise ParseError("comment is not an object")
    try:
        comment_id = require_id(item.get("cid"), "cid")
        user = item.get("user")
        user = user if isinstance(user, dict) else {}
        parent = str(item.get("reply_id") or "0")
        return Comment(
            platform="douyin",
            id=comment_id,
            post_id=post_id,
            author_id=str(user.get("sec_uid") or user.get("uid") or ""),
            text=str(item.get("text") or ""),
            created_at=from_unix(item.get("create_time")),
            observed_at=observed_at,
            parent_id=None if parent in ("0", comment_id) else parent,
            likes=parse_count(item.get("digg_count")).value,
        )
    except (KeyError, TypeError, AttributeError) as err:
        raise ParseError(f"comment without the expected fields ({err!r})") from err


@parser_edge
def comment_page(
    payload: dict[str, Any], post_id: str, observed_at: datetime, parent_id: str | None = None
) -> CommentPage:
    """`comment/list/` or `comment/list/reply/` (then `parent_id` is the comment replied to).
    `comments` is null when there are none, and missing in an early end."""
    if "comments" not in payload:
        return CommentPage((), {}, _int(payload.get("cursor"), "cursor"), False, listed=False)
    items = payload["comments"] or []
    if not isinstance(items, list):
        raise ParseError("comments is not a list")
    comments = []
    totals: dict[str, int] = {}
    parsed, skipped = parse_each(
        items, lambda item: (item, parse_comment(item, post_id, observed_at)), "comment", "cid"
    )
    for item, comment in parsed:
        if parent_id is not None and comment.parent_id is None:
            comment = replace(comment, parent_id=parent_id)
        comments.append(comment)
        if comment.parent_id is None:
            totals[comment.id] = parse_count(item.get("reply_comment_total")).value or 0
    return CommentPage(
        tuple(comments),
        totals,
        _int(payload.get("cursor"), "cursor"),
        bool(_int(payload.get("has_more"), "has_more")),
        listed=True,
        skipped=tuple(skipped),
    )


@parser_edge
def parse_profile(payload: dict[str, Any], observed_at: datetime, kind: AuthorKind) -> Account:
    """`user/profile/other/`: a follower snapshot. f2 reads follower_count; MediaCrawler
    stores max_follower_count; mplatform_followers_count is the fallback when both are absent."""
    user = payload.get("user")
    if not isinstance(user, dict) or not user.get("sec_uid"):
        raise ParseError("profile without user (a banned or private account looks the same)")
    followers = parse_count(user.get("follower_count"))
    if followers.value is None:
        followers = parse_count(user.get("mplatform_followers_count"))
    verified = None
    if "custom_verify" in user or "enterprise_verify_reason" in user:
        verified = bool(user.get("custom_verify") or user.get("enterprise_verify_reason"))
    return Account(
        platform="douyin",
        id=str(user["sec_uid"]),
        name=str(user.get("nickname") or ""),
        observed_at=observed_at,
        followers=followers.value,
        following=parse_count(user.get("following_count")).value,
        posts_count=parse_count(user.get("aweme_count")).value,
        verified=verified,
        kind=kind,
    )
