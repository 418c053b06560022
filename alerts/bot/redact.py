"""Keep the bot token out of every log line.

python-telegram-bot puts the token in each request URL (`…/bot<token>/getUpdates`), which
httpx logs at INFO and python-telegram-bot at DEBUG, and in some error texts ("The token `…`
was rejected"). While the bot runs, `TokenFilter` sits on every logger of httpx, httpcore,
python-telegram-bot and this package and replaces the token in the message, its arguments
and a formatted traceback. A logging filter acts only on records made by the logger it is
attached to, not on those its children pass up, so it goes on each of them (they all exist
once the libraries are imported).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

MASK = "***"
_FAMILIES = ("telegram", "httpx", "httpcore", "alerts.bot")


class TokenFilter(logging.Filter):
    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def redact(self, text: str) -> str:
        return text.replace(self.secret, MASK) if self.secret else text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secret:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler to report
            message = str(record.msg)
        if self.secret in message:
            record.msg, record.args = self.redact(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text and self.secret in record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info and self.secret in record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def loggers() -> list[logging.Logger]:
    """Every logger of the libraries that may see the token, and this package's."""
    names = {
        name
        for name in list(logging.root.manager.loggerDict)
        if any(name == family or name.startswith(family + ".") for family in _FAMILIES)
    }
    return [logging.getLogger(name) for name in sorted(names | set(_FAMILIES))]


@contextmanager
def token_filtered(token: str) -> Iterator[TokenFilter]:
    """The filter on every logger that may see `token`, for the time of the block."""
    token_filter = TokenFilter(token)
    attached = loggers()
    for logger in attached:
        logger.addFilter(token_filter)
    try:
        yield token_filter
    finally:
        for logger in attached:
            logger.removeFilter(token_filter)
