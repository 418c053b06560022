"""JSON lines: one object per alert (id, kind, severity, platform, subject id, title, text,
url, created_at, evidence, dedupe key), appended and synced to the file at `path`.

A write that fails (a full disk) is taken back out of the file, so it holds whole lines only
and the retry writes the line once; when even that fails, the outcome is unknown and the
retry is marked as a possible duplicate."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import aiohttp

from alerts.sinks.base import Outgoing, PermanentError, Sink, TransientError


class JsonlSink(Sink):
    type = "jsonl"

    def target(self) -> str:
        return str(self.config.path)

    async def open(self, session: aiohttp.ClientSession) -> None:
        await super().open(session)
        path = Path(self.config.path or "alerts.jsonl")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise PermanentError(f"cannot create {path.parent}: {err.strerror}") from None

    async def send(self, message: Outgoing) -> None:
        line = json.dumps(message.record(), ensure_ascii=False, sort_keys=True) + "\n"
        await asyncio.to_thread(self._append, line)
        self.meter.sent()

    def _append(self, line: str) -> None:
        path = Path(self.config.path or "alerts.jsonl")
        try:
            handle = path.open("a", encoding="utf-8")
        except PermissionError as err:
            raise PermanentError(f"cannot write {path}: {err.strerror}") from None
        except OSError as err:  # a full disk may clear
            raise TransientError(f"cannot write {path}: {err.strerror}") from None
        with handle:
            start = handle.tell()
            try:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
            except OSError as err:
                taken_back = _truncate(handle.fileno(), start)
                raise TransientError(
                    f"cannot write {path}: {err.strerror}", outcome_unknown=not taken_back
                ) from None


def _truncate(fd: int, size: int) -> bool:
    """Cut the file back to `size` bytes (a half-written line out); False if that failed."""
    try:
        os.ftruncate(fd, size)
        os.fsync(fd)
    except OSError:
        return False
    return True
