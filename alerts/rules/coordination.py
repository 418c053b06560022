"""Suspected coordination: near-identical text from several accounts within minutes
(nlp/dedup.py). Worded as a lead for a person to check, never a verdict."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from alerts import safe_text
from alerts.rules.base import Context, Finding, post_url
from alerts.rules.facts import CoordinationFacts
from monitor.models import PLATFORMS
from monitor.store import Store
from nlp.dedup import Message, simhash, suspected_coordination


def run(store: Store, ctx: Context) -> list[Finding]:
    rule = ctx.config.alerts.coordination
    findings = []
    for platform in PLATFORMS:
        rows = store.signals.recent_messages(platform, since=ctx.ago(rule.lookback), until=ctx.now)
        if len(rows) < rule.min_accounts:
            continue
        by_id = {row.id: row for row in rows}
        suspects = suspected_coordination(
            [Message(r.id, r.author_id, r.text, r.created_at) for r in rows],
            window=timedelta(seconds=rule.window),
            min_accounts=rule.min_accounts,
            max_distance=rule.max_distance,
        )
        targets: list[str | None] = []  # each suspect's most replied-to post
        for suspect in suspects:
            posts = Counter(by_id[i].post_id for i in suspect.ids if i in by_id)
            targets.append(posts.most_common(1)[0][0] if posts else None)
        stored = store.signals.posts_by_keys((platform, t) for t in targets if t)
        for suspect, target_id in zip(suspects, targets, strict=True):
            fingerprint = f"{simhash(suspect.sample):016x}"
            target = stored.get((platform, target_id)) if target_id else None
            findings.append(
                Finding(
                    rule="coordination",
                    kind="coordination",
                    platform=platform,
                    subject_id=fingerprint,
                    severity="info",
                    facts=CoordinationFacts(suspect, rule),
                    level=float(len(suspect.authors)),
                    volume=float(len(suspect.ids)),
                    url=post_url(ctx, target) if target else None,
                    evidence={
                        "accounts": len(suspect.authors),
                        "messages": len(suspect.ids),
                        "first_at": suspect.first_at.isoformat(),
                        "last_at": suspect.last_at.isoformat(),
                        "sample": safe_text.quote(suspect.sample, 60),
                        "post": target_id,
                        "thresholds": {
                            "window_seconds": rule.window,
                            "min_accounts": rule.min_accounts,
                            "max_distance": rule.max_distance,
                        },
                    },
                    cooldown=rule.cooldown,
                    window=rule.lookback,
                )
            )
    return findings
