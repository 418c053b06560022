"""Delays a server asks for (`Retry-After`, Telegram's `retry_after`), made safe to use.

A server, a proxy or an attacker in between can answer `Retry-After: inf`, `nan`, `1e12`, a
negative number or garbage. Used as they are, such values overflow `timedelta` (and so end a
pass, and on every restart the next one too), or park a delivery for ever. Every delay that
comes from outside goes through `clamp_delay` before it is used: it is always a finite number
of seconds from `MIN_DELAY` to `MAX_DELAY`, or None when nothing usable was given (the caller
then uses its own backoff). Pure functions; no I/O.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

MIN_DELAY = 1.0  # seconds: never retry sooner, whatever the server says
MAX_DELAY = 3600.0  # seconds: never wait longer on a server's word (1 h)


def clamp_delay(value: object) -> float | None:
    """Seconds within [MIN_DELAY, MAX_DELAY]; None for a missing or unreadable value.

    Numbers and numeric text are read as seconds: +inf and anything huge become MAX_DELAY,
    zero and negatives MIN_DELAY; NaN, booleans and garbage are unreadable (None)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            seconds = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    if math.isnan(seconds):
        return None
    return min(max(seconds, MIN_DELAY), MAX_DELAY)


def retry_after_seconds(header: str | None, now: datetime | None = None) -> float | None:
    """An HTTP `Retry-After` value, seconds or an HTTP date (RFC 9110), clamped; None when
    absent or unreadable. `now` is for the date form (default: the real clock)."""
    if header is None or not header.strip():
        return None
    seconds = clamp_delay(header)
    if seconds is not None:
        return seconds
    try:
        when = parsedate_to_datetime(header.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    reference = now if now is not None else datetime.now(UTC)
    try:
        return clamp_delay((when - reference).total_seconds())
    except OverflowError:
        return MAX_DELAY
