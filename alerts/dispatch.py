"""The dispatcher: sends what the outbox holds to every enabled sink, and records it.

    async with Dispatcher(config, store) as dispatcher:
        report = await dispatcher.dispatch_pending()

Per sink, in alert order:
- a delivery is marked `sending` (committed) before the request and `sent` after it, so a
  crash in between re-sends it once on restart, flagged "possible duplicate" with the same
  dedupe key, and a restart never re-sends what was marked sent;
- each sink has its service's rate limit (Telegram 1/s per chat and 20/min per group, WeCom
  and DingTalk 20/min, Feishu 100/min and 5/s), counted in messages the service receives (a
  long Telegram alert is several, a digest in Telegram a message and a document): each sink's
  `Meter` waits on the injected clock before every message, and a burst beyond the minute's
  budget is coalesced into one message, the coalesced alerts recorded as such for the digest;
- a throttled robot (DingTalk 130101, WeCom 45009) pauses that sink for 10 minutes, as their
  documentation says: the delivery waits that long and nothing overtakes it;
- a transient error (timeout, 5xx, rate limited) retries with exponential backoff, or after
  the service's own delay clamped to 1 s .. 1 h (`monitor.runtime.delays`: `Retry-After: inf`
  cannot overflow), and nothing overtakes the delivery being retried, so a sink that comes
  back gets everything once, in order; a rejected message is recorded and skipped;
- an attempt whose outcome is unknown (a timeout after the request went out, a bug in a
  sink) is recorded, and every later attempt is flagged "possible duplicate" in every sink;
  a split message (Telegram) records each part the service accepted and a retry sends only
  the rest;
- a failing sink is that sink's problem: whatever it raises, its delivery stays pending and
  is retried later, the failure is logged once (until the sink delivers again), and the
  other sinks and the daemon go on. Only the database's own errors stop a round;
- a permanent error (bad token, chat not found, bad webhook key) marks the sink broken until
  its configuration changes, logs one line and raises one health alert for the other sinks;
- below a sink's `min_severity`: skipped (except the weekly digest); a muted subject:
  muted; during `alerts.quiet_hours` only critical alerts go, the rest wait.
Secrets come from the environment variables the config names; they are never logged.

Several workers on one PostgreSQL database each run a dispatcher over the one outbox: a round
claims the sink's due deliveries for this dispatcher's `worker` (monitor/store/outbox.py), and
a delivery is sent only while its claim holds, so each alert reaches each sink once; a worker
that dies mid-round leaves claims that expire after `claim_ttl` seconds (the database's
clock), and another worker then sends what they held (a `sending` one flagged "possible
duplicate"). On SQLite nothing is claimed: one process owns the outbox.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from types import TracebackType
from zoneinfo import ZoneInfo

import aiohttp

from alerts import i18n, safe_text
from alerts.sinks import (
    Meter,
    Outgoing,
    PermanentError,
    RejectedError,
    Sink,
    TransientError,
    build_sinks,
)
from monitor.config import Config
from monitor.errors import StoreError
from monitor.models import AlertRecord, to_utc_iso, utc_now
from monitor.runtime.delays import clamp_delay
from monitor.store import Store
from monitor.store.outbox import CLAIM_TTL, Claim, Delivery

log = logging.getLogger(__name__)

_SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
SINK_HEALTH = "sink_health"
BACKOFF_FIRST = 30.0
BACKOFF_MAX = 900.0
_UNLIMITED = 1_000_000  # the budget of a sink without a per-minute limit
HTTP_TIMEOUT = 20.0


@dataclass(frozen=True)
class DispatchReport:
    sent: int = 0  # deliveries accepted (a coalesced burst counts once)
    failed: int = 0  # attempts that failed (to be retried, or rejected)
    coalesced: int = 0  # alerts folded into a burst summary
    held: int = 0  # waiting for the end of quiet hours
    broken_sinks: tuple[str, ...] = ()
    # messages each sink's service received (a split alert is several, a digest with its
    # document two), as counted against the sink's rate limit; sinks that sent none are absent
    messages: Mapping[str, int] = field(default_factory=dict)

    @property
    def message_count(self) -> int:
        return sum(self.messages.values())

    def summary(self) -> str:
        broken = f", broken: {', '.join(self.broken_sinks)}" if self.broken_sinks else ""
        return (
            f"alerts: sent {self.sent} ({self.message_count} messages), failed {self.failed},"
            f" coalesced {self.coalesced}, held {self.held}{broken}"
        )


@dataclass
class _Tally:
    sent: int = 0
    failed: int = 0
    coalesced: int = 0
    held: int = 0
    broken: set[str] = field(default_factory=set)
    messages: dict[str, int] = field(default_factory=dict)


def worker_name() -> str:
    """This dispatcher's name in its claims: host, process, and a random tail (two
    dispatchers of one process claim apart)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def backoff(attempts: int) -> float:
    """Seconds before retry number `attempts` (1, 2, …): 30 s doubling, at most 15 min."""
    return min(BACKOFF_FIRST * 2 ** max(attempts - 1, 0), BACKOFF_MAX)


