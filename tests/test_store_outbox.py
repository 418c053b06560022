"""The outbox in the store (alerts, rule state, mutes, delivery per sink): the same on both
back-ends. The dispatcher's behaviour over it is tests/test_alert_dispatch.py's."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.models import AlertRecord
from monitor.store import Store
from monitor.store.outbox import RuleState
from tests.support.factories import T0

pytestmark = pytest.mark.both_backends


def alert(n: int, kind: str = "trending", subject: str | None = "p1") -> AlertRecord:
    return AlertRecord(
        kind,
        "warning",
        f"热度上升 {n}",
        "…",
        f"{kind}:weibo:{n}",
        T0 + timedelta(minutes=n),
        platform="weibo",
        subject_id=subject,
    )


def state(rule: str = "trending", at_minutes: int = 0, **changes: object) -> RuleState:
    at = T0 + timedelta(minutes=at_minutes)
    fields: dict[str, object] = {
        "rule": rule,
        "subject": "weibo:p1",
        "window_key": "w1",
        "fired_at": at,
        "last_true_at": at,
        "level": 2.5,
        "volume": 40.0,
        "escalations": 0,
        "alert_id": None,
        "data": {"baseline": 3},
    }
    fields.update(changes)
    return RuleState(**fields)  # type: ignore[arg-type]


def test_an_alert_is_stored_once_by_its_dedupe_key(store: Store) -> None:
    assert store.outbox.enqueue_alert(alert(1), evidence={"posts": ["p1"]}) is True
    assert store.outbox.enqueue_alert(alert(1)) is False
    first = store.outbox.outbox_alert(1)
    assert first is not None and first.evidence == {"posts": ["p1"]} and first.state == "pending"


def test_a_rule_fires_once_with_its_state(store: Store) -> None:
    alert_id = store.outbox.fire_rule_alert(alert(1), state())
    assert alert_id is not None
    assert store.outbox.fire_rule_alert(alert(1), state(window_key="w2")) is None
    saved = store.outbox.rule_state("trending", "weibo:p1")
    assert saved == state(alert_id=alert_id)
    store.outbox.touch_rule_state("trending", "weibo:p1", T0 + timedelta(minutes=30))
    store.outbox.touch_rule_state("trending", "weibo:p1", T0 + timedelta(minutes=10))
    touched = store.outbox.rule_states("trending")["weibo:p1"]
    assert touched.last_true_at == T0 + timedelta(minutes=30)  # never moves back
    store.outbox.set_rule_last_run("trending", T0)
    store.outbox.set_rule_last_run("trending", T0 + timedelta(hours=1))
    assert store.outbox.rule_last_run("trending") == T0 + timedelta(hours=1)
    assert store.outbox.rule_last_run("quiet") is None


def test_mutes_run_until_their_end(store: Store) -> None:
    store.outbox.enqueue_alert(alert(1))
    assert store.outbox.mute_alert_subject(1, T0 + timedelta(hours=1), at=T0, by="tg:7")
    store.outbox.mute(None, "kol-9", T0 + timedelta(hours=2), at=T0)
    assert store.outbox.active_mutes(T0 + timedelta(minutes=90)) == {("", "kol-9")}
    assert store.outbox.unmute(None, "kol-9") is True
    assert store.outbox.unmute(None, "kol-9") is False
    assert store.outbox.mute_alert_subject(99, T0, at=T0) is False


def test_a_delivery_goes_pending_sending_sent_and_the_alert_with_it(store: Store) -> None:
    store.outbox.enqueue_alert(alert(1))
    store.outbox.register_sink("tg", "telegram", "f1", T0)
    store.outbox.register_sink("feishu", "feishu", "f2", T0)
    store.outbox.enqueue_alert(alert(2, kind="collector_health", subject="feishu"))
    for sink in ("tg", "feishu"):
        assert store.outbox.open_deliveries(sink, T0, skip_kinds=["collector_health"]) == 2
        assert store.outbox.open_deliveries(sink, T0) == 0
    assert [d.alert.id for d in store.outbox.due_deliveries("feishu", T0)] == [1]
    assert store.outbox.delivery_states(2) == {"tg": "pending", "feishu": "skipped"}
    store.outbox.mark_sending("tg", [1, 2])
    (crashed, _) = store.outbox.due_deliveries("tg", T0)
    assert crashed.possible_duplicate and crashed.attempts == 1
    store.outbox.mark_delivered("tg", [1, 2], "sent", T0, messages=3)
    assert store.outbox.sent_since("tg", T0) == 3 and store.outbox.unsent_count("tg") == 0
    second = store.outbox.outbox_alert(2)
    assert second is not None and second.state == "sent"  # every sink is done with it
    first = store.outbox.outbox_alert(1)
    assert first is not None and first.state == "pending"  # feishu still owes it
    assert store.reports.alert_states() == {"pending": 1, "sent": 1}


def test_a_retry_waits_and_remembers_an_unknown_outcome(store: Store) -> None:
    store.outbox.register_sink("tg", "telegram", "f1", T0)
    store.outbox.enqueue_alert(alert(1))
    store.outbox.enqueue_alert(alert(2))
    store.outbox.open_deliveries("tg", T0)
    store.outbox.mark_parts_sent("tg", [1], 2)
    store.outbox.mark_parts_sent("tg", [1], 1)
    later = T0 + timedelta(minutes=5)
    store.outbox.mark_retry("tg", [1], later, "timeout", outcome_unknown=True)
    store.outbox.mark_retry("tg", [1], later, "HTTP 502")
    assert store.outbox.due_deliveries("tg", T0) == []  # nothing overtakes the retry
    (retried, _) = store.outbox.due_deliveries("tg", later)
    assert (retried.parts_sent, retried.outcome_unknown) == (2, True)


def test_a_new_sink_starts_at_the_first_pending_alert_and_a_new_fingerprint_mends_it(
    store: Store,
) -> None:
    store.outbox.register_sink("tg", "telegram", "f1", T0)
    for n in (1, 2):
        store.outbox.enqueue_alert(alert(n))
    store.outbox.open_deliveries("tg", T0)
    store.outbox.mark_delivered("tg", [1], "sent", T0)
    assert store.outbox.register_sink("wecom", "wecom", "w", T0).last_alert_id == 1
    assert store.outbox.mark_sink_broken("wecom", "HTTP 404", T0) is True
    assert store.outbox.mark_sink_broken("wecom", "HTTP 404", T0) is False
    mended = store.outbox.register_sink("wecom", "wecom", "w2", T0)
    assert mended.broken_at is None and mended.fingerprint == "w2"
