"""Collector-health alerts: one when a platform blocks pingfan, one when it recovers. Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from monitor.models import AlertRecord, Platform, to_utc_iso

_NAMES = {"zh": {"weibo": "微博", "douyin": "抖音"}, "en": {"weibo": "Weibo", "douyin": "Douyin"}}


def blocked_alert(
    platform: Platform,
    reason: str,
    cooldown_minutes: int,
    at: datetime,
    language: str = "zh",
    *,
    cookie_expired: bool = False,
) -> AlertRecord:
    name = _NAMES.get(language, _NAMES["zh"])[platform]
    if language == "en":
        cause = "the login cookie expired" if cookie_expired else "blocked by the platform"
        title = f"{name} collection paused: {cause}"
        text = (
            f"{reason}. pingfan stops polling {name} for {cooldown_minutes} min, then probes "
            "once. Check the cookie (pingfan doctor) or lower requests_per_minute."
        )
    else:
        title = f"{name}采集暂停：{'登录 Cookie 已失效' if cookie_expired else '被平台拦截'}"
        text = (
            f"{reason}。暂停访问{name} {cooldown_minutes} 分钟后自动试探一次；"
            "请检查 Cookie（pingfan doctor）或降低 requests_per_minute。"
        )
    return _health(platform, "critical", "opened", title, text, at)


def recovered_alert(platform: Platform, at: datetime, language: str = "zh") -> AlertRecord:
    name = _NAMES.get(language, _NAMES["zh"])[platform]
    title = f"{name} collection recovered" if language == "en" else f"{name}采集已恢复"
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
