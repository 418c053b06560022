"""What every rule shares: the context it runs in and the finding it returns.

A rule reads stored facts through the store's named queries (monitor/store/signals.py) at the
time `ctx.now` it is given (simulated time in the demo: no rule reads the clock) and returns
findings: what it found as facts (alerts/rules/facts.py), never words. The engine decides,
from the rule state, which findings become alerts, and words those (alerts/wording.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from alerts import safe_text
from alerts.rules.facts import Facts
from monitor.config import Config
from monitor.models import Platform
from monitor.store import Store
from monitor.store.signals import CommentFacts, PostFacts
from nlp.segment import keywords

Severity = Literal["info", "warning", "critical"]
# episode: fires once while the condition holds (escalations aside) and again only after it
# stopped holding for `cooldown`; once: at most once per key, ever; periodic: at most once per
# `cooldown` (batches).
Mode = Literal["episode", "once", "periodic"]


@dataclass(frozen=True)
class Context:
    config: Config
    now: datetime

    def ago(self, seconds: float) -> datetime:
        return self.now - timedelta(seconds=seconds)


@dataclass(frozen=True)
class Finding:
    rule: str
    kind: str
    platform: Platform | None
    subject_id: str
    severity: Severity
    facts: Facts
    level: float = 0.0  # escalation measure (a share, a ratio)
    volume: float = 0.0  # escalation measure (a count, a rate)
    url: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    mode: Mode = "episode"
    cooldown: float = 43200.0
    window: float = 3600.0  # the dedupe key's time bucket
    key: str | None = None  # the rule-state subject; default "platform:subject_id"
    escalates: bool = True
    silent: bool = False  # record the state, send nothing (a mark passed below a higher one)
    state_data: dict[str, Any] = field(default_factory=dict)

    @property
    def state_key(self) -> str:
        return self.key or f"{self.platform or '-'}:{self.subject_id}"


Rule = Callable[[Store, Context], list[Finding]]


def post_author(post: PostFacts) -> str:
    """Partners and the organiser by name; an ordinary user masked."""
    return safe_text.shown_author(post.author_kind, post.author_name, post.author_id)


def representative(comments: list[CommentFacts], limit: int = 3) -> tuple[CommentFacts, ...]:
    """Two or three representative comments, in the order given (most liked first), one per
    text as it would be quoted, none without words."""
    found = []
    seen: set[str] = set()
    for comment in comments:
        text = safe_text.quote(comment.text, 60)
        if text in seen or not text:
            continue
        seen.add(text)
        found.append(comment)
        if len(found) == limit:
            break
    return tuple(found)


def sample_evidence(samples: tuple[CommentFacts, ...]) -> list[dict[str, Any]]:
    return [
        {
            "author": safe_text.mask(comment.author_id),
            "likes": comment.likes or 0,
            "text": safe_text.quote(comment.text, 60),
            "id": comment.id,
        }
        for comment in samples
    ]


def top_terms(texts: list[str], k: int = 5) -> list[str]:
    if not texts:
        return []
    return [safe_text.quote(word, 12) for word, _ in keywords(texts, top_k=k)]


def post_url(ctx: Context, post: PostFacts) -> str | None:
    """The stored link, else the platform's own address for the post."""
    if post.url:
        return safe_text.safe_url(post.url)
    if post.platform == "weibo":
        return safe_text.safe_url(f"{ctx.config.weibo.base_url.rstrip('/')}/detail/{post.id}")
    return safe_text.safe_url(f"{ctx.config.douyin.base_url.rstrip('/')}/video/{post.id}")
