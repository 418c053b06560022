"""Weibo JSON → frozen models. Pure: payloads in, records out, no I/O.

Platform quirks are commented beside the field that has them (platforms.md §1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from monitor.errors import AuthExpired, Blocked, ParseError
from monitor.models import Account, AuthorKind, Comment, Post, TopicStats
from monitor.parse.common import parse_count, parse_weibo_time
from monitor.parse.edge import Skipped, load_json, parse_each, parser_edge, require_id, short
from nlp.text import extract_entities, html_mentions, html_to_text, strip_long_text_marker

PINNED_MBLOGTYPE = 2
_BLOCK_STATUSES = {403: "HTTP 403", 418: "HTTP 418 (rate limited)", 432: "HTTP 432 (blocked)"}
# Bounded runs: a desc of a million digits must not make this quadratic.
_DESC_COUNTS = re.compile(r"([0-9.,]{1,24}\s{0,3}[万亿wW]?\+?)\s{0,3}(讨论|阅读)")


@dataclass(frozen=True)
class Envelope:
    """A Weibo response that is not a block: its JSON, or `empty` for ok:0."""

    data: dict[str, Any]
    empty: bool


@parser_edge
def read_envelope(status: int, body: str, url: str) -> Envelope:
    """Sort a raw response into data, end-of-results, or the error it stands for."""
    if status in _BLOCK_STATUSES:
        raise Blocked(f"Weibo answered {_BLOCK_STATUSES[status]} for {url}")
    stripped = body.lstrip()
    if stripped.startswith("<"):
        if "Sina Visitor System" in body or "passport.weibo.com/js/visitor" in body:
            raise Blocked(f"Weibo sent its visitor-system page for {url}: a cookie is needed")
        if "暂无查看权限" in body:
            return Envelope({}, empty=True)
        raise ParseError("Weibo sent HTML instead of JSON", url)
    if status >= 500:
        raise ParseError(f"Weibo answered HTTP {status}", url)
    payload = load_json(body, url)
    if not isinstance(payload, dict):
        raise ParseError("JSON is not an object", url)
    ok = payload.get("ok")
    if ok in (-100, "-100"):
        raise Blocked(f"Weibo asks for a captcha ({payload.get('url', 'no url')}) on {url}")
    if payload.get("error_code") in (21301, "21301"):
        raise AuthExpired(f"Weibo asks to log in again (21301) on {url}")
    if ok in (1, "1"):
        data = payload.get("data")
        return Envelope(data if isinstance(data, dict) else {}, empty=not data)
    if ok in (0, "0"):
        return Envelope({}, empty=True)
    raise ParseError(f"unexpected envelope ok={ok!r}", url)


@parser_edge
def cards_to_mblogs(cards: object) -> list[dict[str, Any]]:
    """Keep the cards that carry a post: card_type 9 (int or string, both occur), and the
    type-9 cards inside card_type 11 groups (one level: groups do not nest)."""
    mblogs: list[dict[str, Any]] = []
    if not isinstance(cards, list):
        return mblogs
    for card in cards:
        if not isinstance(card, dict):
            continue
        if str(card.get("card_type")) == "11" and isinstance(card.get("card_group"), list):
            mblogs.extend(filter(None, map(_card_mblog, card["card_group"])))
        elif mblog := _card_mblog(card):
            mblogs.append(mblog)
    return mblogs


def _card_mblog(card: object) -> dict[str, Any] | None:
    """The post of a type-9 card, marked pinned when the card says so."""
    if not isinstance(card, dict) or str(card.get("card_type")) != "9":
        return None
    if not isinstance(card.get("mblog"), dict):
        return None
    mblog = dict(card["mblog"])
    if str(card.get("profile_type_id", "")).startswith("proweibotop"):
        mblog["mblogtype"] = PINNED_MBLOGTYPE
    return mblog


@parser_edge
def next_marker(data: dict[str, Any], by_since_id: bool) -> int | str | None:
    """The next page's marker of a listing: `cardlistInfo.since_id` (timelines) or `.page`
    (search); None at the end, and when cardlistInfo is not an object (a list was seen)."""
    info = data.get("cardlistInfo")
    if not isinstance(info, dict):
        return None
    marker = info.get("since_id") if by_since_id else info.get("page")
    if marker is None or isinstance(marker, bool | float | dict | list) or marker in ("", 0):
        return None
    return marker if isinstance(marker, int) else short(marker)


def page_description(data: dict[str, Any]) -> str | None:
    """The topic container's display text (`pageInfo.desc`, "3.4万讨论 1.2亿阅读")."""
    info = data.get("pageInfo")
    return str(info.get("desc", ""))[:1000] if isinstance(info, dict) else None


