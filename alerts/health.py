"""Collector-health alerts: one when a platform blocks pingfan, one when it recovers. Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from alerts import i18n
from monitor.models import AlertRecord, PauseCause, Platform, to_utc_iso

# A pause's cause (PauseCause) is worded by "health.cause.*", what to check by
# "health.advice.*".


def blocked_alert(
    platform: Platform,
    reason: str,
    cooldown_seconds: float,
    at: datetime,
    language: str = "zh",
    *,
    cause: PauseCause = "blocked",
) -> AlertRecord:
    name = i18n.platform_name(language, platform)
    cause_words = i18n.t(language, f"health.cause.{cause}")
    title = i18n.t(language, "health.paused.title", name=name, cause=cause_words)
    text = i18n.t(
        language,
        "health.paused.text",
        reason=reason,
        name=name,
        pause=_pause(language, cooldown_seconds),
        advice=i18n.t(language, f"health.advice.{cause}"),
    )
    return _health(platform, "critical", "opened", title, text, at)


def _pause(language: str, seconds: float) -> str:
    if seconds >= 60:
        return i18n.t(language, "unit.minutes", n=round(seconds / 60))
    return i18n.t(language, "unit.seconds", n=f"{seconds:.0f}")


def recovered_alert(platform: Platform, at: datetime, language: str = "zh") -> AlertRecord:
    title = i18n.t(language, "health.recovered", name=i18n.platform_name(language, platform))
    return _health(platform, "info", "recovered", title, title, at)


def _health(
    platform: Platform,
    severity: Literal["info", "critical"],
    event: str,
    title: str,
    text: str,
    at: datetime,
) -> AlertRecord:
    # One alert per outage and one per recovery: the moment is part of the dedupe key.
    return AlertRecord(
        kind="collector_health",
        severity=severity,
        title=title,
        text=text,
        dedupe_key=f"collector_health:{platform}:{event}:{to_utc_iso(at)}",
        created_at=at,
        platform=platform,
        subject_id=platform,
    )
