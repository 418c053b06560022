"""Reading a sentiment model file (gzip JSON) a chunk at a time, without holding its text or
its weights as Python objects.

`json.load` would build the whole `weights` object first: 204,637 names, each with a list of
three floats, about 95 MB at once. Reading the decompressed text whole and walking it took
less, but the text alone is 26 MB (one emoji makes CPython store every character in 4 bytes)
and the names as 204,637 `str` objects another 16 MB: the scoring worker peaked at 84 MB
while loading a model that then takes 9 MB. This reader decodes the gzip stream in chunks of
64 K characters and streams `weights` into two compact columns as it goes: the names as
UTF-8 in one buffer (`NameColumn`, about 2 MB) and their weights in one flat array. Any other
field is decoded with the standard decoder (`raw_decode`), one value at a time, so the file
format is plain JSON, unchanged: fields may come in any order and new ones are kept.
"""

from __future__ import annotations

import gzip
import json
import re
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

CHUNK = 1 << 16  # characters decoded from the gzip stream at a time
# One weights entry as `LinearModel.save` writes it (a plain name, three numbers) matched in
# one step; anything else (escapes in the name, a malformed entry) goes through the decoder.
_SPACE_CHARS = "[ \t\n\r]*"  # JSON's whitespace, not \s (which takes U+3000 and more)
_SPACE = re.compile(_SPACE_CHARS)
_NUMBER = r"(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?|NaN|-?Infinity)"
_VALUES = "".join(_SPACE_CHARS + _NUMBER + _SPACE_CHARS + sep for sep in (",", ",", r"\]"))
_NAME = r'"([^"\\\x00-\x1f]*)"'  # no escape, no control character: read as it stands
_ENTRY = re.compile(
    _SPACE_CHARS
    + _NAME
    + _SPACE_CHARS
    + ":"
    + _SPACE_CHARS
    + r"\["
    + _VALUES
    + _SPACE_CHARS
    + "([,}])"
)
_ENTRY_MAX = 4096  # characters: a buffer with less than this left may hold a cut entry
_DECODE = json.JSONDecoder().raw_decode
_VALUE_TAIL = 64  # characters: more than the rest of any number cut by a chunk's end


class NameColumn(Sequence[str]):
    """Strings packed end to end as UTF-8 in one buffer, with their end offsets: a model's
    204,637 feature names take about 2 MB so, where as `str` objects they took 16 MB."""

    def __init__(self, names: Iterable[str] = ()) -> None:
        self._data = bytearray()
        self._ends = array("Q")
        for name in names:
            self.append(name)

    def append(self, name: str) -> None:
        self._data += name.encode("utf-8", "surrogatepass")  # JSON allows lone surrogates
        self._ends.append(len(self._data))

    def _at(self, index: int) -> str:
        start = self._ends[index - 1] if index else 0
        return self._data[start : self._ends[index]].decode("utf-8", "surrogatepass")

    @overload
    def __getitem__(self, index: int) -> str: ...

    @overload
    def __getitem__(self, index: slice) -> list[str]: ...

    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self._at(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("name index out of range")
        return self._at(index)

    def __iter__(self) -> Iterator[str]:
        data, start = self._data, 0
        for end in self._ends:
            yield data[start:end].decode("utf-8", "surrogatepass")
            start = end

    def __len__(self) -> int:
        return len(self._ends)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, NameColumn):
            return self._data == other._data and self._ends == other._ends
        if isinstance(other, Sequence) and not isinstance(other, str):
            return len(other) == len(self) and all(a == b for a, b in zip(self, other, strict=True))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"NameColumn({len(self)} names)"


@dataclass(frozen=True)
class ModelFile:
    fields: dict[str, Any]  # everything but the weights
    names: NameColumn  # the weights' feature names, in file order
    weights: array[float]  # three per name, in the same order


def read_model_file(path: str | Path) -> ModelFile:
    """The file's fields and weight columns; ValueError (one line: what was expected, at which
    character of the decompressed text) for anything that is not a JSON object of that shape
    (json.JSONDecodeError and UnicodeDecodeError are ValueErrors), OSError/EOFError for the
    file (gzip.BadGzipFile is an OSError; a cut gzip stream is an EOFError)."""
    with gzip.open(path, "rt", encoding="utf-8") as source:
        return parse_model_chunks(_chunks(source))


def read_model_header(path: str | Path) -> dict[str, Any]:
    """The file's fields that come before its weights, without reading the weights: the
    version and measured metrics of a 7 MB model in a millisecond (`LinearModel.save` writes
    every other field first). A file whose weights come earlier gives the fields before
    them only. ValueError/OSError/EOFError as `read_model_file`."""
    with gzip.open(path, "rt", encoding="utf-8") as source:
        cursor = _Cursor(_chunks(source))
        fields: dict[str, Any] = {}
        for key in _keys(cursor):
            if key == "weights":
                return fields
            fields[key] = cursor.decode()
        return fields


def parse_model_text(text: str) -> ModelFile:
    """`parse_model_chunks` of a text held whole."""
    return parse_model_chunks([text])