def parse_mblogs(
    mblogs: list[dict[str, Any]], observed_at: datetime, base_url: str
) -> tuple[list[tuple[dict[str, Any], Post]], list[Skipped]]:
    """Every post of a page that can be read, with its mblog; the others named."""
    return parse_each(
        mblogs, lambda mblog: (mblog, parse_mblog(mblog, observed_at, base_url)), "post",
        "mid", "idstr", "id",
    )  # fmt: skip


def is_pinned(mblog: dict[str, Any]) -> bool:
    return mblog.get("mblogtype") in (PINNED_MBLOGTYPE, str(PINNED_MBLOGTYPE))


@parser_edge
def parse_mblog(
    mblog: dict[str, Any], observed_at: datetime, base_url: str = "https://m.weibo.cn"
) -> Post:
    """One `mblog` to a Post; `observed_at` is the response time (relative times use it)."""
    try:
        post_id = require_id(mblog.get("mid") or mblog.get("idstr") or mblog.get("id"), "mid")
        user = mblog.get("user")
        if not isinstance(user, dict):
            raise ParseError(f"post {post_id} has no author")
        markup = str(mblog.get("text") or "")
        text = strip_long_text_marker(html_to_text(markup))
        entities = extract_entities(text)
        mentions = html_mentions(markup) or entities.mentions
        reposts = parse_count(mblog.get("reposts_count"))
        comments = parse_count(mblog.get("comments_count"))
        likes = parse_count(mblog.get("attitudes_count"))
        return Post(
            platform="weibo",
            id=post_id,
            author_id=require_id(user.get("id"), "user.id"),
            author_name=str(user.get("screen_name") or ""),
            text=text,
            created_at=parse_weibo_time(mblog.get("created_at"), observed_at),
            observed_at=observed_at,
            url=f"{base_url}/detail/{post_id}",
            topics=entities.hashtags,
            mentions=mentions,
            is_original="retweeted_status" not in mblog,
            media=_media(mblog),
            plays=None,  # Weibo gives no play count here
            likes=likes.value,
            comments=comments.value,
            shares=None,
            reposts=reposts.value,
            counts_are_lower_bounds=reposts.lower_bound
            or comments.lower_bound
            or likes.lower_bound,
        )
    except (KeyError, TypeError, AttributeError) as err:
        raise ParseError(f"mblog without the expected fields ({err!r})") from err


def is_truncated(mblog: dict[str, Any]) -> bool:
    # weibo-crawler also treats more than nine pictures as a cut post.
    return bool(mblog.get("isLongText")) or (parse_count(mblog.get("pic_num")).value or 0) > 9


def _media(mblog: dict[str, Any]) -> Literal["video", "image", "none"]:
    page_info = mblog.get("page_info")
    if isinstance(page_info, dict) and page_info.get("type") == "video":
        return "video"
    pics = mblog.get("pics")  # a list, or an object {"0": {...}} (RSSHub)
    if pics or (parse_count(mblog.get("pic_num")).value or 0) > 0:
        return "image"
    return "none"


@parser_edge
def parse_profile(data: dict[str, Any], observed_at: datetime, kind: AuthorKind) -> Account:
    info = data.get("userInfo")
    if not isinstance(info, dict) or "id" not in info:
        raise ParseError("profile without userInfo")
    # followers_count is an int or a display string like "43.4万" (then exact to 1,000).
    followers = parse_count(info.get("followers_count"))
    if followers.value is None:
        followers = parse_count(info.get("followers_count_str"))
    return Account(
        platform="weibo",
        id=str(info["id"]),
        name=str(info.get("screen_name") or ""),
        observed_at=observed_at,
        followers=followers.value,
        following=parse_count(info.get("follow_count")).value,
        posts_count=parse_count(info.get("statuses_count")).value,
        verified=bool(info["verified"]) if "verified" in info else None,
        kind=kind,
    )


@dataclass(frozen=True)
class CommentPage:
    comments: tuple[Comment, ...]
    max_id: int
    max_id_type: int
    skipped: tuple[Skipped, ...] = ()  # comments that could not be read, named


