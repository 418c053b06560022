"""JSON lines: one object per alert (id, kind, severity, platform, subject id, title, text,
url, created_at, evidence, dedupe key), appended and synced to the file at `path`."""

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

    def _append(self, line: str) -> None:
        path = Path(self.config.path or "alerts.jsonl")
        try:
            with path.open("a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())
        except PermissionError as err:
            raise PermanentError(f"cannot write {path}: {err.strerror}") from None
        except OSError as err:  # a full disk may clear
            raise TransientError(f"cannot write {path}: {err.strerror}") from None
