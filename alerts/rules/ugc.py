"""UGC and nominations worth thanking or featuring, batched: one message at most every
`batch_every` (three a day by default), listing what was scored since the last batch."""

from __future__ import annotations

from alerts.rules.base import Context, Finding, post_url
from alerts.rules.facts import UgcFacts, UgcItemFacts
from monitor.store import Store
from nlp.ugc import select_ugc


def run(store: Store, ctx: Context) -> list[Finding]:
    rule = ctx.config.alerts.ugc
    state = store.outbox.rule_state("ugc", "batch")
    if state is not None and (ctx.now - state.fired_at).total_seconds() < rule.batch_every:
        return []
    after = int(state.data.get("after_pk", 0)) if state else 0
    through = store.signals.last_scored_post_pk()
    posts = store.signals.ugc_posts(
        after_pk=after, created_since=ctx.ago(rule.lookback), until=ctx.now
    )
    selection = select_ugc(
        ((post, post.text, post.ugc_score) for post in posts if post.pk <= through),
        min_score=rule.min_score,
        limit=rule.max_items,
    )
    if not selection.worth:
        return []
    items = tuple(
        UgcItemFacts(pick.item, pick.nomination, post_url(ctx, pick.item))
        for pick in selection.shown
    )
    evidence_items = [
        {
            "platform": item.post.platform,
            "id": item.post.id,
            "score": item.post.ugc_score,
            "nomination": item.nomination.role if item.nomination else None,
            "url": item.url,
        }
        for item in items
    ]
    return [
        Finding(
            rule="ugc",
            kind="ugc",
            platform=None,
            subject_id="ugc",
            severity="info",
            facts=UgcFacts(items=items, total=selection.worth, rule=rule),
            volume=float(selection.worth),
            evidence={
                "items": evidence_items,
                "total": selection.worth,
                "nominations": selection.nominations,
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
