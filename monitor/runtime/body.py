"""Reading a response body within bounds: streamed, capped before and after decompression,
and decoded with a charset that is known and textual (else UTF-8 with replacement).

A body over the cap is `BodyTooLarge`, a ParseError: that source (or thread) fails, the
process goes on with its memory intact. A 200 MB answer stops at the cap; so does a gzip
body that would inflate to 1 GB, since it is inflated a bounded piece at a time.
"""

from __future__ import annotations

import codecs
import logging
import zlib

import aiohttp

from monitor.errors import ParseError

log = logging.getLogger(__name__)

MB = 1024 * 1024
CHUNK = 64 * 1024
# What we ask for: the encodings `read_capped` can inflate within its cap.
ACCEPT_ENCODING = "gzip, deflate"
_GZIP_OR_ZLIB = 32 + zlib.MAX_WBITS  # zlib detects the header


class BodyTooLarge(ParseError):
    """An answer larger than `max_response_mb`, raw or decompressed."""


def _too_large(limit: int, url: str, what: str) -> BodyTooLarge:
    return BodyTooLarge(f"answer larger than {limit / MB:g} MB{what}; not read further", url)


class CappedBody:
    """Raw chunks in, at most `limit` decoded bytes kept; raises BodyTooLarge beyond."""

    def __init__(self, limit: int, encoding: str, url: str) -> None:
        self.limit = limit
        self.url = url
        self.raw = 0
        self.data = bytearray()
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            self._inflate = None
        elif encoding in ("gzip", "x-gzip", "deflate"):
            self._inflate = zlib.decompressobj(_GZIP_OR_ZLIB)
        else:
            raise ParseError(f"answer in an unsupported Content-Encoding {encoding[:40]!r}", url)

    def feed(self, chunk: bytes) -> None:
        self.raw += len(chunk)
        if self.raw > self.limit:
            raise _too_large(self.limit, self.url, "")
        if self._inflate is None:
            self.data += chunk
            return
        pending = chunk
        while pending:
            room = self.limit - len(self.data) + 1
            try:
                piece = self._inflate.decompress(pending, room)
            except zlib.error as err:
                raise ParseError(f"answer not valid compressed data ({err})", self.url) from err
            self.data += piece
            if len(self.data) > self.limit:
                raise _too_large(self.limit, self.url, " once decompressed")
            pending = self._inflate.unconsumed_tail

    def finish(self) -> bytearray:
        if self._inflate is not None:
            try:
                self.data += self._inflate.flush()
            except zlib.error as err:
                raise ParseError(f"answer not valid compressed data ({err})", self.url) from err
            if len(self.data) > self.limit:
                raise _too_large(self.limit, self.url, " once decompressed")
        return self.data


async def read_capped(response: aiohttp.ClientResponse, limit: int, url: str) -> bytearray:
    """The whole body, decompressed, streamed in CHUNK pieces; BodyTooLarge past `limit`
    (the response is closed then, so the rest is never read)."""
    encoding = response.headers.get("Content-Encoding", "")
    declared = response.content_length
    try:
        if declared is not None and declared > limit:
            raise _too_large(limit, url, f" (Content-Length {declared})")
        body = CappedBody(limit, encoding, url)
        async for chunk in response.content.iter_chunked(CHUNK):
            body.feed(chunk)
        return body.finish()
    except ParseError:
        response.close()
        raise


def text_codec(charset: object) -> str:
    """The codec named by a Content-Type charset, when it exists and decodes bytes to text;
    UTF-8 otherwise (`charset=rot13`, `charset=base64`, a made-up name)."""
    if not isinstance(charset, str) or not charset.strip():
        return "utf-8"
    try:
        info = codecs.lookup(charset.strip())
    except (LookupError, ValueError):
        log.debug("unknown charset %r: read as UTF-8", charset[:40])
        return "utf-8"
    if not getattr(info, "_is_text_encoding", True):
        return "utf-8"
    return info.name


def decode_body(raw: bytes | bytearray, charset: object) -> str:
    """Body bytes as text, bad bytes replaced; a codec that cannot replace falls to UTF-8."""
    codec = text_codec(charset)
    try:
        return raw.decode(codec, errors="replace")
    except (UnicodeError, LookupError, ValueError, TypeError):
        return raw.decode("utf-8", errors="replace")
