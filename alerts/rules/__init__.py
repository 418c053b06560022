"""The alert rules, each a function of stored facts at a given time (alerts/rules/base.py).

An explicit registry: the engine runs these, in this order, when the rule is enabled.
"""

from __future__ import annotations

from collections.abc import Callable

from alerts.rules import coordination, health, kol, milestones, negative, trending, ugc
from alerts.rules.base import Context, Finding, Rule
from monitor.config import AlertsConfig

__all__ = ["RULES", "Context", "Finding", "Rule", "enabled_rules"]

# name → (the rule, is it enabled in this config?)
RULES: dict[str, tuple[Rule, Callable[[AlertsConfig], bool]]] = {
    "health": (health.run, lambda a: a.health.enabled),
    "negative_thread": (negative.run, lambda a: a.negative_thread.enabled),
    "trending": (trending.run, lambda a: a.trending.enabled),
    "milestones": (milestones.run, lambda a: a.milestones.enabled),
    "kol": (kol.run, lambda a: a.kol.enabled),
    "coordination": (coordination.run, lambda a: a.coordination.enabled),
    "ugc": (ugc.run, lambda a: a.ugc.enabled),
}


def enabled_rules(config: AlertsConfig) -> list[tuple[str, Rule]]:
    return [(name, run) for name, (run, enabled) in RULES.items() if enabled(config)]
