"""`pingfan digest [--week 2019-W28] [--out DIR] [--send]`.

Writes the week's Markdown and HTML (default: last ISO week in [digest] timezone, into
[digest] out_dir) and prints where. With `--send` it also puts the digest in the outbox
(once per week: the dedupe key `digest:<week>`) and, unless a `pingfan run` holds the
database (then that daemon sends it), dispatches the outbox to the sinks now. On PostgreSQL
it only queues: the `pingfan run` workers sharing the database send it.

Exit codes as everywhere in pingfan: 0 done; 1 a sink or the disk failed; 2 a bad argument,
config or a missing database (one line on stderr naming the fix); 3 is `pingfan run`'s own.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime
from pathlib import Path

from alerts.digest.build import build_digest, digest_zone
from alerts.digest.files import Written, dedupe_key, enqueue_digest, write_digest
from alerts.digest.model import Digest
from alerts.digest.weeks import IsoWeek, parse_week
from alerts.dispatch import Dispatcher, DispatchReport
from monitor.config import Config, missing_secrets
from monitor.runlock import AlreadyRunning, RunLock
from monitor.store import Store
from monitor.store.outbox import FINAL_STATES
from nlp.search_tokens import jieba_search_tokens

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
_DELIVERED = {"sent", "coalesced", "skipped", "muted"}


def _usage(message: str) -> int:
    print(f"pingfan digest: {message}", file=sys.stderr)
    return EXIT_USAGE


def digest_command(
    config: Config,
    *,
    week: str | None,
    out: Path | None,
    send: bool,
    now: datetime,
    charts_apart: bool = False,
) -> int:
    """`charts_apart`: see `write_digest` (the demo, a long-running process, sets it)."""
    tz = digest_zone(config)
    try:
        target = parse_week(week) if week is not None else IsoWeek.containing(now, tz).previous()
    except ValueError as err:
        return _usage(str(err))
    if target.start(tz) > now:
        return _usage(
            f"--week {target} has not begun yet (it starts {target.monday().isoformat()}); "
            f"pick a past week, e.g. {IsoWeek.containing(now, tz).previous()}"
        )
    out_dir = out if out is not None else config.digest.out_dir
    if out_dir.exists() and not out_dir.is_dir():
        return _usage(f"--out {out_dir} is a file; give a directory")
    db = config.storage.path
    if not config.storage.is_postgres and str(db) != ":memory:" and not db.exists():
        return _usage(
            f"no database at {db}; check [storage] path in {config.source}, or run "
            "`pingfan collect --once` first"
        )
    if send:
        problems = missing_secrets(config)
        if problems:
            return _usage(problems[0])
        if not config.enabled_sinks():
            return _usage(f"--send: no sink is enabled in {config.source}; add a [[sinks]] entry")
    with Store.for_config(config, search_tokens=jieba_search_tokens, enroll=False) as store:
        store.read_campaign(config.campaign.id)  # the campaign's week: its posts and alerts
        digest = build_digest(store, config, target, now=now)
        try:
            written = write_digest(
                digest, out_dir, font=config.digest.font, charts_apart=charts_apart
            )
        except OSError as err:
            print(
                f"pingfan digest: cannot write to {out_dir}: {err.strerror or err}; check the "
                "free space and the permissions there",
                file=sys.stderr,
            )
            return EXIT_FAILED
        print(f"digest {target}: {written.markdown}")
        print(f"digest {target}: {written.html}")
        if not digest.has_data:
            print(f"digest {target}: no data was collected that week (the digest says so)")
        if not send:
            return EXIT_OK
        return _send(config, store, digest, written, now=now)


def _send(config: Config, store: Store, digest: Digest, written: Written, *, now: datetime) -> int:
    key = dedupe_key(digest.week)
    queued = enqueue_digest(store, digest, written, at=now)
    found = store.weekly.alert_by_key(key)
    assert found is not None
    alert_id, state = found
    if not queued:
        print(
            f"digest {digest.week}: already in the outbox (alert #{alert_id}, {state}); "
            "it is never sent twice"
        )
        return EXIT_OK
    if config.storage.is_postgres:
        # Workers share the database and its outbox: sending is theirs, never a second sender.
        print(
            f"digest {digest.week}: queued as alert #{alert_id}; on PostgreSQL the `pingfan "
            "run` workers send it"
        )
        return EXIT_OK
    lock = RunLock(config.storage.path)
    try:
        lock.acquire()
    except AlreadyRunning:
        print(f"digest {digest.week}: queued as alert #{alert_id}; the running pingfan sends it")
        return EXIT_OK
    try:
        report = asyncio.run(_dispatch(config, store))
    finally:
        lock.release()
    states = store.outbox.delivery_states(alert_id)
    print(f"digest {digest.week}: {report.summary()}")
    waiting = sorted(sink for sink, s in states.items() if s not in _DELIVERED)
    if waiting:
        final = {s for sink, s in states.items() if sink in waiting and s in FINAL_STATES}
        print(
            f"pingfan digest: not delivered to {', '.join(waiting)}"
            + (" (refused)" if final else "; it stays in the outbox and `pingfan run` retries")
            + "; see the log above",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return EXIT_OK


async def _dispatch(config: Config, store: Store) -> DispatchReport:
    async with Dispatcher(config, store) as dispatcher:
        return await dispatcher.dispatch_pending()