def parse_model_chunks(chunks: Iterable[str]) -> ModelFile:
    """A model file's fields and weight columns from its text, in pieces cut anywhere."""
    cursor = _Cursor(chunks)
    fields: dict[str, Any] = {}
    names = NameColumn()
    weights: array[float] = array("d")
    for key in _keys(cursor):
        if key == "weights":
            _read_weights(cursor, names, weights)
        else:
            fields[key] = cursor.decode()
    if cursor.peek():
        raise ValueError(f"extra data after the model (character {cursor.position})")
    return ModelFile(fields, names, weights)


def _chunks(source: Any) -> Iterator[str]:
    while chunk := source.read(CHUNK):
        yield chunk


def _keys(cursor: _Cursor) -> Iterator[str]:
    """The top-level object's keys, the cursor left at each one's value (which the caller
    reads) before the next; the object's closing brace consumed at the end."""
    cursor.expect("{")
    if cursor.peek() == "}":
        cursor.expect("}")
        return
    while True:
        at = cursor.position
        key = cursor.decode()
        if not isinstance(key, str):
            raise ValueError(f"a field name must be a string (character {at})")
        cursor.expect(":")
        yield key
        if cursor.expect(",}") == "}":
            return


def _read_weights(cursor: _Cursor, names: NameColumn, weights: array[float]) -> None:
    cursor.expect("{")
    if cursor.peek() == "}":
        cursor.expect("}")
        return
    while True:
        match = _ENTRY.match(cursor.text, cursor.at)
        if match is None and len(cursor.text) - cursor.at < _ENTRY_MAX and cursor.more():
            continue  # the entry may be cut by the chunk's end
        if match is not None:
            name, w0, w1, w2, after = match.groups()
            names.append(name)
            weights.extend((float(w0), float(w1), float(w2)))
            cursor.at = match.end()
        else:
            after = _read_entry(cursor, names, weights)
        if after == "}":
            return


def _read_entry(cursor: _Cursor, names: NameColumn, weights: array[float]) -> str:
    """One entry through the decoder (the general case, and the errors); returns the
    character after it: ',' or '}'."""
    name = cursor.decode()
    cursor.expect(":")
    cursor.peek()
    at = cursor.position
    values = cursor.decode()
    if (
        not isinstance(name, str)
        or not isinstance(values, list)
        or len(values) != 3
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    ):
        raise ValueError(f"weights: {name!r} must map to three numbers (character {at})")
    names.append(name)
    weights.extend(values)
    return cursor.expect(",}")


class _Cursor:
    """A position in text that arrives in chunks: `text` holds what is not consumed yet
    (`at` onwards) and whatever was read after it; `position` counts from the file's start."""

    def __init__(self, chunks: Iterable[str]) -> None:
        self._chunks = iter(chunks)
        self._dropped = 0  # characters consumed and let go
        self.text = ""
        self.at = 0
        self._done = False

    @property
    def position(self) -> int:
        return self._dropped + self.at

    def more(self) -> bool:
        """Read the next chunk onto the text (letting go of what is consumed); False at the
        end of the file."""
        for chunk in self._chunks:
            if chunk:
                self._dropped += self.at
                self.text = self.text[self.at :] + chunk
                self.at = 0
                return True
        self._done = True
        return False

    def peek(self) -> str:
        """The next character that is not whitespace ('' at the end), not consumed."""
        while True:
            self.at = _SPACE.match(self.text, self.at).end()  # type: ignore[union-attr]
            if self.at < len(self.text) or not self.more():
                return self.text[self.at : self.at + 1]

    def expect(self, chars: str) -> str:
        """Consume the next character that is not whitespace, one of `chars`; return it."""
        found = self.peek()
        if not found or found not in chars:
            wanted = " or ".join(map(repr, chars))
            said = repr(found) if found else "the end of the file"
            raise ValueError(f"expected {wanted} at character {self.position}, found {said}")
        self.at += 1
        return found

    def decode(self) -> Any:
        """The next JSON value. It must end well before the end of the text, or at the file's
        end: a number cut there ('0.12' of '0.125', '1.5' of '1.5e-3') would read as a
        shorter one."""
        self.peek()
        while True:
            try:
                value, end = _DECODE(self.text, self.at)
            except ValueError as err:
                if self._grow():
                    continue
                at = getattr(err, "pos", self.at)
                reason = getattr(err, "msg", str(err))
                if at >= len(self.text):
                    reason = "the file ends inside a value"
                raise ValueError(f"{reason} at character {self._dropped + at}") from None
            if len(self.text) - end < _VALUE_TAIL and self.more():
                continue
            self.at = end
            return value

    def _grow(self) -> bool:
        """Read on until the text has doubled (or the file ends): a value cut by a chunk's end
        decodes at last, and a malformed one is found out in a few tries, not one a chunk."""
        wanted = 2 * (len(self.text) - self.at) + CHUNK
        grew = False
        while len(self.text) - self.at < wanted and self.more():
            grew = True
        return grew
