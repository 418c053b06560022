"""The digest's words (the `digest.*` texts of alerts/i18n, and the shared names) and its
dates, with the shared number formats."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from alerts import i18n as catalogue

# The shared number formats, read by the digest's modules through here.
from alerts.i18n import change, compact, count, hours_minutes, pct, points

__all__ = [
    "change",
    "compact",
    "count",
    "day",
    "hours_minutes",
    "join_terms",
    "kind_name",
    "lang",
    "metric_name",
    "moment",
    "pct",
    "platform_name",
    "points",
    "severity_name",
    "short_day",
    "state_name",
    "t",
]

_WEEKDAY_ZH = "一二三四五六日"


def lang(language: str) -> str:
    return catalogue.lang_of(language)


def t(language: str, key: str, **values: object) -> str:
    """The digest's text `key` (`digest.<key>` in the catalogue)."""
    return catalogue.t(language, f"digest.{key}", **values)


def platform_name(language: str, platform: str | None) -> str:
    return catalogue.platform_name(language, platform)


def severity_name(language: str, severity: str) -> str:
    return catalogue.severity_name(language, severity)


def kind_name(language: str, kind: str) -> str:
    return catalogue.name(language, "kind", kind)


def state_name(language: str, state: str) -> str:
    return catalogue.name(language, "state", state)


def metric_name(language: str, platform: str) -> str:
    found = catalogue.name(language, "metric", platform)
    return "views" if found == platform else found


def join_terms(language: str, terms: Iterable[str]) -> str:
    return catalogue.join_terms(language, terms)


# --- times ----------------------------------------------------------------------------------


def day(language: str, value: date) -> str:
    if lang(language) == "zh":
        return f"{value.month}月{value.day}日（周{_WEEKDAY_ZH[value.weekday()]}）"
    return value.strftime("%a %d %b")


def short_day(language: str, value: date) -> str:
    if lang(language) == "zh":
        return f"{value.month}/{value.day} 周{_WEEKDAY_ZH[value.weekday()]}"
    return value.strftime("%a %d/%m")


def moment(value: datetime, tz: ZoneInfo) -> str:
    return catalogue.local_time(value, tz)
