"""The parsers' edge: what a platform sends is made safe here before any parser reads it, and
whatever a parser trips over leaves it as a ParseError. Pure.

- JSON nesting is limited (`MAX_DEPTH`), so a body of 100,000 brackets is a ParseError, not
  a RecursionError.
- Integers outside SQLite's int64 range are unknown (None), never wrong: a count of 5,000
  digits or of 2**70 reads as "no figure".
- Lone surrogates (`"\\ud800"`) and NUL characters, which SQLite cannot store as UTF-8 text,
  become U+FFFD.
- A single bad record is skipped (`parse_each`) and its neighbours are kept.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from monitor.errors import ParseError, PingfanError

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
# Deeper than any real Weibo or Douyin answer (they stay under 15), far below recursion limits.
MAX_DEPTH = 100
_INT64_DIGITS = 19
_UNSTORABLE = re.compile("[\ud800-\udfff\x00]")
# A JSON escape that can decode to a lone surrogate; bodies without one skip the string sweep.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_MESSAGE_LIMIT = 200

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


def bounded_int(value: int) -> int | None:
    """`value` when SQLite can store it as an integer, else None (unknown)."""
    return value if INT64_MIN <= value <= INT64_MAX else None


def _json_int(literal: str) -> int | None:
    # Checked on the digits first: int() of 5,000 digits raises (the int-string limit).
    digits = literal.lstrip("-")
    if len(digits) > _INT64_DIGITS:
        return None
    return bounded_int(int(literal))


def clean_text(text: str) -> str:
    """Text SQLite can store: lone surrogates and NUL characters become U+FFFD."""
    return _UNSTORABLE.sub("\ufffd", text) if not text.isascii() or "\x00" in text else text


def load_json(body: str, url: str | None = None) -> Any:
    """A platform's JSON, made safe (see the module doc); ParseError when it cannot be."""
    try:
        payload = json.loads(body, parse_int=_json_int)
    except json.JSONDecodeError as err:
        raise ParseError(f"truncated or invalid JSON ({err.msg} at {err.pos})", url) from err
    except RecursionError as err:
        raise ParseError(f"JSON nested more than {MAX_DEPTH} deep", url) from err
    except (ValueError, MemoryError) as err:
        raise ParseError(f"unreadable JSON ({type(err).__name__})", url) from err
    return sanitize(payload, url, strings=bool(_SURROGATE_ESCAPE.search(body)) or "\\u0000" in body)


def sanitize(payload: Any, url: str | None = None, *, strings: bool = True) -> Any:
    """Check the nesting of decoded JSON and clean its strings (`strings`), in place, without
    recursion. Keys are cleaned as well as values."""
    if isinstance(payload, str):
        return clean_text(payload) if strings else payload
    stack: list[tuple[Any, int]] = [(payload, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ParseError(f"JSON nested more than {MAX_DEPTH} deep", url)
        if isinstance(node, dict):
            if strings and any(isinstance(k, str) and clean_text(k) != k for k in node):
                cleaned = {clean_text(k): v for k, v in node.items()}
                node.clear()
                node.update(cleaned)
            for key, value in node.items():
                if isinstance(value, dict | list):
                    stack.append((value, depth + 1))
                elif strings and isinstance(value, str):
                    node[key] = clean_text(value)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                if isinstance(value, dict | list):
                    stack.append((value, depth + 1))
                elif strings and isinstance(value, str):
                    node[index] = clean_text(value)
    return payload


def short(text: object) -> str:
    """A value for a message: one line, at most a couple of hundred characters."""
    shown = clean_text(str(text)).replace("\n", " ")
    return shown if len(shown) <= _MESSAGE_LIMIT else shown[:_MESSAGE_LIMIT] + "…"


def parser_edge(func: Callable[P, R]) -> Callable[P, R]:
    """Whatever a parser raises leaves it as ParseError (pingfan's own errors pass as they
    are): a hostile field must never surface as a KeyError, OverflowError or RecursionError."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except PingfanError:
            raise
        except Exception as err:  # the edge: every type becomes ParseError
            raise ParseError(
                f"{func.__name__}: {type(err).__name__}: {short(err) or 'no detail'}"
            ) from err

    return wrapper


@dataclass(frozen=True)
class Skipped:
    """A record left out of a page: which one, and what was wrong with it."""

    kind: str  # "comment", "post", ...
    id: str  # its id as sent, or "?" when it has none
    reason: str  # names the field


def record_id(item: object, *keys: str) -> str:
    """The first of `keys` an item has, for a message about it."""
    if isinstance(item, dict):
        for key in keys:
            value = item.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
                return short(value)
    return "?"


def parse_each(
    items: Iterable[Any], parse: Callable[[Any], T], kind: str, *id_keys: str
) -> tuple[list[T], list[Skipped]]:
    """`parse` applied to every item; an item it refuses is skipped and named, the others
    are kept."""
    parsed: list[T] = []
    skipped: list[Skipped] = []
    guarded = parser_edge(parse)
    for item in items:
        try:
            parsed.append(guarded(item))
        except ParseError as err:
            skipped.append(Skipped(kind, record_id(item, *id_keys), short(err)))
    return parsed, skipped


def require_id(value: object, field: str) -> str:
    """A record's id as text; ParseError naming `field` when it is missing or unusable."""
    if isinstance(value, bool) or not isinstance(value, str | int) or str(value) == "":
        raise ParseError(f"{field} is missing or not an id: {short(value)!r}")
    return clean_text(str(value))
