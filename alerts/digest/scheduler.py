"""The digest in `pingfan run`: at [digest] weekday and time (in [digest] timezone), build
last ISO week's digest, write it to [digest] out_dir and put it in the outbox, once.

Once means the dedupe key `digest:<ISO week>`: before building, the outbox is asked whether
that week's digest is there already, and the insert itself ignores a second one; so a
restart, a second start or a catch-up never sends a week twice. A daemon that was down at
the scheduled moment sends the digest when it starts, if it is within [digest] catch_up of
that moment; later than that, it waits for the next week (`pingfan digest --week … --send`
still sends a missed one by hand).

The store is read on the event loop's thread (it owns the connection); keywords, the
coordination search, the charts and the templates run in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Protocol

from alerts.digest import i18n
from alerts.digest.build import assemble, digest_zone, gather
from alerts.digest.files import Written, dedupe_key, enqueue_digest, write_digest
from alerts.digest.model import Digest
from alerts.digest.weeks import IsoWeek, last_due, next_due, week_due_at
from alerts.i18n.digest_summary import summary_lines
from monitor.config import Config
from monitor.errors import StoreError
from monitor.store import Store

log = logging.getLogger(__name__)

RETRY_AFTER = 600.0  # runtime seconds before a digest that failed to build is tried again


class ScheduleClock(Protocol):
    """What the schedule needs of a clock. The daemon's own (wall or simulated, from
    monitor/runtime/clock.py) is handed in by the composition root, monitor/app: alerts/
    does not import the runtime."""

    def now(self) -> datetime: ...

    async def wait(self, event: asyncio.Event, seconds: float) -> bool:
        """Sleep up to `seconds`, returning early (True) when `event` is set."""
        ...


async def schedule(
    config: Config, store: Store, stop: asyncio.Event, *, clock: ScheduleClock
) -> None:
    """Run until `stop` is set: each scheduled moment, last week's digest into the outbox."""
    settings = config.digest
    if not settings.enabled:
        log.info("digest: off ([digest] enabled = false)")
        return
    tz = digest_zone(config)
    while not stop.is_set():
        now = clock.now()
        due = last_due(now, settings.weekday, settings.time, tz)
        week = week_due_at(due, tz)
        late = (now - due).total_seconds()
        if late <= settings.catch_up and store.weekly.alert_by_key(dedupe_key(week)) is None:
            try:
                await make_and_enqueue(config, store, week, now=now)
            except StoreError:
                raise  # the database itself is in trouble: the daemon stops and says why
            except Exception:
                if stop.is_set():
                    # Ctrl-C reaches the chart process too, and it may die before it ignores
                    # the signal: a stop, not a failure. The next start catches the week up.
                    log.info("digest %s interrupted by the stop; the next start makes it", week)
                    return
                log.exception("digest %s failed; trying again in %.0f s", week, RETRY_AFTER)
                await clock.wait(stop, RETRY_AFTER)
                continue
        elif store.weekly.alert_by_key(dedupe_key(week)) is None:
            log.info(
                "digest %s was due %s, more than [digest] catch_up ago; not sent "
                "(pingfan digest --week %s --send sends it)",
                week,
                due.isoformat(),
                week,
            )
        wake = next_due(clock.now(), settings.weekday, settings.time, tz)
        await clock.wait(stop, max((wake - clock.now()).total_seconds(), 0.0))


async def week_so_far(config: Config, store: Store, now: datetime) -> str:
    """This ISO week's digest up to `now`, written to [digest] out_dir (not sent), as plain
    text: the title, a line saying it is partial, the summary lines and where the files are
    (the chat bot's /digest)."""
    tz = digest_zone(config)
    week = IsoWeek.containing(now, tz)
    facts = gather(store, config, week, now=now)

    def build() -> tuple[Digest, Written]:
        digest = assemble(facts, config)
        return digest, write_digest(
            digest, config.digest.out_dir, font=config.digest.font, charts_apart=True
        )

    digest, written = await asyncio.to_thread(build)
    language = digest.language
    lines = [i18n.t(language, "title", campaign=digest.campaign, week=str(week))]
    if digest.partial:
        lines.append(i18n.t(language, "partial", time=i18n.moment(now, tz)))
    lines += summary_lines(digest.facts(), language)
    lines.append(i18n.t(language, "sum.files", name=str(written.html)))
    return "\n".join(lines)


async def make_and_enqueue(config: Config, store: Store, week: IsoWeek, *, now: datetime) -> bool:
    """Build, write and enqueue `week`'s digest; False when it was in the outbox already."""
    facts = gather(store, config, week, now=now)
    out_dir = config.digest.out_dir

    def build() -> tuple[Digest, Written]:
        digest = assemble(facts, config)
        return digest, write_digest(digest, out_dir, font=config.digest.font, charts_apart=True)

    digest, written = await asyncio.to_thread(build)
    queued = enqueue_digest(store, digest, written, at=now)
    if queued:
        log.info("digest %s: wrote %s and queued it for the sinks", week, written.html)
    else:
        log.info("digest %s: already in the outbox; wrote %s again", week, written.html)
    return queued
