"""Records are built from rows by column name, and a SELECT that loses a column fails loudly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from monitor.store.rows import record_of, time_of


@dataclass(frozen=True)
class _Thing:
    id: str
    likes: int | None
    created_at: datetime | None
    note: str = "none"


def test_fields_come_from_their_columns_whatever_the_order() -> None:
    row = {"likes": 3, "extra": "ignored", "id": "a1", "created_at": "2019-07-01T02:00:00+00:00"}
    thing = record_of(_Thing, row, created_at=time_of(row))
    assert thing == _Thing("a1", 3, datetime(2019, 7, 1, 2, tzinfo=UTC))


def test_a_missing_time_stays_none_and_a_default_stays_default() -> None:
    row = {"id": "a1", "likes": None, "created_at": None}
    assert record_of(_Thing, row, created_at=time_of(row)) == _Thing("a1", None, None)


def test_a_required_field_without_a_column_is_an_error() -> None:
    with pytest.raises(TypeError, match="likes"):
        record_of(_Thing, {"id": "a1", "created_at": None})
