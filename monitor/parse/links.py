"""Share links → (platform, id): pure, offline, no requests.

Weibo: `weibo.com/UID/BID` (the base62 bid of the post, or its numeric mid),
`m.weibo.cn/detail/ID`, `m.weibo.cn/status/ID` or `/status/BID`.
Douyin: `www.douyin.com/video/ID`, `iesdouyin.com/share/video/ID/`, and `?modal_id=ID` on any
douyin.com page. A `v.douyin.com/CODE` short link holds no id: `parse_link` says so
(`WatchLink.short`), and the caller follows its redirect once (`monitor.watch`).

The bid → mid rule: split the bid from the right into groups of 4 base62 characters; each
group is a number, written with 7 digits (zero-padded) except the first, and the mid is their
concatenation: `z0JH2lOMb` → `35` `0175648` `5200075` → 3501756485200075.
"""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass
from typing import Literal

from monitor.errors import LinkError

BASE62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
_BASE62_INDEX = {char: index for index, char in enumerate(BASE62)}
_BID = re.compile(r"[0-9A-Za-z]{1,16}")
_DIGITS = re.compile(r"[0-9]{1,25}")
_SHORT_CODE = re.compile(r"[0-9A-Za-z_-]{1,32}")
SHORT_HOST = "v.douyin.com"

LinkPlatform = Literal["weibo", "douyin"]


@dataclass(frozen=True)
class WatchLink:
    """What a link names: `id` is None for a short link (`short` is then its code)."""

    platform: LinkPlatform
    id: str | None
    url: str
    short: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        found: dict[str, str | None] = {"platform": self.platform, "id": self.id, "url": self.url}
        if self.short is not None:
            found["short"] = self.short
        return found


def bid_to_mid(bid: str) -> str:
    """A Weibo post's base62 bid → its numeric mid (see the module doc); ValueError if the
    text is not base62."""
    if not bid or any(char not in _BASE62_INDEX for char in bid):
        raise ValueError(f"{bid!r} is not a base62 bid")
    groups = []
    end = len(bid)
    while end > 0:
        start = max(end - 4, 0)
        groups.append(bid[start:end])
        end = start
    groups.reverse()
    digits = []
    for position, group in enumerate(groups):
        number = 0
        for char in group:
            number = number * 62 + _BASE62_INDEX[char]
        digits.append(str(number) if position == 0 else f"{number:07d}")
    mid = "".join(digits).lstrip("0")
    return mid or "0"


def mid_to_bid(mid: str) -> str:
    """The inverse of `bid_to_mid`: groups of 7 digits from the right, each 4 base62 chars
    (the first without padding)."""
    if not mid.isdigit():
        raise ValueError(f"{mid!r} is not a numeric mid")
    groups = []
    end = len(mid)
    while end > 0:
        start = max(end - 7, 0)
        groups.append(mid[start:end])
        end = start
    groups.reverse()
    out = []
    for position, group in enumerate(groups):
        number = int(group)
        chars = ""
        while number:
            number, rest = divmod(number, 62)
            chars = BASE62[rest] + chars
        out.append(chars or "0" if position == 0 else chars.rjust(4, "0"))
    return "".join(out)


def parse_link(text: str) -> WatchLink:
    """The platform and id a share link names; LinkError (one line) for anything else.

    A link pasted without its scheme (`weibo.com/...`) is read as https."""
    raw = text.strip()
    if not raw or any(char.isspace() or not char.isprintable() for char in raw):
        raise LinkError(_garbage(text))
    if "://" not in raw:
        raw = "https://" + raw
    try:
        parts = urllib.parse.urlsplit(raw)
        host = (parts.hostname or "").lower()
    except ValueError as err:
        raise LinkError(_garbage(text)) from err
    if parts.scheme not in ("http", "https") or not host:
        raise LinkError(_garbage(text))
    segments = [segment for segment in parts.path.split("/") if segment]
    query = urllib.parse.parse_qs(parts.query)
    found = _weibo(host, segments, raw) or _douyin(host, segments, query, raw)
    if found is None:
        raise LinkError(_garbage(text))
    return found


def _weibo(host: str, segments: list[str], url: str) -> WatchLink | None:
    if host in ("m.weibo.cn", "m.weibo.com"):
        if len(segments) == 2 and segments[0] in ("detail", "status"):
            return _weibo_post(segments[1], url, bids=segments[0] == "status")
        return None
    weibo_host = host in ("weibo.com", "www.weibo.com", "weibo.cn", "www.weibo.cn")
    if weibo_host and len(segments) == 2 and _DIGITS.fullmatch(segments[0]):
        return _weibo_post(segments[1], url, bids=True)
    return None


def _weibo_post(value: str, url: str, *, bids: bool) -> WatchLink | None:
    if _DIGITS.fullmatch(value):
        return WatchLink("weibo", value.lstrip("0") or "0", url)
    if bids and _BID.fullmatch(value) and not value.isdigit():
        return WatchLink("weibo", bid_to_mid(value), url)
    return None


def _douyin(
    host: str, segments: list[str], query: dict[str, list[str]], url: str
) -> WatchLink | None:
    if host == SHORT_HOST:
        if len(segments) == 1 and _SHORT_CODE.fullmatch(segments[0]):
            return WatchLink("douyin", None, url, short=segments[0])
        return None
    if host == "douyin.com" or host.endswith(".douyin.com"):
        modal = query.get("modal_id") or []
        if modal and _DIGITS.fullmatch(modal[0]):
            return WatchLink("douyin", modal[0], url)
        if (
            len(segments) == 2
            and segments[0] in ("video", "note")
            and _DIGITS.fullmatch(segments[1])
        ):
            return WatchLink("douyin", segments[1], url)
        return None
    if (host == "iesdouyin.com" or host.endswith(".iesdouyin.com")) and (
        len(segments) == 3 and segments[:2] == ["share", "video"] and _DIGITS.fullmatch(segments[2])
    ):
        return WatchLink("douyin", segments[2], url)
    return None


def _garbage(text: str) -> str:
    shown = text.strip()
    shown = repr(shown if len(shown) <= 60 else shown[:57] + "...")
    return (
        f"{shown} is not a Weibo or Douyin post link; use e.g. https://weibo.com/UID/BID, "
        "https://m.weibo.cn/detail/ID, https://www.douyin.com/video/ID or "
        "https://v.douyin.com/CODE"
    )
