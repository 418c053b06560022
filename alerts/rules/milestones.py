"""Milestones: a topic's views (Weibo reads, Douyin challenge views) crossing configured marks.

Each mark fires at most once per (platform, topic). When a reading jumps over several marks at
once, only the highest is announced; the lower ones are recorded silently.
"""

from __future__ import annotations

from alerts.rules.base import Context, Finding
from alerts.rules.facts import MilestoneFacts
from monitor.store import Store


def run(store: Store, ctx: Context) -> list[Finding]:
    rule = ctx.config.alerts.milestones
    marks = sorted(set(rule.views))
    if not marks:
        return []
    done = store.outbox.rule_states("milestone")
    findings = []
    for point in store.signals.latest_topic_points(ctx.now):
        if point.views is None:
            continue
        crossed = [m for m in marks if point.views >= m]
        fresh = [m for m in crossed if f"{point.platform}:{point.topic}:{m}" not in done]
        if not fresh:
            continue
        for mark in fresh:
            highest = mark == fresh[-1]
            findings.append(
                Finding(
                    rule="milestone",
                    kind="milestone",
                    platform=point.platform,  # type: ignore[arg-type]
                    subject_id=point.topic,
                    severity="info",
                    facts=MilestoneFacts(
                        platform=point.platform,
                        topic=point.topic,
                        views=point.views,
                        read_at=point.at,
                        mark=mark,
                        marks=tuple(marks),
                    ),
                    level=float(mark),
                    volume=float(point.views),
                    evidence={
                        "topic": point.topic,
                        "views": point.views,
                        "mark": mark,
                        "read_at": point.at.isoformat(),
                        "thresholds": {"marks": marks},
                    },
                    mode="once",
                    key=f"{point.platform}:{point.topic}:{mark}",
                    escalates=False,
                    silent=not highest,
                )
            )
    return findings
