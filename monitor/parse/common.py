"""Parsers shared by the platforms: display counts and Chinese time strings. Pure."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from functools import cache
from zoneinfo import ZoneInfo

from monitor.errors import ParseError
from monitor.parse.edge import INT64_MAX

SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Count:
    value: int | None  # None: the platform gave no number
    lower_bound: bool = False  # "100万+": at least this many


_COUNT = re.compile(r"^\s*([0-9][0-9,]*(?:\.[0-9]+)?)\s*(万|w|W|亿|k|K|千)?\s*(\+)?\s*$")
# A figure longer than this (fraction included) is no count anyone could have.
_MAX_DIGITS = 40
_UNITS = {None: 1, "千": 1_000, "k": 1_000, "K": 1_000, "万": 10_000, "w": 10_000, "W": 10_000,
          "亿": 100_000_000}  # fmt: skip
# s.weibo.com shows the bare word for zero ("转发", "赞", "评论").
_ZERO_WORDS = {"", "转发", "赞", "评论", "点赞", "分享", "收藏", "0+"}


def parse_count(value: object) -> Count:
    """ints, `"1,234"`, `"43.4万"`, `"1.2亿"`, `"3.2w"`, `"100万+"` (a lower bound), `""` → 0.

    Anything else is `Count(None)`: a figure we cannot read is missing, never zero.
    """
    if value is None:
        return Count(None)
    if isinstance(value, bool):
        return Count(None)
    if isinstance(value, int):
        return Count(value) if 0 <= value <= INT64_MAX else Count(None)
    if isinstance(value, float):
        if not math.isfinite(value) or not 0 <= value <= INT64_MAX:
            return Count(None)
        return Count(_stored(round(value)))
    if not isinstance(value, str):
        return Count(None)
    text = value.strip()
    if text in _ZERO_WORDS:
        return Count(0)
    match = _COUNT.match(text)
    if not match:
        return Count(None)
    number, unit, plus = match.groups()
    digits = number.replace(",", "")
    if len(digits) > _MAX_DIGITS:
        return Count(None)  # beyond SQLite's integers (and int()'s digit limit): unknown
    if "." in digits:
        whole, fraction = digits.split(".")
        # Exact decimal arithmetic: "43.4万" is 434000, not 433999.99…
        scaled = int(whole) * _UNITS[unit] + int(fraction) * _UNITS[unit] // 10 ** len(fraction)
    else:
        scaled = int(digits) * _UNITS[unit]
    value = _stored(scaled)
    return Count(value, lower_bound=bool(plus) and value is not None)


def _stored(number: int) -> int | None:
    return number if 0 <= number <= INT64_MAX else None


_ABSOLUTE = "%a %b %d %H:%M:%S %z %Y"
# The same form read without strptime, which is the slowest step of parsing a comment page.
_ABSOLUTE_FAST = re.compile(
    r"^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"(\d{2}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2}) (\d{4})$"
)
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}
_AGO = re.compile(r"^(\d+)\s*(秒|分钟|小时|天)前$")
_TODAY = re.compile(r"^今天\s*(\d{1,2}):(\d{2})$")
_YESTERDAY = re.compile(r"^昨天\s*(\d{1,2}):(\d{2})$")
_MONTH_DAY = re.compile(r"^(\d{1,2})-(\d{1,2})$")
_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:\s+(\d{1,2}):(\d{2}))?$")
_CN_MONTH_DAY = re.compile(r"^(\d{1,2})月(\d{1,2})日\s*(\d{1,2}):(\d{2})$")
_CN_FULL = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日\s*(\d{1,2}):(\d{2})$")
_AGO_UNITS = {"秒": "seconds", "分钟": "minutes", "小时": "hours", "天": "days"}


def parse_weibo_time(text: object, now: datetime) -> datetime:
    """Every `created_at` form in platforms.md §1.10 to an aware datetime.

    Relative forms (刚刚, 5分钟前, 昨天 12:00, 07-06) resolve against `now`, the time of the
    response, in Asia/Shanghai. Anything else raises ParseError.
    """
    if not isinstance(text, str):
        raise ParseError(f"created_at is not a string: {text!r}")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    value = text.strip()
    local_now = now.astimezone(SHANGHAI)
    try:
        if match := _ABSOLUTE_FAST.match(value):
            month, day, hour, minute, second, sign, off_h, off_m, year = match.groups()
            return datetime(
                int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second),
                tzinfo=_offset(sign, int(off_h), int(off_m)),
            )  # fmt: skip
        if value == "刚刚":
            return local_now
        if match := _AGO.match(value):
            amount, unit = match.groups()
            return local_now - timedelta(**{_AGO_UNITS[unit]: int(amount)})
        if match := _TODAY.match(value):
            return _at(local_now.date(), int(match[1]), int(match[2]))
        if match := _YESTERDAY.match(value):
            return _at(local_now.date() - timedelta(days=1), int(match[1]), int(match[2]))
        if match := _MONTH_DAY.match(value):
            return _at(date(local_now.year, int(match[1]), int(match[2])), 0, 0)
        if match := _YMD.match(value):
            day = date(int(match[1]), int(match[2]), int(match[3]))
            return _at(day, int(match[4] or 0), int(match[5] or 0))
        if match := _CN_MONTH_DAY.match(value):
            day = date(local_now.year, int(match[1]), int(match[2]))
            return _at(day, int(match[3]), int(match[4]))
        if match := _CN_FULL.match(value):
            day = date(int(match[1]), int(match[2]), int(match[3]))
            return _at(day, int(match[4]), int(match[5]))
        return datetime.strptime(value, _ABSOLUTE)
    except (ValueError, OverflowError) as err:
        raise ParseError(f"unreadable created_at {text!r}") from err


@cache
def _offset(sign: str, hours: int, minutes: int) -> timezone:
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if sign == "-" else delta)


def from_unix(seconds: object) -> datetime:
    """Douyin's `create_time` (unix seconds) as an aware datetime."""
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise ParseError(f"create_time is not a number: {seconds!r}")
    try:
        return datetime.fromtimestamp(seconds, tz=SHANGHAI)
    except (OverflowError, OSError, ValueError) as err:
        raise ParseError(f"create_time out of range: {seconds!r}") from err


def _at(day: date, hour: int, minute: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)
