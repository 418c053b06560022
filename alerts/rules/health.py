"""Collector health beyond blocks (alerts/health.py builds those at the moment they happen):
data gone stale, and one source's parser failing pass after pass."""

from __future__ import annotations

from alerts.rules.base import Context, Finding
from alerts.rules.facts import ParserFacts, StaleFacts
from monitor.models import PLATFORMS
from monitor.store import Store


def run(store: Store, ctx: Context) -> list[Finding]:
    rule = ctx.config.alerts.health
    findings = []
    runs = store.signals.source_runs()
    enabled = {"weibo": ctx.config.weibo.enabled, "douyin": ctx.config.douyin.enabled}
    for platform in PLATFORMS:
        if not enabled[platform]:
            continue
        times = [r.last_success_at for r in runs if r.platform == platform and r.last_success_at]
        stored = store.signals.latest_reading_at(platform)
        if stored:
            times.append(stored)
        if not times:
            continue  # never collected: `pingfan doctor` says why, not an alert
        last = max(times)
        stale = (ctx.now - last).total_seconds()
        if stale < rule.stale_after:
            continue
        findings.append(
            Finding(
                rule="stale",
                kind="collector_health",
                platform=platform,
                subject_id=platform,
                severity="warning",
                facts=StaleFacts(platform, last, stale, rule.stale_after),
                volume=stale,
                evidence={
                    "last_reading_at": last.isoformat(),
                    "stale_seconds": round(stale),
                    "thresholds": {"stale_after_seconds": rule.stale_after},
                },
                cooldown=rule.stale_after,
                window=rule.stale_after,
                key=f"{platform}:stale",
            )
        )
    for source in runs:
        if source.last_status != "failed" or source.failures < rule.parser_failures:
            continue
        findings.append(
            Finding(
                rule="parser",
                kind="collector_health",
                platform=source.platform,  # type: ignore[arg-type]
                subject_id=source.platform,
                severity="warning",
                facts=ParserFacts(
                    platform=source.platform,
                    source=source.name,
                    failures=source.failures,
                    last_error=source.last_error,
                    threshold=rule.parser_failures,
                ),
                volume=float(source.failures),
                evidence={
                    "source": source.name,
                    "failures": source.failures,
                    "last_success_at": (
                        source.last_success_at.isoformat() if source.last_success_at else None
                    ),
                    "thresholds": {"parser_failures": rule.parser_failures},
                },
                cooldown=6 * 3600.0,
                window=6 * 3600.0,
                key=f"{source.platform}:parser:{source.name}",
            )
        )
    return findings
