"""What differs between SQLite's SQL and PostgreSQL's, in one place, so a query group writes a
statement once.

Most of the store's SQL is the same on both: `INSERT … ON CONFLICT … DO UPDATE SET … excluded.`,
`ON CONFLICT DO NOTHING` (SQLite reads it too: write it instead of `INSERT OR IGNORE`),
`RETURNING`, `CASE`, `coalesce`. What is not:

- placeholders: statements are written in SQLite's (`?`, `?1`, `:name`); the PostgreSQL
  connection rewrites them to psycopg's (`%s`, `%(name)s`) once per statement (`pyformat`);
- two-argument `max`/`min` (SQLite's scalar forms) are `greatest`/`least` on PostgreSQL;
- a NULL-safe equality: SQLite's `a IS b`, PostgreSQL's `a IS NOT DISTINCT FROM b`;
- the time now as the store writes times (ISO 8601 in UTC, text);
- SQLite's `+column` (keeps a term off an index), and `instr` (PostgreSQL's `strpos`).

Times are stored as text on both (ISO 8601 in UTC, compared as strings), so no query converts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

Name = Literal["sqlite", "postgresql"]


@dataclass(frozen=True)
class Dialect:
    name: Name

    def greatest(self, a: str, b: str) -> str:
        """The larger of two values (both non-NULL here: SQLite's max() of a NULL is NULL)."""
        return f"{'max' if self.name == 'sqlite' else 'greatest'}({a}, {b})"

    def least(self, a: str, b: str) -> str:
        return f"{'min' if self.name == 'sqlite' else 'least'}({a}, {b})"

    def same(self, a: str, b: str) -> str:
        """`a` equals `b`, NULL equal to NULL."""
        return f"{a} IS {b}" if self.name == "sqlite" else f"{a} IS NOT DISTINCT FROM {b}"

    def typed(self, placeholder: str, sql_type: str) -> str:
        """A parameter whose type PostgreSQL cannot infer (a NULL in a SELECT list that feeds
        an INSERT): cast there, as it is on SQLite."""
        return placeholder if self.name == "sqlite" else f"CAST({placeholder} AS {sql_type})"

    def unindexed(self, column: str) -> str:
        """`column` in a WHERE term SQLite must not answer from an index on it (`+column`:
        the tuned plans of issue 23); PostgreSQL's planner needs no such hint."""
        return f"+{column}" if self.name == "sqlite" else column

    def contains(self, text: str, needle: str) -> str:
        """`needle` occurs in `text`, case and all (no LIKE patterns, no escaping)."""
        return f"{'instr' if self.name == 'sqlite' else 'strpos'}({text}, {needle}) > 0"

    @property
    def now_iso(self) -> str:
        """The time now, in the stored shape (`2026-05-01T08:00:00.123456+00:00`)."""
        if self.name == "sqlite":
            return "strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now')"
        return "to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"

    # --- for weekly.py and console.py (the digest, the console); `unindexed` and
    # `contains` above serve them too ---------------------------------------------------------

    @property
    def ordered_join(self) -> str:
        """A join SQLite must run in the order written (`CROSS JOIN … ON`, its planner hint);
        PostgreSQL plans the order itself and reads only `JOIN … ON`."""
        return "CROSS JOIN" if self.name == "sqlite" else "JOIN"

    @property
    def like_nocase(self) -> str:
        """LIKE without regard to case, as SQLite's LIKE is (PostgreSQL's is ILIKE)."""
        return "LIKE" if self.name == "sqlite" else "ILIKE"

    def local_date(self, iso: str, shift: str) -> str:
        """The date ('YYYY-MM-DD') of the stored UTC time `iso` (ISO text; at least
        'YYYY-MM-DDTHH:MM:SS') moved by `shift`, a text such as '+8 hours'."""
        if self.name == "sqlite":
            return f"date({iso}, {shift})"
        return (
            f"to_char(CAST(substr({iso}, 1, 19) AS timestamp) + CAST({shift} AS interval),"
            " 'YYYY-MM-DD')"
        )


SQLITE = Dialect("sqlite")
POSTGRESQL = Dialect("postgresql")

# SQLite's placeholders outside string literals and quoted names: `?`, `?NNN`, `:name`
# (not a `::` cast); a literal `%` must be doubled for psycopg.
_TOKENS = re.compile(r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|::|\?(\d*)|:([A-Za-z_]\w*)|%""", re.VERBOSE)


@dataclass(frozen=True)
class Placeholders:
    """A statement in psycopg's style, and how to turn the caller's parameters into its."""

    sql: str
    style: Literal["none", "positional", "numbered", "named"]


@lru_cache(maxsize=512)
def to_pyformat(sql: str) -> Placeholders:
    """`sql` with SQLite placeholders in psycopg's: `?` → `%s`, `?N` → `%(pN)s`, `:n` → `%(n)s`."""
    styles: set[str] = set()

    def replace(match: re.Match[str]) -> str:
        text = match.group(0)
        if text[0] in "'\"" or text == "::":
            return text.replace("%", "%%") if text[0] in "'\"" else text
        if text == "%":
            return "%%"
        if match.group(2) is not None:
            styles.add("named")
            return f"%({match.group(2)})s"
        if match.group(1):
            styles.add("numbered")
            return f"%(p{match.group(1)})s"
        styles.add("positional")
        return "%s"

    converted = _TOKENS.sub(replace, sql)
    if len(styles) > 1:
        raise ValueError(f"mixed placeholder styles in {sql!r}")
    return Placeholders(converted, styles.pop() if styles else "none")  # type: ignore[arg-type]


def params_for(style: str, params: Sequence[Any] | Mapping[str, Any]) -> Any:
    """The caller's parameters in the shape `to_pyformat` asked for."""
    if style == "numbered":
        return {f"p{n}": value for n, value in enumerate(params, start=1)}
    if style == "none" and not params:
        return None
    return params
