"""The weekly digest (issue 14): the report the campaign lead reads on Monday morning.

    queries (monitor/store/weekly.py, over the export's own rows)
      → build.py (gather from the store, assemble a `model.Digest`)
      → documents.py + templates/ (Markdown, self-contained HTML), charts.py (SVG)
      → files.py (the files, and the outbox alert: kind "digest", key `digest:<ISO week>`)
      → chat.py (each sink's short form: Telegram with the HTML attached, WeCom/DingTalk/
        Feishu markdown within their limits)

Entry points, imported lazily so that a sink can import `alerts.digest.chat` cheaply:
- `digest_command(config, *, week, out, send, now) -> int`: `pingfan digest`;
- `schedule(config, store, stop, *, clock)`: the daemon task (`Daemon.add_task`).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from monitor.config import Config
    from monitor.runtime.clock import Clock
    from monitor.store import Store

__all__ = ["digest_command", "schedule"]


def digest_command(
    config: Config, *, week: str | None, out: Path | None, send: bool, now: datetime
) -> int:
    """`pingfan digest`: write the week's digest (and send it); returns the exit code."""
    from alerts.digest.command import digest_command as run

    return run(config, week=week, out=out, send=send, now=now)


async def schedule(config: Config, store: Store, stop: asyncio.Event, *, clock: Clock) -> None:
    """The daemon task: last week's digest into the outbox at [digest] weekday/time, once."""
    from alerts.digest.scheduler import schedule as run

    await run(config, store, stop, clock=clock)
