"""The alert outbox: an alert is stored before it is sent; its dedupe key makes it once-only.

Rules write an alert together with the rule state that records it fired, in one transaction.
The dispatcher then tracks delivery per (alert, sink): `pending` → `sending` (committed before
the request goes out) → `sent`, or `coalesced` into a burst summary, `skipped` (below the
sink's severity, or a sink's own health line), `muted`, `rejected` (the service refused that
one message). A delivery found `sending` after a crash is sent again, flagged as a possible
duplicate: at-least-once, never lost, and a restart never re-sends what was marked sent. So
is a delivery whose earlier attempt may have been accepted (`outcome_unknown`: a timeout
after the request went out). A message split into parts records each part the service
accepted (`parts_sent`), so a retry sends only the rest. A delivery records how many messages
its service received (`messages`: a split alert is several), so a sink's rate limit counts
messages across restarts.

Several workers on one PostgreSQL database share the outbox by claims. A worker claims a
sink's due deliveries (`claim_due`: the sink's row locked `FOR UPDATE` while it looks, so two
workers never claim the same delivery) until `claimed_until`, by the database server's clock,
so the workers' own clocks never matter. Order is kept across workers: while another worker
holds a live claim on the sink's first unsent delivery, the sink is its. `mark_sending`
succeeds only for the claim's holder (a worker whose claim was taken over sends nothing) and
renews the claim; a final state or a retry clears it. A worker that dies holding claims: they
expire, and another worker sends those deliveries, flagged as possible duplicates when they
were found `sending`: at-least-once across a crash (the service may have taken the message
just before it), exactly once without one. Alert ids are handed out in commit order (an
advisory lock around the insert), so a sink's `last_alert_id` never passes an alert committed
late. SQLite has one process (the run lock): it never claims, and pays nothing for it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from monitor.models import AlertRecord, from_iso, to_utc_iso
from monitor.store.connection import Queries
from monitor.store.rows import record_of, time_of

FINAL_STATES = ("sent", "coalesced", "skipped", "muted", "rejected")
CLAIM_TTL = 300.0  # seconds a claim holds by the database's clock, renewed at each send
# Alert inserts on PostgreSQL take this transaction lock, so ids are committed in order.
_ALERT_ID_LOCK = 7_204_519_325


@dataclass(frozen=True)
class RuleState:
    rule: str
    subject: str
    window_key: str
    fired_at: datetime
    last_true_at: datetime
    level: float
    volume: float
    escalations: int
    alert_id: int | None
    data: dict[str, Any]


@dataclass(frozen=True)
class OutboxAlert:
    """An alert as the outbox holds it: for the dispatcher, the bot and the weekly digest."""

    id: int
    kind: str
    severity: str
    platform: str | None
    subject_id: str | None
    title: str
    text: str
    url: str | None
    created_at: datetime
    dedupe_key: str
    evidence: dict[str, Any]
    state: str  # pending | sent (delivered everywhere)
    acked_at: datetime | None  # the first acknowledgement in the chat, if any
    acked_by: str | None


@dataclass(frozen=True)
class Delivery:
    alert: OutboxAlert
    sink: str
    state: str  # pending | sending
    attempts: int
    parts_sent: int = 0  # parts of a split message the service has accepted
    outcome_unknown: bool = False  # an earlier attempt may have been accepted

    @property
    def possible_duplicate(self) -> bool:
        """May the service already have this one? (a crash while sending, or an attempt
        whose outcome is unknown)"""
        return self.state == "sending" or self.outcome_unknown


class _ClaimLost(Exception):
    """Another worker holds one of the deliveries now (ours expired): send nothing."""


@dataclass(frozen=True)
class Claim:
    """Who claims deliveries (one dispatcher of one worker), and for how long."""

    worker: str
    ttl: float = CLAIM_TTL  # seconds, by the database server's clock


@dataclass(frozen=True)
class SinkRow:
    sink: str
    type: str
    last_alert_id: int
    fingerprint: str
    broken_at: datetime | None
    broken_reason: str | None


# The columns `outbox_alert_of` reads: the alert (`a`) and its acknowledgement (`k`, joined by
# `ALERT_ACK_JOIN`).
ALERT_COLUMNS = (
    "a.id, a.kind, a.severity, a.platform, a.subject_id, a.title, a.text, a.url, a.created_at,"
    " a.dedupe_key, a.evidence, a.state, k.acked_at, k.acked_by"
)
ALERT_ACK_JOIN = "LEFT JOIN alert_acks k ON k.alert_id = a.id"


def outbox_alert_of(row: Mapping[str, Any]) -> OutboxAlert:
    return record_of(
        OutboxAlert,
        row,
        created_at=time_of(row),
        evidence=json.loads(row["evidence"]) if row["evidence"] else {},
        acked_at=time_of(row, "acked_at"),
    )


_STATE_COLUMNS = (
    "rule, subject, window_key, fired_at, last_true_at, level, volume, escalations, alert_id, data"
)


def _state(row: Mapping[str, Any]) -> RuleState:
    return RuleState(
        rule=row["rule"],
        subject=row["subject"],
        window_key=row["window_key"],
        fired_at=from_iso(row["fired_at"]),
        last_true_at=from_iso(row["last_true_at"]),
        level=row["level"],
        volume=row["volume"],
        escalations=row["escalations"],
        alert_id=row["alert_id"],
        data=json.loads(row["data"]) if row["data"] else {},
    )


class OutboxQueries(Queries):
    # --- enqueueing -------------------------------------------------------------------

    def enqueue_alert(
        self,
        alert: AlertRecord,
        *,
        url: str | None = None,
        evidence: Mapping[str, Any] | None = None,
        rule: str | None = None,
    ) -> bool:
        """Put an alert in the outbox; False if its dedupe key is already there."""
        with self.sql.atomic():
            return self._insert_alert(alert, url, evidence, rule) is not None

    def _insert_alert(
        self,
        alert: AlertRecord,
        url: str | None,
        evidence: Mapping[str, Any] | None,
        rule: str | None,
    ) -> int | None:
        if self.shared:  # inside the caller's transaction: held until it commits
            self.sql.execute("SELECT pg_advisory_xact_lock(?)", (_ALERT_ID_LOCK,))
        inserted = self.sql.execute(
            "INSERT INTO alerts (campaign, dedupe_key, kind, severity, platform, subject_id,"
            " title, text, created_at, next_attempt_at, url, evidence, rule)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (campaign, dedupe_key) DO NOTHING RETURNING id",
            (
                self.campaign,  # the campaign's own key: a post in two alerts in both
                alert.dedupe_key,
                alert.kind,
                alert.severity,
                alert.platform,
                alert.subject_id,
                alert.title,
                alert.text,
                to_utc_iso(alert.created_at),
                to_utc_iso(alert.created_at),
                url,
                json.dumps(evidence, ensure_ascii=False, sort_keys=True) if evidence else None,
                rule,
            ),
        ).fetchall()
        return int(inserted[0][0]) if inserted else None

    # --- rule state -------------------------------------------------------------------

    def rule_state(self, rule: str, subject: str) -> RuleState | None:
        row = self._named(
            f"SELECT {_STATE_COLUMNS} FROM rule_state WHERE campaign = ? AND rule = ?"
            " AND subject = ?",
            (self.campaign, rule, subject),
        ).fetchone()
        return _state(row) if row else None

    def rule_states(self, rule: str) -> dict[str, RuleState]:
        rows = self._named(
            f"SELECT {_STATE_COLUMNS} FROM rule_state WHERE campaign = ? AND rule = ?",
            (self.campaign, rule),
        ).fetchall()
        return {row["subject"]: _state(row) for row in rows}

    def fire_rule_alert(
        self,
        alert: AlertRecord,
        state: RuleState,
        *,
        url: str | None = None,
        evidence: Mapping[str, Any] | None = None,
    ) -> int | None:
        """The alert and the rule state that records it, in one transaction. Returns the new
        alert's id, or None when its dedupe key was already there (nothing is written)."""
        with self.sql.atomic():
            alert_id = self._insert_alert(alert, url, evidence, state.rule)
            if alert_id is None:
                return None
            self._put_state(state, alert_id)
            return alert_id

    def save_rule_state(self, state: RuleState) -> None:
        """Record state without an alert (a mark passed silently, a batch cursor)."""
        with self.sql.atomic():
            self._put_state(state, state.alert_id)

    def touch_rule_state(self, rule: str, subject: str, at: datetime) -> None:
        """The condition still holds at `at`: the episode goes on (no new alert)."""
        with self.sql.atomic():
            self.sql.execute(
                "UPDATE rule_state SET"
                f" last_true_at = {self.sql.dialect.greatest('last_true_at', '?')}"
                " WHERE campaign = ? AND rule = ? AND subject = ?",
                (to_utc_iso(at), self.campaign, rule, subject),
            )

    def rule_last_run(self, rule: str) -> datetime | None:
        """When the engine last ran `rule` (an episode goes on while each run sees it)."""
        row = self.sql.execute(
            "SELECT fired_at FROM rule_state WHERE campaign = ? AND rule = 'engine'"
            " AND subject = ?",
            (self.campaign, rule),
        ).fetchone()
        return from_iso(row[0]) if row else None

    def set_rule_last_run(self, rule: str, at: datetime) -> None:
        with self.sql.atomic():
            self.sql.execute(
                "INSERT INTO rule_state (campaign, rule, subject, window_key, fired_at,"
                " last_true_at, level, volume) VALUES (?, 'engine', ?, '', ?, ?, 0, 0)"
                " ON CONFLICT (campaign, rule, subject) DO UPDATE SET"
                " fired_at = excluded.fired_at, last_true_at = excluded.last_true_at",
                (self.campaign, rule, to_utc_iso(at), to_utc_iso(at)),
            )

    def _put_state(self, state: RuleState, alert_id: int | None) -> None:
        self.sql.execute(
            "INSERT INTO rule_state (campaign, rule, subject, window_key, fired_at,"
            " last_true_at, level, volume, escalations, alert_id, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (campaign, rule, subject) DO UPDATE SET"
            " window_key = excluded.window_key,"
            " fired_at = excluded.fired_at, last_true_at = excluded.last_true_at,"
            " level = excluded.level, volume = excluded.volume,"
            " escalations = excluded.escalations, alert_id = excluded.alert_id,"
            " data = excluded.data",
            (
                self.campaign,
                state.rule,
                state.subject,
                state.window_key,
                to_utc_iso(state.fired_at),
                to_utc_iso(state.last_true_at),
                state.level,
                state.volume,
                state.escalations,
                alert_id,
                json.dumps(state.data, ensure_ascii=False, sort_keys=True) if state.data else None,
            ),
        )

    # --- mutes ------------------------------------------------------------------------

    def mute(
        self,
        platform: str | None,
        subject_id: str,
        until: datetime,
        *,
        at: datetime,
        by: str | None = None,
        reason: str | None = None,
    ) -> None:
        """Hold every alert about (platform, subject) until `until`."""
        with self.sql.atomic():
            self.sql.execute(
                "INSERT INTO mutes (campaign, platform, subject_id, until, muted_by, muted_at,"
                " reason) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (campaign, platform, subject_id) DO UPDATE SET"
                " until = excluded.until, muted_by = excluded.muted_by,"
                " muted_at = excluded.muted_at, reason = excluded.reason",
                (
                    self.campaign,
                    platform or "",
                    subject_id,
                    to_utc_iso(until),
                    by,
                    to_utc_iso(at),
                    reason,
                ),
            )

    def mute_alert_subject(
        self, alert_id: int, until: datetime, *, at: datetime, by: str | None = None
    ) -> bool:
        """Mute the subject of alert `alert_id` (the chat's mute button); False if unknown."""
        row = self._named(
            "SELECT platform, subject_id FROM alerts WHERE id = ? AND campaign = ?",
            (alert_id, self.campaign),
        ).fetchone()
        if row is None or row["subject_id"] is None:
            return False
        self.mute(
            row["platform"], row["subject_id"], until, at=at, by=by, reason=f"alert {alert_id}"
        )
        return True

    def unmute(self, platform: str | None, subject_id: str) -> bool:
        with self.sql.atomic():
            cursor = self.sql.execute(
                "DELETE FROM mutes WHERE campaign = ? AND platform = ? AND subject_id = ?",
                (self.campaign, platform or "", subject_id),
            )
            return cursor.rowcount > 0

    def active_mutes(self, at: datetime) -> set[tuple[str, str]]:
        """(platform or '', subject id) of every mute still running at `at`."""
        rows = self.sql.execute(
            "SELECT platform, subject_id FROM mutes WHERE campaign = ? AND until > ?",
            (self.campaign, to_utc_iso(at)),
        ).fetchall()
        return {(platform, subject) for platform, subject in rows}

    # --- delivery per sink ------------------------------------------------------------
    # A sink delivers its campaign's alerts: its rows are named within the campaign
    # (`_sink_key`), and `open_deliveries` opens the campaign's alerts only.

    def register_sink(self, sink: str, type_: str, fingerprint: str, at: datetime) -> SinkRow:
        """The sink's row, created on first sight: a new sink delivers every alert that is not
        yet sent everywhere. A changed fingerprint (token, URL, chat) clears `broken`."""
        key = self._sink_key(sink)
        with self.sql.atomic():
            row = self.sql.execute(
                "SELECT fingerprint FROM alert_sinks WHERE sink = ?", (key,)
            ).fetchone()
            if row is None:
                start = self.sql.execute(
                    "SELECT coalesce((SELECT min(id) - 1 FROM alerts WHERE state = 'pending'"
                    " AND campaign = ?1), (SELECT max(id) FROM alerts WHERE campaign = ?1), 0)",
                    (self.campaign,),
                ).fetchone()[0]
                self.sql.execute(
                    "INSERT INTO alert_sinks (sink, type, last_alert_id, fingerprint,"
                    " first_seen) VALUES (?, ?, ?, ?, ?) ON CONFLICT (sink) DO NOTHING",
                    (key, type_, start, fingerprint, to_utc_iso(at)),
                )
            elif row[0] != fingerprint:
                self.sql.execute(
                    "UPDATE alert_sinks SET fingerprint = ?, broken_at = NULL,"
                    " broken_reason = NULL WHERE sink = ?",
                    (fingerprint, key),
                )
        return self.sink_row(sink)

    def sink_row(self, sink: str) -> SinkRow:
        row = self._named(
            "SELECT sink, type, last_alert_id, fingerprint, broken_at, broken_reason"
            " FROM alert_sinks WHERE sink = ?",
            (self._sink_key(sink),),
        ).fetchone()
        if row is None:
            raise KeyError(sink)
        return SinkRow(
            sink=sink,
            type=row["type"],
            last_alert_id=row["last_alert_id"],
            fingerprint=row["fingerprint"],
            broken_at=from_iso(row["broken_at"]) if row["broken_at"] else None,
            broken_reason=row["broken_reason"],
        )

    def mark_sink_broken(self, sink: str, reason: str, at: datetime) -> bool:
        """True when this call broke it (it was not broken already)."""
        with self.sql.atomic():
            cursor = self.sql.execute(
                "UPDATE alert_sinks SET broken_at = ?, broken_reason = ?"
                " WHERE sink = ? AND broken_at IS NULL",
                (to_utc_iso(at), reason, self._sink_key(sink)),
            )
            return cursor.rowcount == 1

    def open_deliveries(self, sink: str, at: datetime, *, skip_kinds: Iterable[str] = ()) -> int:
        """Create the sink's pending delivery rows for alerts it has not seen; how many."""
        skip = tuple(skip_kinds)
        key = self._sink_key(sink)
        with self.sql.atomic():
            last = self.sql.execute(
                f"SELECT last_alert_id FROM alert_sinks WHERE sink = ?{self._for_update}", (key,)
            ).fetchone()[0]
            rows = self.sql.execute(
                "SELECT id, kind, subject_id FROM alerts WHERE id > ? AND campaign = ? ORDER BY id",
                (last, self.campaign),
            ).fetchall()
            if not rows:
                return 0
            self.sql.executemany(
                "INSERT INTO alert_deliveries (alert_id, sink, state, next_attempt_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [
                    (
                        alert_id,
                        key,
                        # a sink's own health line is for the other sinks
                        "skipped" if kind in skip and subject == sink else "pending",
                        to_utc_iso(at),
                    )
                    for alert_id, kind, subject in rows
                ],
            )
            self.sql.execute(
                "UPDATE alert_sinks SET last_alert_id = ? WHERE sink = ?", (rows[-1][0], key)
            )
            return len(rows)

    def due_deliveries(self, sink: str, at: datetime, limit: int = 500) -> list[Delivery]:
        """The sink's unsent deliveries, in alert order, up to the first that must wait for
        its retry time (order is kept: nothing overtakes a delivery being retried)."""
        return [delivery for delivery, _ in self._due(sink, at, limit)]

    def claim_due(self, sink: str, at: datetime, claim: Claim, limit: int = 500) -> list[Delivery]:
        """The sink's due deliveries (as `due_deliveries`), claimed for `claim.worker`: none
        while another worker's live claim holds the sink's first unsent delivery, and never
        one claimed live by another. SQLite (one process) claims nothing."""
        if not self.shared:
            return self.due_deliveries(sink, at, limit)
        key = self._sink_key(sink)  # the campaign's sink: another campaign's is never claimed
        with self.sql.atomic():
            locked = self.sql.execute(
                f"SELECT sink FROM alert_sinks WHERE sink = ?{self._for_update}", (key,)
            ).fetchone()
            if locked is None:
                return []
            db_now = self._database_now()
            moment = to_utc_iso(db_now)
            claimed: list[Delivery] = []
            for delivery, row in self._due(sink, at, limit):
                holder, until = row["claimed_by"], row["claimed_until"]
                if holder not in (None, claim.worker) and until is not None and until > moment:
                    break  # another worker is on it: what follows is theirs to send in order
                claimed.append(delivery)
            if claimed:
                self._set_claims(key, [d.alert.id for d in claimed], claim, db_now)
            return claimed

    def release_claims(self, sink: str, worker: str) -> None:
        """Give back what `worker` claimed and did not send (held, waiting for a retry)."""
        if not self.shared:
            return
        with self.sql.atomic():
            self.sql.execute(
                "UPDATE alert_deliveries SET claimed_by = NULL, claimed_until = NULL"
                " WHERE sink = ? AND claimed_by = ? AND state = 'pending'",
                (self._sink_key(sink), worker),
            )

    def release_all_claims(self, worker: str) -> int:
        """`worker` stops: every claim it holds goes back, a `sending` one too (the next
        worker sends it as a possible duplicate at once, not after the claim's expiry)."""
        if not self.shared:
            return 0
        with self.sql.atomic():
            return self.sql.execute(
                "UPDATE alert_deliveries SET claimed_by = NULL, claimed_until = NULL"
                " WHERE claimed_by = ? AND state IN ('pending', 'sending')",
                (worker,),
            ).rowcount

    def _due(self, sink: str, at: datetime, limit: int) -> list[tuple[Delivery, Mapping[str, Any]]]:
        rows = self._named(
            f"SELECT {ALERT_COLUMNS}, d.state AS delivery_state, d.attempts, d.parts_sent,"
            " d.outcome_unknown, d.next_attempt_at, d.claimed_by, d.claimed_until"
            f" FROM alert_deliveries d JOIN alerts a ON a.id = d.alert_id {ALERT_ACK_JOIN}"
            " WHERE d.sink = ? AND d.state IN ('pending', 'sending') ORDER BY d.alert_id LIMIT ?",
            (self._sink_key(sink), limit),
        ).fetchall()
        due = []
        moment = to_utc_iso(at)
        for row in rows:
            if row["next_attempt_at"] > moment:
                break
            delivery = Delivery(
                alert=outbox_alert_of(row),
                sink=sink,
                state=row["delivery_state"],
                attempts=row["attempts"],
                parts_sent=row["parts_sent"],
                outcome_unknown=bool(row["outcome_unknown"]),
            )
            due.append((delivery, row))
        return due

    @property
    def shared(self) -> bool:
        """Can other workers share this outbox? (PostgreSQL; SQLite has one process)"""
        return self.sql.dialect.name == "postgresql"

    @property
    def _for_update(self) -> str:
        return " FOR UPDATE" if self.shared else ""

    def _database_now(self) -> datetime:
        """The database server's time: claims expire by it, whatever the workers' clocks say."""
        return from_iso(self.sql.execute(f"SELECT {self.sql.dialect.now_iso}").fetchone()[0])

    def _set_claims(
        self, key: str, alert_ids: Sequence[int], claim: Claim, db_now: datetime
    ) -> int:
        """Claim (or renew) these deliveries of the sink named `key` (`_sink_key`) for
        `claim.worker` where no other worker holds them; how many it holds now."""
        marks = ", ".join("?" * len(alert_ids))
        cursor = self.sql.execute(
            "UPDATE alert_deliveries SET claimed_by = ?, claimed_until = ?"
            f" WHERE sink = ? AND alert_id IN ({marks}) AND state IN ('pending', 'sending')"
            " AND (claimed_by IS NULL OR claimed_by = ? OR claimed_until <= ?)",
            (
                claim.worker,
                to_utc_iso(db_now + timedelta(seconds=claim.ttl)),
                key,
                *alert_ids,
                claim.worker,
                to_utc_iso(db_now),
            ),
        )
        return cursor.rowcount

    def unsent_count(self, sink: str) -> int:
        sink = self._sink_key(sink)
        return self.sql.execute(
            "SELECT count(*) FROM alert_deliveries WHERE sink = ? AND state IN"
            " ('pending', 'sending')",
            (sink,),
        ).fetchone()[0]

    def mark_sending(self, sink: str, alert_ids: Sequence[int], claim: Claim | None = None) -> bool:
        """Committed before the request goes out: after a crash, these may have been sent.
        With a `claim` on a shared outbox, only while `claim.worker` still holds every one of
        them (the claim renewed); False, and nothing written, when another worker took one."""
        sink = self._sink_key(sink)
        marks = ", ".join("?" * len(alert_ids))
        if claim is None or not self.shared:
            with self.sql.atomic():
                self.sql.execute(
                    "UPDATE alert_deliveries SET state = 'sending', attempts = attempts + 1"
                    f" WHERE sink = ? AND alert_id IN ({marks})",
                    (sink, *alert_ids),
                )
            return True
        try:
            with self.sql.atomic():
                until = self._database_now() + timedelta(seconds=claim.ttl)
                changed = self.sql.execute(
                    "UPDATE alert_deliveries SET state = 'sending', attempts = attempts + 1,"
                    f" claimed_until = ? WHERE sink = ? AND alert_id IN ({marks})"
                    " AND claimed_by = ? AND state IN ('pending', 'sending')",
                    (to_utc_iso(until), sink, *alert_ids, claim.worker),
                ).rowcount
                if changed != len(alert_ids):
                    raise _ClaimLost  # rolls the partial update back
        except _ClaimLost:
            return False
        return True

    def mark_delivered(
        self,
        sink: str,
        alert_ids: Sequence[int],
        state: str,
        at: datetime,
        *,
        error: str | None = None,
        coalesced_into: int | None = None,
        messages: int = 0,
    ) -> None:
        """A final state for these deliveries (their claims cleared); an alert delivered
        everywhere becomes `sent`. `messages`: what the service received for them, recorded
        on the first (a burst summary's messages are the burst's, once). A delivery already
        final (another worker's, after this one's claim expired) keeps its state."""
        if state not in FINAL_STATES:
            raise ValueError(f"{state!r} is not a final delivery state")
        sink = self._sink_key(sink)
        with self.sql.atomic():
            self.sql.executemany(
                "UPDATE alert_deliveries SET state = ?, sent_at = ?, last_error = ?,"
                " coalesced_into = ?, messages = ?, claimed_by = NULL, claimed_until = NULL"
                " WHERE sink = ? AND alert_id = ? AND state IN ('pending', 'sending')",
                [
                    (
                        state,
                        to_utc_iso(at),
                        error,
                        coalesced_into,
                        messages if index == 0 else 0,
                        sink,
                        alert_id,
                    )
                    for index, alert_id in enumerate(alert_ids)
                ],
            )
            self._finish_alerts(alert_ids, at)

    def mark_parts_sent(self, sink: str, alert_ids: Sequence[int], parts: int) -> None:
        """The service accepted the first `parts` parts of this split message (committed at
        once: a retry, even after a crash, sends only the rest)."""
        sink = self._sink_key(sink)
        with self.sql.atomic():
            self.sql.executemany(
                "UPDATE alert_deliveries"
                f" SET parts_sent = {self.sql.dialect.greatest('parts_sent', '?')}"
                " WHERE sink = ? AND alert_id = ?",
                [(parts, sink, alert_id) for alert_id in alert_ids],
            )

    def mark_retry(
        self,
        sink: str,
        alert_ids: Sequence[int],
        retry_at: datetime,
        error: str,
        *,
        outcome_unknown: bool = False,
        worker: str | None = None,
    ) -> None:
        """Back to pending until `retry_at`, the claim cleared. `outcome_unknown`: the failed
        attempt may have been accepted; every later attempt is marked as a possible duplicate
        (sticky). A delivery that another worker has claimed or finished since is left alone
        (`worker`: the claim's holder)."""
        sink = self._sink_key(sink)
        with self.sql.atomic():
            self.sql.executemany(
                "UPDATE alert_deliveries SET state = 'pending', next_attempt_at = ?,"
                " last_error = ?,"
                f" outcome_unknown = {self.sql.dialect.greatest('outcome_unknown', '?')},"
                " claimed_by = NULL, claimed_until = NULL"
                " WHERE sink = ? AND alert_id = ? AND state IN ('pending', 'sending')"
                " AND (claimed_by IS NULL OR claimed_by = ?)",
                [
                    (to_utc_iso(retry_at), error, int(outcome_unknown), sink, alert_id, worker)
                    for alert_id in alert_ids
                ],
            )
            self.sql.executemany(
                "UPDATE alerts SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                [(error, alert_id) for alert_id in alert_ids],
            )

    def sent_since(self, sink: str, since: datetime) -> int:
        """Messages the sink's service received since `since` (for its rate limit across
        restarts; a split alert counts each part)."""
        sink = self._sink_key(sink)
        row = self.sql.execute(
            "SELECT coalesce(sum(messages), 0) FROM alert_deliveries"
            " WHERE sink = ? AND sent_at >= ? AND state IN ('sent', 'coalesced')",
            (sink, to_utc_iso(since)),
        ).fetchone()
        return int(row[0])

    def delivery_states(self, alert_id: int) -> dict[str, str]:
        """State per sink of this campaign's sinks, by the sinks' own names."""
        prefix = self._sink_key("")
        rows = self.sql.execute(
            "SELECT sink, state FROM alert_deliveries WHERE alert_id = ?", (alert_id,)
        ).fetchall()
        return {sink.removeprefix(prefix): state for sink, state in rows if sink.startswith(prefix)}

    def _sink_key(self, sink: str) -> str:
        """How the sink is named in `alert_sinks` and `alert_deliveries`: within its campaign
        (campaigns.py), since two campaigns' configs may both have a "telegram" sink, each to
        its own chat, each delivering its own campaign's alerts only."""
        return f"{self.campaign}/{sink}" if self.campaign else sink

    def outbox_alert(self, alert_id: int) -> OutboxAlert | None:
        row = self._named(
            f"SELECT {ALERT_COLUMNS} FROM alerts a {ALERT_ACK_JOIN}"
            " WHERE a.id = ? AND a.campaign = ?",
            (alert_id, self.campaign),
        ).fetchone()
        return outbox_alert_of(row) if row else None

    def _finish_alerts(self, alert_ids: Sequence[int], at: datetime) -> None:
        if self.shared and alert_ids:
            # Two workers finishing an alert's last two sinks at once would each still see the
            # other's delivery unsent: the alert's row, locked, makes the second look again.
            marks = ", ".join("?" * len(alert_ids))
            self.sql.execute(
                f"SELECT id FROM alerts WHERE id IN ({marks}) ORDER BY id FOR UPDATE",
                tuple(alert_ids),
            ).fetchall()
        self.sql.executemany(
            "UPDATE alerts SET state = 'sent', sent_at = ? WHERE id = ? AND state = 'pending'"
            " AND NOT EXISTS (SELECT 1 FROM alert_deliveries WHERE alert_id = alerts.id"
            " AND state IN ('pending', 'sending'))",
            [(to_utc_iso(at), alert_id) for alert_id in alert_ids],
        )