@parser_edge
def parse_hotflow(data: dict[str, Any], post_id: str, observed_at: datetime) -> CommentPage:
    """A hotflow page; inline replies (`comments`: a list or false) keep their parent id.
    A comment that cannot be read is skipped (with its replies) and named in `skipped`."""
    items = data.get("data")
    if not isinstance(items, list):
        raise ParseError("hotflow page without data list")
    comments: list[Comment] = []
    skipped: list[Skipped] = []
    for item in items:
        read, bad = _comment_with_replies(item, post_id, observed_at)
        comments.extend(read)
        skipped.extend(bad)
    max_id = _cursor_int(data.get("max_id"), "max_id")
    max_id_type = _cursor_int(data.get("max_id_type"), "max_id_type")
    return CommentPage(tuple(comments), max_id, max_id_type, tuple(skipped))


def _cursor_int(value: object, field: str) -> int:
    """A hotflow cursor field: an int or a string of digits; 0 (the end) when absent."""
    if value is None or value == "" or value is False:
        return 0
    text = str(value).strip()
    if isinstance(value, float | dict | list) or not text.isdigit() or len(text) > 19:
        raise ParseError(f"hotflow cursor {field} unreadable: {short(value)!r}")
    return int(text)


def _comment_with_replies(
    item: object, post_id: str, observed_at: datetime
) -> tuple[list[Comment], list[Skipped]]:
    """A comment and its inline replies; whichever cannot be read is named instead."""
    parsed, skipped = parse_each([item], lambda one: _comment(one, post_id, observed_at),
                                 "comment", "idstr", "id")  # fmt: skip
    if not parsed:
        return [], skipped
    comment = parsed[0]
    result = [comment]
    replies = item.get("comments") if isinstance(item, dict) else None
    if isinstance(replies, list):  # `false` when there are none
        read, bad = parse_each(replies, lambda one: _comment(one, post_id, observed_at),
                               "comment", "idstr", "id")  # fmt: skip
        result.extend(reply if reply.parent_id else _child_of(reply, comment.id) for reply in read)
        skipped.extend(bad)
    return result, skipped


def _comment(item: object, post_id: str, observed_at: datetime) -> Comment:
    if not isinstance(item, dict):
        raise ParseError("comment is not an object")
    try:
        comment_id = require_id(item.get("idstr") or item.get("id"), "id")
        user = item.get("user") or {}
        root = str(item.get("rootidstr") or item.get("rootid") or comment_id)
        user = user if isinstance(user, dict) else {}
        comment = Comment(
            platform="weibo",
            id=comment_id,
            post_id=post_id,
            author_id=str(user.get("id", "")),  # the id only: no names or avatars of citizens
            text=html_to_text(str(item.get("text") or "")),
            created_at=parse_weibo_time(item.get("created_at"), observed_at),
            observed_at=observed_at,
            parent_id=root if root != comment_id else None,
            likes=parse_count(item.get("like_count")).value,
        )
    except (KeyError, TypeError, AttributeError) as err:
        raise ParseError(f"comment without the expected fields ({err!r})") from err
    return comment


def _child_of(comment: Comment, parent_id: str) -> Comment:
    return replace(comment, parent_id=parent_id)


@parser_edge
def parse_topic_detail(data: dict[str, Any], topic: str, observed_at: datetime) -> TopicStats:
    """`/ajax_topic/detail`: data.baseInfo.count.{read, mention}; baseData as a fallback."""
    base = data.get("baseInfo")
    count = base.get("count") if isinstance(base, dict) else None
    if isinstance(count, dict) and ("read" in count or "mention" in count):
        return TopicStats(
            "weibo",
            topic,
            observed_at,
            views=parse_count(count.get("read")).value,
            discussions=parse_count(count.get("mention")).value,
        )
    figures = data.get("baseData")
    if isinstance(figures, dict):
        return TopicStats(
            "weibo",
            topic,
            observed_at,
            views=_unit_value(figures.get("r")),
            discussions=_unit_value(figures.get("m")),
        )
    raise ParseError("topic detail without counts")


def _unit_value(field: object) -> int | None:
    if not isinstance(field, dict):
        return None
    return parse_count(f"{field.get('val', '')}{field.get('unit', '')}").value


@parser_edge
def parse_topic_desc(text: str, topic: str, observed_at: datetime) -> TopicStats | None:
    """`"3.4万讨论 1.2亿阅读"` where only display text is given; None when it has neither."""
    found = {label: parse_count(number).value for number, label in _DESC_COUNTS.findall(text)}
    if not found:
        return None
    return TopicStats(
        "weibo", topic, observed_at, views=found.get("阅读"), discussions=found.get("讨论")
    )
