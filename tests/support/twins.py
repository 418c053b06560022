"""A store on each back-end holding the same rows, and answers compared between them: a query
group ported to PostgreSQL gives there what it gives on SQLite (floats to rounding)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

from monitor.store import Store
from tests.support.postgres import TEMPLATE, Cluster


@contextmanager
def sqlite_and_postgres(tmp_path: Path, cluster: Cluster) -> Iterator[tuple[Store, Store]]:
    """A new SQLite store and a new database of the session's PostgreSQL cluster."""
    with (
        cluster.temporary_url(TEMPLATE) as url,
        Store.open(tmp_path / "twin.db") as on_sqlite,
        Store.open_postgres(url) as on_postgres,
    ):
        yield on_sqlite, on_postgres


def same(a: Any, b: Any) -> bool:
    """Equal, floats to 1e-9 relative (a sum's order differs between the servers), through
    lists, tuples, dicts and dataclasses."""
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is b
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if is_dataclass(a) and not isinstance(a, type):
        if type(a) is not type(b):
            return False
        return all(same(getattr(a, f.name), getattr(b, f.name)) for f in fields(a))
    if isinstance(a, list | tuple):
        if type(a) is not type(b) or len(a) != len(b):
            return False
        return all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return bool(a == b and type(a) is type(b))
