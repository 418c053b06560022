"""Apprise: one sink per URL in the variable `urls_env` names (Server酱, PushPlus, Bark,
e-mail, Slack, Discord, ntfy, Matrix, … each one Apprise URL away).

The message is the alert's title and its plain lines (`format = "text"`), or the same as
Markdown with every piece of alert text escaped and the link as our own `[…](…)`
(`format = "markdown"`). Apprise's services are blocking (`requests`); `async_notify` runs
them off the event loop.

Each URL is its own sink (labels `apprise:<ENV>` for one URL, `apprise:<ENV>:<n>` for the
n-th of several), so each service gets every alert once, in order, with its own backoff, and
one that is misconfigured breaks alone. Apprise answers a send with success or failure only;
what failed is in its log lines, which the sink reads while it sends: an HTTP 401, 403 or 404
(a bad key or address) is permanent, another 4xx a refused message, anything else (5xx, a
connection error) is retried. A URL Apprise does not know breaks the sink when it opens.

The URLs hold tokens and passwords: they, and each of their parts (user, password, host,
path segments, query values), are redacted from every error text and from Apprise's own log
lines and those of the HTTP libraries under it (`requests`, `urllib3`, which log request
paths) while the sink is open; neither the config's repr nor a label holds them. Limits: one
message a second and 20 a minute per URL, the strictest of the common chat services.
"""

from __future__ import annotations

import logging
import re
import urllib.parse
from collections.abc import Mapping
from typing import Any

import aiohttp
import apprise

from alerts import i18n
from alerts.sinks.base import (
    Outgoing,
    PermanentError,
    RedactFilter,
    RejectedError,
    Sink,
    TransientError,
)
from monitor.config import SinkConfig, apprise_urls

_STATUS = re.compile(r"error(?: code)?\s*[=:]?\s*(\d{3})\b", re.IGNORECASE)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~])")
_SHORTEST_SECRET = 4  # parts shorter than this (a port, "a") are not worth blanking


def url_parts(url: str) -> list[str]:
    """The URL and every part of it that may be secret, for redaction."""
    parts = [url]
    try:
        split = urllib.parse.urlsplit(url)
        pieces = [split.netloc, split.username, split.password, split.hostname]
        pieces += split.path.split("/")
        pieces += [value for _, value in urllib.parse.parse_qsl(split.query)]
    except ValueError:
        return parts
    for piece in pieces:
        if piece and len(piece) >= _SHORTEST_SECRET:
            parts.append(piece)
            unquoted = urllib.parse.unquote(piece)
            if unquoted != piece:
                parts.append(unquoted)
    return parts


def markdown_escape(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


class _Capture(logging.Handler):
    """Apprise's warnings while one notification is sent: why it failed."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(record.getMessage())
        except Exception:  # a record that cannot be formatted says nothing useful
            self.lines.append(record.levelname)


class AppriseSink(Sink):
    type = "apprise"
    per_second = 1
    per_minute = 20

    def __init__(
        self,
        label: str,
        config: SinkConfig,
        env: Mapping[str, str],
        url: str | None = None,
        position: int = 1,
    ) -> None:
        super().__init__(label, config, env)
        self._url = url or ""
        self.position = position
        # every URL of the variable (not only this sink's) is kept out of what it says
        extra = [part for item in apprise_urls(" ".join(self._secrets)) for part in url_parts(item)]
        self._secrets = tuple(dict.fromkeys([*self._secrets, *extra]))
        self._filter = RedactFilter(self._secrets)
        self._apprise: Any = None
        self._filtered: list[logging.Logger] = []

    def target(self) -> str:
        return f"{self.position}|{self.config.format}"

    async def open(self, session: aiohttp.ClientSession) -> None:
        await super().open(session)
        if not self._url:
            raise PermanentError(f"${self.config.urls_env} holds no Apprise URL")
        # Apprise logs what it cannot parse, URL and all; urllib3 logs each request's path
        self._filtered = _library_loggers()
        for logger in self._filtered:
            logger.addFilter(self._filter)
        notifier = apprise.Apprise()
        if not notifier.add(self._url):
            await self.close()
            raise PermanentError(
                f"Apprise does not accept URL #{self.position} of ${self.config.urls_env}"
                " (unknown scheme or a required part missing)"
            )
        self._apprise = notifier

    async def close(self) -> None:
        self._apprise = None
        for logger in self._filtered:
            logger.removeFilter(self._filter)
        self._filtered = []

    def body(self, message: Outgoing) -> str:
        lines = message.plain_lines()[1:]  # the title goes as Apprise's title
        if self.config.format != "markdown":
            return "\n".join(lines)
        body = [markdown_escape(line) for line in message.body_lines()]
        link = message.link()
        if link:
            label = i18n.t(message.language, "button.open_post")
            target = link.replace("(", "%28").replace(")", "%29").replace(" ", "%20")
            body.append(f"[{label}]({target})")
        body.append(f"_{markdown_escape(message.footer())}_")
        return "\n\n".join(body)

    async def send(self, message: Outgoing) -> None:
        if self._apprise is None:
            raise TransientError("not opened")
        await self.meter.turn()
        capture = _Capture()
        logger = _logger()
        logger.addHandler(capture)
        try:
            delivered = await self._apprise.async_notify(
                body=self.body(message),
                title=message.title_line(),
                body_format=(
                    apprise.NotifyFormat.MARKDOWN
                    if self.config.format == "markdown"
                    else apprise.NotifyFormat.TEXT
                ),
            )
        except Exception as err:  # a bug inside a plugin: the outcome is unknown
            raise TransientError(
                f"Apprise failed ({type(err).__name__})", outcome_unknown=True
            ) from err
        finally:
            logger.removeHandler(capture)
        if delivered:
            self.meter.sent()
            return
        raise self._failure(capture.lines)

    def _failure(self, lines: list[str]) -> Exception:
        said = self.redact(lines[-1] if lines else "no reason given")[:200]
        statuses = [int(code) for line in lines for code in _STATUS.findall(line)]
        status = statuses[-1] if statuses else None
        reason = f"URL #{self.position}: {said}"
        if status in (401, 403, 404):
            return PermanentError(
                f"HTTP {status}: the address or its key is not accepted; {reason}"
            )
        if status is not None and 400 <= status < 500 and status != 429:
            return RejectedError(f"HTTP {status}: {reason}")
        # 5xx, 429, or no answer at all (that one may have arrived)
        return TransientError(reason, outcome_unknown=status is None)


def _logger() -> logging.Logger:
    return logging.getLogger(apprise.LOGGER_NAME)


_LIBRARIES = (apprise.LOGGER_NAME, "urllib3", "requests", "requests_oauthlib")


def _library_loggers() -> list[logging.Logger]:
    """Apprise's logger and those of the HTTP libraries it sends with (a filter on a logger
    sees only the records made by that very logger, so each one gets it)."""
    names = {
        name for name in list(logging.root.manager.loggerDict) if name.split(".")[0] in _LIBRARIES
    }
    return [logging.getLogger(name) for name in sorted(names | set(_LIBRARIES))]
