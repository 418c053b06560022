"""The weekly digest (issue 14): the report the campaign lead reads on Monday morning.

    queries (monitor/store/weekly.py, over the export's own rows)
      → build.py (gather from the store, assemble a `model.Digest`)
      → documents.py + templates/ (Markdown, self-contained HTML), charts.py (SVG)
      → files.py (the files, and the outbox alert: kind "digest", key `digest:<ISO week>`)
      → alerts/chat_markup.py (each sink's short form: Telegram with the HTML attached,
        WeCom/DingTalk/Feishu markdown within their limits; the sinks import it, never this
        package)

Entry points, imported lazily:
- `digest_command(config, *, week, out, send, now) -> int`: `pingfan digest`;
- `schedule(config, store, stop, *, clock)`: the daemon task (`Daemon.add_task`, by
  monitor/app); `clock` is the daemon's, handed in (`ScheduleClock`: now and wait);
- `bot_hook(config, store)`: the chat bot's /digest (`TeamBot(..., digest=bot_hook(...))`):
  this week's digest so far, written to [digest] out_dir, as plain text.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alerts.digest.scheduler import ScheduleClock
    from monitor.config import Config
    from monitor.store import Store

__all__ = ["bot_hook", "digest_command", "schedule"]


def digest_command(
    config: Config,
    *,
    week: str | None,
    out: Path | None,
    send: bool,
    now: datetime,
    charts_apart: bool = False,
) -> int:
    """`pingfan digest`: write the week's digest (and send it); returns the exit code."""
    from alerts.digest.command import digest_command as run

    return run(config, week=week, out=out, send=send, now=now, charts_apart=charts_apart)


async def schedule(
    config: Config, store: Store, stop: asyncio.Event, *, clock: ScheduleClock
) -> None:
    """The daemon task: last week's digest into the outbox at [digest] weekday/time, once."""
    from alerts.digest.scheduler import schedule as run

    await run(config, store, stop, clock=clock)


def bot_hook(config: Config, store: Store) -> Callable[[datetime], Awaitable[str]]:
    """For the chat bot's /digest: `await hook(now)` is this week's digest up to `now` as
    plain text (written to [digest] out_dir too, never sent through the outbox)."""

    async def hook(now: datetime) -> str:
        from alerts.digest.scheduler import week_so_far

        return await week_so_far(config, store, now)

    return hook
