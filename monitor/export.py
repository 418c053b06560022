"""`pingfan export`: one record a row, stable field names (design.md), JSON lines or CSV.

CSV is safe to open in a spreadsheet: a text cell that starts with `=`, `+`, `-`, `@`, a tab
or a carriage return gets a leading `'` so that it is shown as text, never run as a formula
(OWASP "CSV injection"); numbers are written as they are, a negative number stays a number.
Rows end in CRLF (RFC 4180), so that a cell holding any line break is quoted.
`excel=True` starts the file with a UTF-8 byte-order mark, which Excel needs to read Chinese
as UTF-8 and which other CSV readers may keep as part of the first header.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from monitor.models import to_utc_iso
from monitor.store import Store

FIELDS: dict[str, tuple[str, ...]] = {
    "posts": (
        "platform",
        "id",
        "author_id",
        "author_name",
        "author_kind",
        "text",
        "created_at",
        "url",
        "topics",
        "is_original",
        "plays",
        "likes",
        "comments",
        "shares",
        "reposts",
        "sentiment",
        "ugc_score",
        "counts_no_longer_reported",
    ),
    "comments": (
        "platform",
        "id",
        "post_id",
        "parent_id",
        "author_id",
        "text",
        "created_at",
        "likes",
        "sentiment",
        "label",
        "p_neutral",
        "p_negative",
    ),
    "topics": ("platform", "topic", "observed_at", "views", "discussions"),
    "accounts": ("platform", "id", "name", "kind", "followers", "observed_at"),
    "alerts": (
        "id",
        "kind",
        "severity",
        "platform",
        "subject_id",
        "title",
        "text",
        "created_at",
        "state",
        "dedupe_key",
    ),
}

# Leading characters that make a spreadsheet read a cell as a formula (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


def parse_since(text: str, timezone: str = "Asia/Shanghai") -> str:
    """`--since` as stored (UTC ISO); a date or a time without offset is read in `timezone`."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as err:
        raise ValueError(
            f"--since {text!r} is not an ISO date or time; use e.g. 2019-07-01 or "
            "2019-07-01T08:00+08:00"
        ) from err
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    try:
        return to_utc_iso(moment)
    except OverflowError:
        # Within a day of year 1 or 9999: in UTC it falls off the calendar, so clamp (all
        # stored times lie between the two).
        edge = datetime.min if moment.year == 1 else datetime.max
        return to_utc_iso(edge.replace(microsecond=0, tzinfo=UTC))


def export_records(store: Store, kind: str, since: str | None = None) -> Iterator[dict[str, Any]]:
    for row in store.reports.export_rows(kind, since):
        yield _finish(kind, row)


def write_records(
    records: Iterator[dict[str, Any]],
    kind: str,
    fmt: str,
    out: IO[str],
    *,
    excel: bool = False,
) -> int:
    """Write `records` to `out`; returns how many. `excel` (CSV only) adds a UTF-8 BOM."""
    count = 0
    if excel and fmt != "csv":
        raise ValueError("excel output is CSV only")
    if fmt == "jsonl":
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
        return count
    if fmt != "csv":
        raise ValueError(f"unknown format {fmt!r}; use jsonl or csv")
    if excel:
        out.write(BOM)
    # CRLF as in RFC 4180: with "\n" alone, a cell holding a bare "\r" went out unquoted and
    # broke the row for every reader.
    writer = csv.DictWriter(out, fieldnames=FIELDS[kind], lineterminator="\r\n")
    writer.writeheader()
    for record in records:
        writer.writerow({key: _csv_value(value) for key, value in record.items()})
        count += 1
    return count


def write_file(
    records: Iterator[dict[str, Any]], kind: str, fmt: str, path: Path, *, excel: bool = False
) -> int:
    """`write_records` into `path` through a temporary file next to it: an export that fails
    half-way leaves no partial file and the previous export at `path` as it was."""
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            count = write_records(records, kind, fmt, out, excel=excel)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return count


def _finish(kind: str, row: dict[str, Any]) -> dict[str, Any]:
    if kind == "posts":
        row["topics"] = json.loads(row["topics"])
        row["is_original"] = bool(row["is_original"])
        row["counts_no_longer_reported"] = bool(row["counts_no_longer_reported"])
        if row["sentiment"] is not None:
            row["sentiment"] = round(row["sentiment"], 4)
    return {name: row[name] for name in FIELDS[kind]}


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
