"""Rows to records by column name: a SELECT names its columns (aliases for aggregates), and a
record takes each of its fields from the column of the same name."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, TypeVar

from monitor.models import from_iso

R = TypeVar("R")


def record_of(cls: type[R], row: Mapping[str, Any], **computed: Any) -> R:
    """`cls` from `row`: every field the row has a column for, as stored, except the ones given
    in `computed` (values the caller converted). A required field with no column is an error
    (the record's TypeError names it), so a SELECT that drops a column cannot pass silently."""
    columns = set(row.keys())
    stored = {
        f.name: row[f.name]
        for f in fields(cls)  # type: ignore[arg-type]
        if f.name in columns and f.name not in computed
    }
    return cls(**stored, **computed)


def time_of(row: Mapping[str, Any], column: str = "created_at") -> Any:
    """A stored ISO time as an aware datetime; None stays None."""
    value = row[column]
    return from_iso(value) if value else None
