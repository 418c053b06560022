"""What every sink shares: the outgoing message, the three kinds of failure, redaction.

A sink turns an `Outgoing` message into its service's payload (escaping user text for that
service's markup) and sends it. It raises
- `TransientError` for what a later retry may fix (timeouts, 5xx, rate limited), with the
  service's retry-after when it gives one (clamped, `monitor.runtime.delays`), and
  `outcome_unknown` when the service may have accepted the message all the same (a timeout
  or a dropped connection after the request went out): the retry is then marked as a
  possible duplicate;
- `RejectedError` when the service refused this one message (too long, malformed): the
  dispatcher records it and goes on;
- `PermanentError` when the sink itself is unusable (bad token, chat not found, bad webhook
  key): the dispatcher marks the sink broken and raises one health line.
Secrets (tokens, webhook URLs, signing keys) never appear in a message, a log line or a repr:
every error text passes through `redact`.

Every message a service receives goes through the sink's `meter` (`Meter`): `await
meter.turn()` before the request keeps to the service's per-second and per-minute limits by
waiting on the dispatcher's clock (virtual time in the tests), and `meter.sent()` after the
service accepted it counts it. A long Telegram alert is several messages, a digest in Telegram
a message and a document: each counts, so the dispatcher's budget is what the service saw.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import aiohttp

from alerts import i18n, safe_text
from monitor.config import SinkConfig
from monitor.runtime.delays import clamp_delay, retry_after_seconds


class SinkError(Exception):
    def __init__(
        self, reason: str, retry_after: float | None = None, *, outcome_unknown: bool = False
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = clamp_delay(retry_after)
        self.outcome_unknown = outcome_unknown


class TransientError(SinkError):
    """Try again later."""


class RejectedError(SinkError):
    """The service refused this message; the next one may pass."""


class PermanentError(SinkError):
    """The sink cannot work as configured (token, chat, key): stop using it."""


@dataclass(frozen=True)
class Outgoing:
    """One message as every sink sees it (one alert, or a burst coalesced into one)."""

    alert_ids: tuple[int, ...]
    kind: str
    severity: str
    title: str
    text: str
    url: str | None
    created_at: datetime
    dedupe_key: str
    language: str
    tz: ZoneInfo
    platform: str | None = None
    subject_id: str | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    possible_duplicate: bool = False
    buttons: bool = True  # acknowledge / mute, where the sink has buttons
    # A sink that splits a message (Telegram) skips the parts an earlier attempt delivered,
    # and reports each part the service accepts, so that the outbox remembers it.
    parts_sent: int = 0
    part_sent: Callable[[int], None] | None = field(default=None, compare=False, repr=False)

    @property
    def alert_id(self) -> int:
        return self.alert_ids[0]

    def title_line(self) -> str:
        severity = i18n.severity_name(self.language, self.severity)
        title = safe_text.clean_line(self.title)
        return i18n.t(self.language, "alert.title_line", severity=severity, title=title)

    def body_lines(self) -> list[str]:
        return [safe_text.clean_line(line) for line in self.text.split("\n") if line.strip()]

    def link(self) -> str | None:
        return safe_text.safe_url(self.url)

    def footer(self) -> str:
        ref = f"#{self.alert_id} · {safe_text.clean_line(self.dedupe_key)}"
        if self.possible_duplicate:
            ref += i18n.t(self.language, "alert.duplicate")
        return ref

    def record(self) -> dict[str, Any]:
        """The JSON object of the jsonl and webhook sinks."""
        return {
            "id": self.alert_id,
            "ids": list(self.alert_ids),
            "kind": self.kind,
            "severity": self.severity,
            "platform": self.platform,
            "subject_id": self.subject_id,
            "title": self.title,
            "text": self.text,
            "url": self.link(),
            "created_at": self.created_at.isoformat(),
            "evidence": dict(self.evidence),
            "dedupe_key": self.dedupe_key,
            "possible_duplicate": self.possible_duplicate,
        }

    def plain_lines(self) -> list[str]:
        """Title, body, link, footer as plain text lines (the webhooks' text form)."""
        lines = [self.title_line(), *self.body_lines()]
        link = self.link()
        if link:
            lines.append(i18n.t(self.language, "alert.link", url=link))
        lines.append(self.footer())
        return lines


class Meter:
    """The messages one sink sent, and its service's limits kept by waiting.

    `turn()` waits (with the injected `sleep`, reading the injected `clock`) until one more
    message stays within `per_second` and `per_minute`; `sent()` records a message the
    service accepted. The dispatcher reads `count` around each `send` and `in_last_minute()`
    for its budget. Without limits `turn()` returns at once."""

    def __init__(
        self,
        per_second: int | None = None,
        per_minute: int | None = None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.per_second = per_second
        self.per_minute = per_minute
        self.clock = clock
        self.sleep = sleep
        self.count = 0  # messages accepted since this meter was made
        self._times: deque[datetime] = deque()  # when, for the last minute

    def __repr__(self) -> str:
        return f"<Meter {self.per_second}/s {self.per_minute}/min sent={self.count}>"

    def _window(self, now: datetime, seconds: float) -> list[datetime]:
        since = now - timedelta(seconds=seconds)
        return [moment for moment in self._times if moment > since]

    def in_last_minute(self) -> int:
        now = self.clock()
        while self._times and self._times[0] <= now - timedelta(minutes=1):
            self._times.popleft()
        return len(self._times)

    def _wait(self, now: datetime) -> float:
        """Seconds until one more message keeps to both limits (0: it may go now)."""
        wait = 0.0
        for limit, seconds in ((self.per_second, 1.0), (self.per_minute, 60.0)):
            if limit is None:
                continue
            recent = self._window(now, seconds)
            if len(recent) >= limit:
                # the oldest message that must leave the window before this one may go
                oldest = recent[len(recent) - limit]
                wait = max(wait, (oldest + timedelta(seconds=seconds) - now).total_seconds())
        return wait

    async def turn(self) -> None:
        while (wait := self._wait(now := self.clock())) > 0:
            await self.sleep(max(wait, 0.001))
            if self.clock() <= now:  # a clock that does not move cannot be waited on
                return

    def sent(self) -> None:
        self.count += 1
        self._times.append(self.clock())
        self.in_last_minute()  # forget what left the window


class RedactFilter(logging.Filter):
    """Blanks the sink's secrets in a third-party library's log records (the library may put
    a token or a webhook URL in a line we do not write ourselves)."""

    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__("pingfan-redact")
        self.secrets = tuple(sorted((s for s in secrets if s), key=len, reverse=True))

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret in message for secret in self.secrets):
            for secret in self.secrets:
                message = message.replace(secret, "***")
            record.msg, record.args = message, ()
        return True


class Sink(ABC):
    """One configured destination. `label` names it in logs and in the delivery table."""

    type: ClassVar[str]
    per_minute: int | None = None  # the service's own rate limit (may differ per instance)
    per_second: int | None = None

    def __init__(self, label: str, config: SinkConfig, env: Mapping[str, str]) -> None:
        self.label = label
        self.config = config
        self._secrets = tuple(
            value for name in config.secret_envs() if (value := env.get(name, "").strip())
        )
        self._missing = tuple(name for name in config.secret_envs() if not env.get(name, ""))
        self.session: aiohttp.ClientSession | None = None
        # the dispatcher replaces it with one on its own clock
        self.meter = Meter(self.per_second, self.per_minute)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.label}>"

    def fingerprint(self) -> str:
        """Changes when the sink's token, URL, key, chat or path changes; holds no secret."""
        parts = [self.type, *self._secrets, str(self.config.path or ""), str(self.target())]
        return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]

    def target(self) -> str:
        return ""

    def redact(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret:
                text = text.replace(secret, "***")
        return text

    def secret(self, env_name: str | None, env: Mapping[str, str]) -> str:
        return (env.get(env_name, "") if env_name else "").strip()

    async def open(self, session: aiohttp.ClientSession) -> None:
        """Prepare (a bot's first call, a file); may raise like `send`."""
        if self._missing:
            raise PermanentError(f"needs ${self._missing[0]} in the environment")
        self.session = session

    async def close(self) -> None:
        return None

    def messages_for(self, message: Outgoing) -> int:
        """How many messages `send(message)` will make the service receive (the dispatcher's
        budget plans with it)."""
        return 1

    @abstractmethod
    async def send(self, message: Outgoing) -> None: ...


def error_text(err: BaseException) -> str:
    """A short description of a transport error without its arguments (which may hold the
    request URL, and so a webhook key)."""
    return type(err).__name__


async def post_json(
    sink: Sink,
    url: str,
    payload: Mapping[str, Any] | Sequence[Any],
    *,
    headers: Mapping[str, str] | None = None,
    data: bytes | None = None,
) -> tuple[int, Any]:
    """POST JSON; (status, parsed body or None). Transport failures, HTTP 429 and 5xx are
    transient; 401/403/404 permanent; other 4xx a rejected message."""
    if sink.session is None:
        raise TransientError("not opened")
    await sink.meter.turn()
    try:
        if data is None:
            request = sink.session.post(url, json=payload, headers=headers)
        else:
            request = sink.session.post(url, data=data, headers=headers)
        async with request as response:
            status = response.status
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            body_text = await response.text(errors="replace")
    except (aiohttp.ClientError, TimeoutError) as err:
        raise TransientError(
            f"connection failed ({error_text(err)})", outcome_unknown=may_have_arrived(err)
        ) from None
    if status == 429 or status >= 500:
        # 504: a proxy gave up waiting; the service behind it may have taken the message
        raise TransientError(f"HTTP {status}", retry_after, outcome_unknown=status == 504)
    if status in (401, 403, 404):
        raise PermanentError(f"HTTP {status}: the URL or its key is not accepted")
    if status >= 400:
        raise RejectedError(f"HTTP {status}: {sink.redact(body_text[:200])}")
    try:
        return status, json.loads(body_text) if body_text.strip() else None
    except ValueError:
        return status, None


def may_have_arrived(err: BaseException) -> bool:
    """Could the service have received the request despite `err`? Only a failure to connect
    at all proves it did not; a timeout or a dropped connection leaves it unknown."""
    never_sent = (
        aiohttp.ClientConnectorError,
        getattr(aiohttp, "ConnectionTimeoutError", aiohttp.ClientConnectorError),
    )
    return not isinstance(err, never_sent)
