"""UGC and nominations worth thanking or featuring, batched: one message at most every
`batch_every` (three a day by default), listing what was scored since the last batch."""

from __future__ import annotations

from alerts import render
from alerts.rules.base import Context, Finding, post_author, post_url
from monitor.store import Store
from nlp.ugc import detect_nomination


def run(store: Store, ctx: Context) -> list[Finding]:
    rule = ctx.config.alerts.ugc
    state = store.outbox.rule_state("ugc", "batch")
    if state is not None and (ctx.now - state.fired_at).total_seconds() < rule.batch_every:
        return []
    after = int(state.data.get("after_pk", 0)) if state else 0
    through = store.signals.last_scored_post_pk()
    items = []
    for post in store.signals.ugc_posts(
        after_pk=after, created_since=ctx.ago(rule.lookback), until=ctx.now
    ):
        if post.pk > through:
            continue
        nomination = detect_nomination(post.text)
        if (post.ugc_score or 0) >= rule.min_score or nomination is not None:
            items.append((post, nomination))
    if not items:
        return []
    # nominations first, then by score
    items.sort(key=lambda item: (item[1] is None, -(item[0].ugc_score or 0), item[0].pk))
    shown = items[: rule.max_items]
    lines = []
    evidence_items = []
    for post, nomination in shown:
        nominated = (
            ctx.t(
                "ugc.nomination",
                role=render.quote(nomination.role, 12),
                person=render.quote(nomination.person or "", 12),
            )
            if nomination
            else ""
        )
        lines.append(
            ctx.t(
                "ugc.item",
                author=post_author(post),
                excerpt=render.quote(post.text, 50),
                score=f"{post.ugc_score or 0:.2f}",
                nomination=nominated,
            )
        )
        url = post_url(ctx, post)
        if url:
            lines.append(f"  {url}")
        evidence_items.append(
            {
                "platform": post.platform,
                "id": post.id,
                "score": post.ugc_score,
                "nomination": nomination.role if nomination else None,
                "url": url,
            }
        )
    lines.append(
        ctx.t(
            "rule",
            rule=ctx.t(
                "ugc.rule",
                min=rule.min_score,
                hours=render.hours(rule.batch_every),
                max=rule.max_items,
            ),
        )
    )
    lines.append(ctx.t("time", time=ctx.time(ctx.now)))
    return [
        Finding(
            rule="ugc",
            kind="ugc",
            platform=None,
            subject_id="ugc",
            severity="info",
            title=ctx.t("ugc.title", n=len(items)),
            text="\n".join(lines),
            volume=float(len(items)),
            evidence={
                "items": evidence_items,
                "total": len(items),
                "nominations": sum(1 for _, n in items if n is not None),
                "thresholds": {
                    "min_score": rule.min_score,
                    "batch_every_seconds": rule.batch_every,
                },
            },
            mode="periodic",
            cooldown=rule.batch_every,
            window=rule.batch_every,
            key="batch",
            escalates=False,
            state_data={"after_pk": through},
        )
    ]
