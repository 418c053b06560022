"""pingfan's words: one catalogue per language (zh.py, en.py) and the formats every reader
shares (numbers, times, durations, lists).

Alerts, the chat bot, the digest, health alerts and the console all read their texts here, so
each name (a platform, a severity, a sentiment label, a unit) is said once. Keys are grouped by
who says them: `platform.*`, `severity.*`, `kind.*`, `state.*`, `metric.*`, `label.*` and
`unit.*` are shared names; `alert.*`, `health.*`, `button.*`, `bot.*` and `digest.*` are each
reader's own texts. Chinese is the default; an unknown language reads Chinese.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from alerts.i18n import en, zh

CATALOGUES: dict[str, dict[str, str]] = {"zh": zh.TEXT, "en": en.TEXT}
LANGUAGES = tuple(CATALOGUES)


def lang_of(language: str) -> str:
    return language if language in CATALOGUES else "zh"


def template(language: str, key: str) -> str:
    """The catalogue string `key` in `language` (zh when unknown), its placeholders unfilled
    (for a caller that escapes the values first, as the bot does for HTML)."""
    return CATALOGUES[lang_of(language)][key]


def t(language: str, key: str, **values: object) -> str:
    """The catalogue string `key` in `language` (zh when unknown), formatted."""
    return template(language, key).format(**values)


def name(language: str, group: str, value: str | None) -> str:
    """A shared name (`group` is platform, severity, kind, state, metric or label); the value
    itself when the catalogue has no name for it."""
    if value is None:
        return ""
    return CATALOGUES[lang_of(language)].get(f"{group}.{value}", value)


def platform_name(language: str, platform: str | None) -> str:
    return name(language, "platform", platform)


def severity_name(language: str, severity: str) -> str:
    return name(language, "severity", severity)


# --- numbers and times -----------------------------------------------------------------


def count(value: float | int | None) -> str:
    """`1234567` → `1,234,567`; None → `–` (the platform did not give it)."""
    if value is None:
        return "–"
    return f"{round(value):,}"


def pct(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.0%}"


def ratio(value: float) -> str:
    if math.isinf(value):
        return "∞"
    return f"{value:.1f}"


def local_time(moment: datetime, tz: ZoneInfo | str) -> str:
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def hours(seconds: float) -> str:
    value = seconds / 3600
    return f"{value:.0f}" if value >= 1 or value == 0 else f"{value:.1f}"


def duration(language: str, seconds: float) -> str:
    """Whole days, else hours, else minutes: `2 天`, `6 小时`, `30 分钟` (en: `2 d`...)."""
    if seconds >= 86400 and seconds % 86400 == 0:
        return t(language, "unit.days", n=int(seconds // 86400))
    if seconds >= 3600:
        return t(language, "unit.hours", n=hours(seconds))
    return t(language, "unit.minutes", n=max(1, round(seconds / 60)))


def join_terms(language: str, terms: Iterable[str]) -> str:
    return t(language, "sep.list").join(terms)


# --- the digest's week-over-week figures ---------------------------------------------------


def compact(language: str, value: int | float | None) -> str:
    """`1856000` → `185.6万` (zh) or `1.86M` (en); small numbers as they are."""
    if value is None:
        return "–"
    number = float(value)
    sign = "-" if number < 0 else ""
    number = abs(number)
    if lang_of(language) == "zh":
        if number >= 1e8:
            return f"{sign}{_trim(number / 1e8)}亿"
        if number >= 1e4:
            return f"{sign}{_trim(number / 1e4)}万"
        return f"{sign}{round(number):,}"
    if number >= 1e9:
        return f"{sign}{_trim(number / 1e9, 2)}B"
    if number >= 1e6:
        return f"{sign}{_trim(number / 1e6, 2)}M"
    if number >= 1e4:
        return f"{sign}{_trim(number / 1e3)}k"
    return f"{sign}{round(number):,}"


def _trim(value: float, digits: int = 1) -> str:
    text = f"{value:.{digits}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def change(language: str, current: float | None, previous: float | None) -> str:
    """Week over week: `+12%`, `−5%`, `±0%`; `new` when last week had none; `–` when unknown."""
    if current is None or previous is None:
        return "–"
    if previous == 0:
        return "±0%" if current == 0 else t(language, "change.new")
    ratio = (current - previous) / previous
    if abs(ratio) < 0.005:
        return "±0%"
    return f"+{ratio:.0%}" if ratio > 0 else f"−{abs(ratio):.0%}"


def points(current: float | None, previous: float | None) -> str:
    """A change of a share in percentage points: `+3.2 pp`."""
    if current is None or previous is None:
        return "–"
    diff = (current - previous) * 100
    if abs(diff) < 0.05:
        return "±0 pp"
    return f"+{diff:.1f} pp" if diff > 0 else f"−{abs(diff):.1f} pp"


def hours_minutes(language: str, seconds: float) -> str:
    """`3 小时 20 分钟` / `3 h 20 min`; `0` when nothing."""
    minutes = round(seconds / 60)
    if minutes <= 0:
        return "0"
    whole, rest = divmod(minutes, 60)
    if whole and rest:
        return t(language, "unit.hours_minutes", hours=whole, minutes=rest)
    if whole:
        return t(language, "unit.hours", n=whole)
    return t(language, "unit.minutes", n=rest)
