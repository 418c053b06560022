"""Reading a sentiment model file (gzip JSON) without holding its weights as Python objects.

`json.load` would build the whole `weights` object first: 204,637 names, each with a list of
three floats, about 95 MB at once in the scoring worker, for a second, before they are packed
(`sentiment.PackedWeights`) into about 5 MB. This reader walks the top-level object with the
standard decoder (`raw_decode`, one value at a time) and streams `weights` into two columns as
it goes: its names, and their weights in one flat array. Any other field is decoded normally.
"""

from __future__ import annotations

import gzip
import json
import re
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SPACE = re.compile(r"[ \t\n\r]*")
_DECODE = json.JSONDecoder().raw_decode


@dataclass(frozen=True)
class ModelFile:
    fields: dict[str, Any]  # everything but the weights
    names: list[str]  # the weights' feature names, in file order
    weights: array[float]  # three per name, in the same order


def read_model_file(path: str | Path) -> ModelFile:
    """The file's fields and weight columns; ValueError for anything that is not a JSON object
    of that shape (json.JSONDecodeError is a ValueError), OSError/EOFError for the file."""
    with gzip.open(path, "rt", encoding="utf-8") as source:
        text = source.read()
    return parse_model_text(text)


def read_model_header(path: str | Path) -> dict[str, Any]:
    """The file's fields that come before its weights, without reading the weights: the
    version and measured metrics of a 7 MB model in a millisecond (`LinearModel.save` writes
    every other field first). A file whose weights come earlier gives the fields before
    them only. ValueError/OSError/EOFError as `read_model_file`."""
    chunk = 1 << 16
    with gzip.open(path, "rt", encoding="utf-8") as source:
        text = source.read(chunk)
        while True:
            try:
                return _fields_before_weights(text)
            except ValueError:
                more = source.read(chunk)  # a field cut at the buffer's end: read on
                if not more:
                    raise
                text += more
                chunk *= 2


def _fields_before_weights(text: str) -> dict[str, Any]:
    """ValueError also where `text` ends before the weights or the object's end: a number
    cut at the end would otherwise read as a shorter one."""
    fields: dict[str, Any] = {}
    at = _expect(text, 0, "{")
    if _peek(text, at) == "}":
        return fields
    while True:
        key, at = _DECODE(text, _skip(text, at))
        if not isinstance(key, str):
            raise ValueError(f"a field name must be a string (character {at})")
        at = _expect(text, at, ":")
        if key == "weights":
            return fields
        fields[key], at = _DECODE(text, _skip(text, at))
        after = _peek(text, at)
        if after == "}":
            return fields
        at = _expect(text, at, ",")


def parse_model_text(text: str) -> ModelFile:
    fields: dict[str, Any] = {}
    names: list[str] = []
    weights: array[float] = array("d")
    at = _expect(text, 0, "{")
    if _peek(text, at) == "}":
        return ModelFile(fields, names, weights)
    while True:
        key, at = _DECODE(text, _skip(text, at))
        if not isinstance(key, str):
            raise ValueError(f"a field name must be a string (character {at})")
        at = _expect(text, at, ":")
        if key == "weights":
            at = _read_weights(text, at, names, weights)
        else:
            fields[key], at = _DECODE(text, _skip(text, at))
        at = _skip(text, at)
        if _peek(text, at) == ",":
            at += 1
            continue
        at = _expect(text, at, "}")
        if text[_skip(text, at) :]:
            raise ValueError(f"extra data after the model (character {at})")
        return ModelFile(fields, names, weights)


def _read_weights(text: str, at: int, names: list[str], weights: array[float]) -> int:
    at = _expect(text, at, "{")
    if _peek(text, at) == "}":
        return _skip(text, at) + 1
    while True:
        name, at = _DECODE(text, _skip(text, at))
        at = _expect(text, at, ":")
        values, at = _DECODE(text, _skip(text, at))
        if (
            not isinstance(name, str)
            or not isinstance(values, list)
            or len(values) != 3
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        ):
            raise ValueError(f"weights: {name!r} must map to three numbers (character {at})")
        names.append(name)
        weights.extend(values)
        at = _skip(text, at)
        if _peek(text, at) == ",":
            at += 1
            continue
        return _expect(text, at, "}")


def _skip(text: str, at: int) -> int:
    match = _SPACE.match(text, at)
    return match.end() if match else at


def _peek(text: str, at: int) -> str:
    return text[_skip(text, at) : _skip(text, at) + 1]


def _expect(text: str, at: int, char: str) -> int:
    at = _skip(text, at)
    if text[at : at + 1] != char:
        raise ValueError(f"expected {char!r} at character {at}")
    return at + 1