def in_quiet_hours(spec: str, moment: datetime, tz: ZoneInfo) -> bool:
    """Is `moment` inside "HH:MM-HH:MM" (local to `tz`, may wrap past midnight)?"""
    if not spec:
        return False
    start_text, end_text = spec.split("-")
    start = time.fromisoformat(start_text)
    end = time.fromisoformat(end_text)
    local = moment.astimezone(tz).time().replace(tzinfo=None)
    if start <= end:
        return start <= local < end
    return local >= start or local < end


class Dispatcher:
    def __init__(
        self,
        config: Config,
        store: Store,
        *,
        clock: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        env: Mapping[str, str] | None = None,
        sinks: Sequence[Sink] | None = None,
        worker: str | None = None,
        claim_ttl: float = CLAIM_TTL,
        claim_batch: int = 500,
    ) -> None:
        self.config = config
        self.claim = Claim(worker or worker_name(), claim_ttl)
        self.claim_batch = claim_batch  # deliveries claimed per sink and round
        self.store = store
        self.clock = clock
        self.sleep = sleep
        self.sinks = list(sinks) if sinks is not None else build_sinks(config, env or os.environ)
        for sink in self.sinks:  # every sink keeps its limits on this dispatcher's clock
            sink.meter = Meter(sink.per_second, sink.per_minute, clock=clock, sleep=sleep)
        self._session: aiohttp.ClientSession | None = None
        self._opened: set[str] = set()
        self._tz = ZoneInfo(config.ui.timezone)
        self._failing: dict[str, str] = {}  # sink → the unexpected failure already logged

    def __repr__(self) -> str:
        return f"<Dispatcher sinks={[s.label for s in self.sinks]}>"

    async def __aenter__(self) -> Dispatcher:
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=HTTP_TIMEOUT),
            headers={"User-Agent": "pingfan-alerts"},
        )
        now = self.clock()
        for sink in self.sinks:
            self.store.outbox.register_sink(sink.label, sink.type, sink.fingerprint(), now)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.store.outbox.release_all_claims(self.claim.worker)
        except StoreError as err:  # they expire on their own; the real outcome comes first
            log.warning("could not give back this worker's alert claims: %s", err)
        for sink in self.sinks:
            if sink.label in self._opened:
                try:
                    await sink.close()
                except Exception:  # closing must not hide the real outcome
                    log.warning("closing sink %s failed", sink.label)
        self._opened.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def dispatch_pending(self) -> DispatchReport:
        """Send what is due to every enabled sink; returns what happened."""
        if self._session is None:
            raise RuntimeError("use `async with Dispatcher(...)`")
        tally = _Tally()
        for _ in range(2):  # a second round carries a health line raised in the first
            newly_broken = False
            for sink in self.sinks:
                try:
                    if await self._dispatch_sink(sink, tally):
                        newly_broken = True
                except StoreError:
                    raise  # the database itself is in trouble: the caller says why
                except Exception as err:  # that sink's problem: the others go on
                    tally.failed += 1
                    self._log_once(sink, type(err).__name__)
            if not newly_broken:
                break
        return DispatchReport(
            sent=tally.sent,
            failed=tally.failed,
            coalesced=tally.coalesced,
            held=tally.held,
            broken_sinks=tuple(sorted(tally.broken)),
            messages={label: n for label, n in tally.messages.items() if n},
        )

    # --- one sink ---------------------------------------------------------------------

    async def _dispatch_sink(self, sink: Sink, tally: _Tally) -> bool:
        """One round for one sink; True when the sink broke in it."""
        now = self.clock()
        row = self.store.outbox.sink_row(sink.label)
        if row.broken_at is not None:
            tally.broken.add(sink.label)
            return False
        self.store.outbox.open_deliveries(sink.label, now, skip_kinds=(SINK_HEALTH,))
        if sink.label not in self._opened:
            try:
                assert self._session is not None
                await sink.open(self._session)
            except PermanentError as err:
                return self._break(sink, err.reason, tally)
            except TransientError as err:
                tally.failed += 1
                log.warning("sink %s cannot start yet: %s", sink.label, err.reason)
                return False
            self._opened.add(sink.label)
        due = self.store.outbox.claim_due(sink.label, now, self.claim, self.claim_batch)
        if not due:
            return False
        broke = await self._send_due(sink, due, now, tally)
        self.store.outbox.release_claims(sink.label, self.claim.worker)  # held, waiting
        return broke

    async def _send_due(
        self, sink: Sink, due: list[Delivery], now: datetime, tally: _Tally
    ) -> bool:
        """Send the claimed deliveries, in order; True when the sink broke."""
        to_send = self._filter(sink, due, now, tally)
        if not to_send:
            return False
        budget = self._budget(sink, now)
        if budget <= 0:
            return False
        single, burst = self._plan(sink, to_send, budget)
        for delivery, message in single:
            outcome = await self._send(sink, [delivery], message, tally)
            if outcome == "broken":
                return True
            if outcome in ("retry", "lost"):
                return False  # keep order: nothing overtakes a delivery being retried
        if burst:
            outcome = await self._send(sink, burst, self._coalesced(burst), tally)
            if outcome == "broken":
                return True
        return False

    def _filter(
        self, sink: Sink, due: list[Delivery], now: datetime, tally: _Tally
    ) -> list[Delivery]:
        minimum = _SEVERITY_RANK.get(sink.config.min_severity, 0)
        quiet = in_quiet_hours(self.config.alerts.quiet_hours, now, self._tz)
        mutes = self.store.outbox.active_mutes(now)
        keep = []
        for delivery in due:
            alert = delivery.alert
            # The weekly digest is the team's report, not noise: every sink gets it.
            if alert.kind != "digest" and _SEVERITY_RANK.get(alert.severity, 0) < minimum:
                self.store.outbox.mark_delivered(sink.label, [alert.id], "skipped", now)
            elif alert.kind != SINK_HEALTH and (alert.platform or "", alert.subject_id) in mutes:
                self.store.outbox.mark_delivered(sink.label, [alert.id], "muted", now)
            elif quiet and alert.severity != "critical":
                tally.held += 1
            else:
                keep.append(delivery)
        return keep

    def _budget(self, sink: Sink, now: datetime) -> int:
        """Messages the sink may still send in this minute (this process's count, or the
        outbox's after a restart, whichever is higher)."""
        if sink.per_minute is None:
            return _UNLIMITED
        stored = self.store.outbox.sent_since(sink.label, now - timedelta(minutes=1))
        return sink.per_minute - max(sink.meter.in_last_minute(), stored)

    def _plan(
        self, sink: Sink, to_send: list[Delivery], budget: int
    ) -> tuple[list[tuple[Delivery, Outgoing]], list[Delivery]]:
        """Which deliveries go one by one and which are coalesced into one summary, so that
        the messages the service receives (a split alert costs each part) fit the budget; the
        summary keeps one message of it. A long alert (several parts) that does not fit is not
        folded into a one-line summary: it goes whole, alone in this round, and the sink's
        meter spreads its parts over the minutes they need; the rest wait for the next round."""
        planned = [(delivery, self._outgoing(sink, delivery)) for delivery in to_send]
        if budget >= _UNLIMITED:
            return planned, []
        costs = [sink.messages_for(message) for _, message in planned]
        if sum(costs) <= budget:
            return planned, []
        spent = fits = 0
        for cost in costs:
            if spent + cost > budget - 1:
                break
            spent += cost
            fits += 1
        if fits == 0 and costs[0] > 1:
            return planned[:1], []
        if len(planned) - fits < 2:  # a "burst" of one alert is just that alert
            return planned, []
        return planned[:fits], to_send[fits:]

    async def _send(
        self, sink: Sink, deliveries: Sequence[Delivery], message: Outgoing, tally: _Tally
    ) -> str:
        ids = [d.alert.id for d in deliveries]
        if not self.store.outbox.mark_sending(sink.label, ids, self.claim):
            # our claim expired and another worker took it over: it sends these
            log.info("sink %s: alert %s is another worker's now", sink.label, ids[0])
            return "lost"
        before = sink.meter.count
        try:
            await sink.send(message)
        except TransientError as err:
            self._count(sink, before, tally)
            attempts = max(d.attempts for d in deliveries) + 1
            wait = clamp_delay(err.retry_after)
            retry_at = self.clock() + timedelta(seconds=wait or backoff(attempts))
            self.store.outbox.mark_retry(
                sink.label,
                ids,
                retry_at,
                sink.redact(err.reason),
                outcome_unknown=err.outcome_unknown,
                worker=self.claim.worker,
            )
            tally.failed += 1
            log.warning(
                "sink %s: %s; retrying alert %s at %s",
                sink.label,
                sink.redact(err.reason),
                ids[0],
                to_utc_iso(retry_at),
            )
            return "retry"
        except RejectedError as err:
            self._count(sink, before, tally)
            self.store.outbox.mark_delivered(
                sink.label, ids, "rejected", self.clock(), error=sink.redact(err.reason)
            )
            tally.failed += 1
            log.warning("sink %s refused alert %s: %s", sink.label, ids[0], sink.redact(err.reason))
            return "rejected"
        except PermanentError as err:
            self._count(sink, before, tally)
            # back to pending: once the sink is fixed they go out, in order
            self.store.outbox.mark_retry(
                sink.label, ids, self.clock(), sink.redact(err.reason), worker=self.claim.worker
            )
            return "broken" if self._break(sink, err.reason, tally) else "retry"
        except Exception as err:  # a bug in a sink must not stop the others: retry later
            self._count(sink, before, tally)
            attempts = max(d.attempts for d in deliveries) + 1
            retry_at = self.clock() + timedelta(seconds=backoff(attempts))
            # it may have failed after the service took the message: the retry says so
            self.store.outbox.mark_retry(
                sink.label,
                ids,
                retry_at,
                type(err).__name__,
                outcome_unknown=True,
                worker=self.claim.worker,
            )
            tally.failed += 1
            self._log_once(sink, type(err).__name__)
            return "retry"
        self._failing.pop(sink.label, None)
        now = self.clock()
        messages = self._count(sink, before, tally)
        if len(deliveries) == 1 and len(message.alert_ids) == 1:
            self.store.outbox.mark_delivered(sink.label, ids, "sent", now, messages=messages)
            tally.sent += 1
        else:
            self.store.outbox.mark_delivered(
                sink.label, ids, "coalesced", now, coalesced_into=ids[0], messages=messages
            )
            tally.sent += 1
            tally.coalesced += len(ids)
        return "sent"

    def _count(self, sink: Sink, before: int, tally: _Tally) -> int:
        """The messages the service received during this send (also when it then failed)."""
        messages = sink.meter.count - before
        tally.messages[sink.label] = tally.messages.get(sink.label, 0) + messages
        return messages

    def _log_once(self, sink: Sink, what: str) -> None:
        """An unexpected failure of a sink: one line until it changes or the sink delivers."""
        if self._failing.get(sink.label) == what:
            log.debug("sink %s failed unexpectedly again (%s)", sink.label, what)
            return
        self._failing[sink.label] = what
        log.warning(
            "sink %s failed unexpectedly (%s); its alerts stay pending and are retried later",
            sink.label,
            what,
        )

    def _break(self, sink: Sink, reason: str, tally: _Tally) -> bool:
        """Mark the sink broken: one log line and one health alert for the other sinks."""
        now = self.clock()
        reason = sink.redact(reason)
        tally.broken.add(sink.label)
        tally.failed += 1
        if not self.store.outbox.mark_sink_broken(sink.label, reason, now):
            return False
        log.error(
            "alert sink %s is broken: %s; it stops until its configuration changes",
            sink.label,
            reason,
        )
        language = self.config.ui.language
        self.store.outbox.enqueue_alert(
            AlertRecord(
                kind=SINK_HEALTH,
                severity="critical",
                title=i18n.t(language, "alert.sink.title", sink=sink.label),
                text=i18n.t(language, "alert.sink.text", reason=safe_text.quote(reason, 200)),
                dedupe_key=f"{SINK_HEALTH}:{sink.label}:{to_utc_iso(now)}",
                created_at=now,
                platform=None,
                subject_id=sink.label,
            ),
            evidence={"sink": sink.label, "type": sink.type, "reason": reason},
            rule=SINK_HEALTH,
        )
        return True

    # --- messages ---------------------------------------------------------------------

    def _outgoing(self, sink: Sink, delivery: Delivery) -> Outgoing:
        alert = delivery.alert

        def part_sent(parts: int) -> None:
            self.store.outbox.mark_parts_sent(sink.label, [alert.id], parts)

        return Outgoing(
            alert_ids=(alert.id,),
            kind=alert.kind,
            severity=alert.severity,
            title=alert.title,
            text=alert.text,
            url=alert.url,
            created_at=alert.created_at,
            dedupe_key=alert.dedupe_key,
            language=self.config.ui.language,
            tz=self._tz,
            platform=alert.platform,
            subject_id=alert.subject_id,
            evidence=alert.evidence,
            possible_duplicate=delivery.possible_duplicate,
            buttons=alert.kind != SINK_HEALTH,
            parts_sent=delivery.parts_sent,
            part_sent=part_sent,
        )

    def _coalesced(self, deliveries: Sequence[Delivery]) -> Outgoing:
        language = self.config.ui.language
        lines = []
        for delivery in deliveries:
            alert = delivery.alert
            lines.append(
                i18n.t(
                    language,
                    "alert.coalesced.item",
                    severity=i18n.severity_name(language, alert.severity),
                    title=safe_text.clean_line(alert.title),
                )
            )
            link = safe_text.safe_url(alert.url)
            if link:
                lines.append(f"  {link}")
        lines.append(i18n.t(language, "alert.coalesced.more"))
        top = max(deliveries, key=lambda d: _SEVERITY_RANK.get(d.alert.severity, 0)).alert
        first = deliveries[0].alert
        return Outgoing(
            alert_ids=tuple(d.alert.id for d in deliveries),
            kind="coalesced",
            severity=top.severity,
            title=i18n.t(language, "alert.coalesced.title", n=len(deliveries)),
            text="\n".join(lines),
            url=None,
            created_at=first.created_at,
            dedupe_key=f"coalesced:{first.id}-{deliveries[-1].alert.id}",
            language=language,
            tz=self._tz,
            evidence={"alerts": [d.alert.dedupe_key for d in deliveries]},
            # a burst is rebuilt on every attempt, so parts of an earlier one are not skipped:
            # it is sent whole, marked when any part of it may have gone out before
            possible_duplicate=any(d.possible_duplicate or d.parts_sent for d in deliveries),
            buttons=False,
        )
