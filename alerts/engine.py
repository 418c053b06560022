"""`evaluate`: run every enabled rule over stored facts at `now`, apply the hygiene, enqueue.

Hygiene, per (rule, subject):
- one dedupe key per (rule, subject, window): `rule:platform:subject:window-start`;
- an episode fires once; while every run of the rule sees its condition it stays quiet
  (however far apart the runs are: the demo steps days at a time), and it ends only when the
  condition was not seen for `cooldown`: the next firing is a new episode;
- a re-alert only when it escalates: the share (or ratio) or the volume doubles, or the
  severity rises; at most `alerts.max_escalations` per episode, titled "升级：" / "Escalated: ";
- muted subjects (the `mutes` table) raise nothing;
- quiet hours are the dispatcher's business (alerts/dispatch.py): they hold, never drop.

Each alert is written with the rule state that records it, in one transaction; `now` is
passed in (simulated time in the demo) and no rule reads the clock. The rules return facts;
an alert is worded here, once, in [ui] language (alerts/wording.py), as it enters the outbox.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from alerts import wording
from alerts.rules import Context, Finding, enabled_rules
from monitor.config import Config
from monitor.models import AlertRecord, to_utc_iso
from monitor.store import Store
from monitor.store.outbox import RuleState

log = logging.getLogger(__name__)

_SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}


@dataclass(frozen=True)
class RuleAlert(AlertRecord):
    """An alert a rule raised: its outbox id, its link and the numbers that fired it."""

    id: int = 0
    url: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    action: Literal["fire", "escalate", "hold", "record"]
    window_key: str = ""
    escalations: int = 0


def window_start(now: datetime, seconds: float) -> datetime:
    """The start of the `seconds`-long bucket (counted from the epoch, UTC) holding `now`."""
    step = max(int(seconds), 1)
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % step, tz=UTC)


def decide(
    finding: Finding,
    state: RuleState | None,
    now: datetime,
    max_escalations: int,
    previous_run: datetime | None = None,
) -> Decision:
    """Pure hygiene: what to do with a finding, given the rule state of its subject and
    when the rule ran before. An episode goes on while every run sees its condition (however
    far apart the runs are), and ends once it was not seen for `cooldown`."""
    if finding.mode == "once":
        if state is not None:
            return Decision("hold")
        return Decision("record" if finding.silent else "fire", "once")
    if finding.mode == "periodic":
        if state is None or (now - state.fired_at).total_seconds() >= finding.cooldown:
            return Decision("fire", to_utc_iso(window_start(now, finding.window)))
        return Decision("hold")
    seen_last_run = (
        state is not None and previous_run is not None and state.last_true_at >= previous_run
    )
    if state is None or (
        not seen_last_run and (now - state.last_true_at).total_seconds() >= finding.cooldown
    ):
        return Decision("fire", to_utc_iso(window_start(now, finding.window)))
    if finding.escalates and state.escalations < max_escalations:
        before = _SEVERITY_RANK.get(str(state.data.get("severity")), 0)
        if (
            _SEVERITY_RANK[finding.severity] > before
            or (state.level > 0 and finding.level >= 2 * state.level)
            or (state.volume > 0 and finding.volume >= 2 * state.volume)
        ):
            return Decision("escalate", state.window_key, state.escalations + 1)
    return Decision("hold")


# Rules whose findings are leads, not news, over a long window: they need not run after
# every poll (coordination compares a day of comments, the costliest rule by far).
CADENCE: dict[str, float] = {"coordination": 6 * 3600.0}


def evaluate(store: Store, config: Config, now: datetime) -> list[AlertRecord]:
    """Run every enabled rule at `now` (the slow ones at their `CADENCE`); enqueue the new
    alerts (with their rule state) and return them, oldest rule first. A rule that fails is
    logged and the others still run."""
    ctx = Context(config, now)
    language, tz = config.ui.language, config.ui.timezone
    mutes = store.outbox.active_mutes(now)
    raised: list[AlertRecord] = []
    for name, rule in enabled_rules(config.alerts):
        previous_run = store.outbox.rule_last_run(name)
        every = CADENCE.get(name)
        if every and previous_run and (now - previous_run).total_seconds() < every:
            continue
        try:
            findings = rule(store, ctx)
            # worded here, so that a finding the catalogue cannot word fails its rule alone
            worded = [(f, wording.words(f.facts, language, tz, now)) for f in findings]
        except Exception:
            log.exception("alert rule %s failed at %s; the other rules go on", name, now)
            continue
        for finding, words in worded:
            if (finding.platform or "", finding.subject_id) in mutes:
                continue
            alert = _apply(store, ctx, finding, words, previous_run)
            if alert is not None:
                raised.append(alert)
        store.outbox.set_rule_last_run(name, now)
    return raised


def _apply(
    store: Store,
    ctx: Context,
    finding: Finding,
    words: tuple[str, str],
    previous_run: datetime | None,
) -> RuleAlert | None:
    state = store.outbox.rule_state(finding.rule, finding.state_key)
    decision = decide(finding, state, ctx.now, ctx.config.alerts.max_escalations, previous_run)
    if decision.action == "hold":
        if state is not None and finding.mode == "episode":
            store.outbox.touch_rule_state(finding.rule, finding.state_key, ctx.now)
        return None
    new_state = RuleState(
        rule=finding.rule,
        subject=finding.state_key,
        window_key=decision.window_key,
        fired_at=ctx.now,
        last_true_at=ctx.now,
        level=finding.level,
        volume=finding.volume,
        escalations=decision.escalations,
        alert_id=None,
        data={**finding.state_data, "severity": finding.severity},
    )
    if decision.action == "record":
        store.outbox.save_rule_state(new_state)
        return None
    title, text = words
    evidence = dict(finding.evidence)
    dedupe_key = f"{finding.rule}:{finding.state_key}:{decision.window_key}"
    if decision.action == "escalate":
        assert state is not None
        title = wording.escalated(ctx.config.ui.language, title)
        dedupe_key += f":esc{decision.escalations}"
        evidence["escalation"] = {
            "n": decision.escalations,
            "previous": {"level": state.level, "volume": state.volume, "alert_id": state.alert_id},
        }
    alert = RuleAlert(
        kind=finding.kind,
        severity=finding.severity,
        title=title,
        text=text,
        dedupe_key=dedupe_key,
        created_at=ctx.now,
        platform=finding.platform,
        subject_id=finding.subject_id,
        url=finding.url,
        evidence=evidence,
    )
    alert_id = store.outbox.fire_rule_alert(alert, new_state, url=alert.url, evidence=evidence)
    if alert_id is None:  # this exact alert is already in the outbox: the episode goes on
        if state is not None:
            store.outbox.touch_rule_state(finding.rule, finding.state_key, ctx.now)
        return None
    log.info("alert %s: %s", alert_id, dedupe_key)
    return RuleAlert(**{**alert.__dict__, "id": alert_id})
