"""Partner KOLs: an upload (a partner posted), and a partner silent for `silent_after`."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from alerts.rules.base import Context, Finding, post_url
from alerts.rules.facts import KolSilentFacts, KolUploadFacts
from monitor.config import KolConfig
from monitor.store import Store


def run(store: Store, ctx: Context) -> list[Finding]:
    rule = ctx.config.alerts.kol
    by_platform: dict[str, list[KolConfig]] = defaultdict(list)
    for kol in ctx.config.kols:
        by_platform[kol.platform].append(kol)
    findings: list[Finding] = []
    enabled = {"weibo": ctx.config.weibo.enabled, "douyin": ctx.config.douyin.enabled}
    for platform, kols in by_platform.items():
        if not enabled.get(platform, False):
            continue  # not collected: silence would be ours, not theirs
        ids = [k.id for k in kols]
        if rule.uploads:
            findings += _uploads(store, ctx, platform, kols)
        latest = store.signals.latest_post_times(platform, ids)
        watching_since = store.signals.first_seen(platform)
        for kol in kols:
            last = latest.get(kol.id)
            since = last or watching_since
            if since is None:
                continue  # nothing collected from this platform yet: no opinion
            silent = ctx.now - since
            if silent < timedelta(seconds=rule.silent_after):
                continue
            days = int(silent.total_seconds() // 86400)
            findings.append(
                Finding(
                    rule="kol_silent",
                    kind="kol_silent",
                    platform=kol.platform,
                    subject_id=kol.id,
                    severity="warning",
                    facts=KolSilentFacts(
                        name=kol.name,
                        days=days,
                        last_post_at=last,
                        watching_since=since,
                        silent_after=rule.silent_after,
                    ),
                    level=0.0,
                    volume=float(days),
                    evidence={
                        "kol": {"platform": kol.platform, "id": kol.id, "name": kol.name},
                        "last_post_at": last.isoformat() if last else None,
                        "silent_days": days,
                        "thresholds": {"silent_after_seconds": rule.silent_after},
                    },
                    cooldown=rule.cooldown,
                    window=rule.silent_after,
                )
            )
    return findings


def _uploads(store: Store, ctx: Context, platform: str, kols: list[KolConfig]) -> list[Finding]:
    rule = ctx.config.alerts.kol
    names = {k.id: k.name for k in kols}
    findings = []
    for post in store.signals.posts_of_authors(
        platform, list(names), since=ctx.ago(rule.recent), until=ctx.now
    ):
        findings.append(
            Finding(
                rule="kol_upload",
                kind="kol_upload",
                platform=post.platform,  # type: ignore[arg-type]
                subject_id=post.id,
                severity="info",
                facts=KolUploadFacts(names.get(post.author_id, post.author_name), post),
                url=post_url(ctx, post),
                evidence={
                    "kol": {
                        "platform": platform,
                        "id": post.author_id,
                        "name": names.get(post.author_id),
                    },
                    "post": {"id": post.id, "created_at": post.created_at.isoformat()},
                    "thresholds": {"recent_seconds": rule.recent},
                },
                mode="once",
                escalates=False,
            )
        )
    return findings
