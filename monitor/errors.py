"""The one exception family of pingfan; tests catch these by name."""

from __future__ import annotations


class PingfanError(Exception):
    """Base of every error pingfan raises on purpose."""


class ConfigError(PingfanError):
    """The configuration cannot be used; the message names the file, the key and the fix."""


class StoreError(PingfanError):
    """The database cannot be opened or migrated."""


class CollectorError(PingfanError):
    """A platform source failed."""


class RateLimited(CollectorError):
    """The platform asked us to slow down."""


class Blocked(CollectorError):
    """The platform blocked us (HTTP 403/418/432, captcha, visitor wall)."""


class AuthExpired(CollectorError):
    """The session cookie is missing or no longer accepted."""


class ParseError(CollectorError):
    """A platform response did not have the expected shape."""

    def __init__(self, message: str, url: str | None = None) -> None:
        super().__init__(f"{message} (url: {url})" if url else message)
        self.url = url


class SinkError(PingfanError):
    """An alert sink failed to deliver."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class LinkError(PingfanError):
    """A link that names no Weibo or Douyin post (or a short link that leads nowhere)."""
