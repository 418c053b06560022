"""Collector-health alerts: one when a platform blocks pingfan, one when it recovers. Pure."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from monitor.models import AlertRecord, Platform, to_utc_iso

_NAMES = {"zh": {"weibo": "微博", "douyin": "抖音"}, "en": {"weibo": "Weibo", "douyin": "Douyin"}}


# Why collection paused, as the alert's title says it; and what to check.
PauseCause = Literal["blocked", "cookie", "unreachable"]
_CAUSES = {
    "zh": {"blocked": "被平台拦截", "cookie": "登录 Cookie 已失效", "unreachable": "无法连接"},
    "en": {
        "blocked": "blocked by the platform",
        "cookie": "the login cookie expired",
        "unreachable": "the platform is unreachable",
    },
}
_ADVICE = {
    "zh": {
        "blocked": "请检查 Cookie（pingfan doctor）或降低 requests_per_minute。",
        "cookie": "请更新 Cookie（pingfan doctor）。",
        "unreachable": "请检查网络、代理与 base_url（pingfan doctor）。",
    },
    "en": {
        "blocked": "Check the cookie (pingfan doctor) or lower requests_per_minute.",
        "cookie": "Renew the cookie (pingfan doctor).",
        "unreachable": "Check the network, the proxy and base_url (pingfan doctor).",
    },
}


def blocked_alert(
    platform: Platform,
    reason: str,
    cooldown_seconds: float,
    at: datetime,
    language: str = "zh",
    *,
    cause: PauseCause = "blocked",
) -> AlertRecord:
    lang = "en" if language == "en" else "zh"
    name = _NAMES[lang][platform]
    pause = _pause(lang, cooldown_seconds)
    if lang == "en":
        title = f"{name} collection paused: {_CAUSES[lang][cause]}"
        text = (
            f"{reason}. pingfan stops polling {name} for {pause}, then probes once. "
            f"{_ADVICE[lang][cause]}"
        )
    else:
        title = f"{name}采集暂停：{_CAUSES[lang][cause]}"
        text = f"{reason}。暂停访问{name} {pause}后自动试探一次；{_ADVICE[lang][cause]}"
    return _health(platform, "critical", "opened", title, text, at)


def _pause(lang: str, seconds: float) -> str:
    if seconds >= 60:
        minutes = round(seconds / 60)
        return f"{minutes} min" if lang == "en" else f"{minutes} 分钟"
    return f"{seconds:.0f} s" if lang == "en" else f"{seconds:.0f} 秒"


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
