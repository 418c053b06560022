"""`pingfan export`: one record a row, stable field names (design.md), JSON lines or CSV."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime
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
    return to_utc_iso(moment)


def export_records(store: Store, kind: str, since: str | None = None) -> Iterator[dict[str, Any]]:
    for row in store.export_rows(kind, since):
        yield _finish(kind, row)


def write_records(records: Iterator[dict[str, Any]], kind: str, fmt: str, out: IO[str]) -> int:
    count = 0
    if fmt == "jsonl":
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
        return count
    if fmt != "csv":
        raise ValueError(f"unknown format {fmt!r}; use jsonl or csv")
    writer = csv.DictWriter(out, fieldnames=FIELDS[kind], lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({key: _csv_value(value) for key, value in record.items()})
        count += 1
    return count


def _finish(kind: str, row: dict[str, Any]) -> dict[str, Any]:
    if kind == "posts":
        row["topics"] = json.loads(row["topics"])
        row["is_original"] = bool(row["is_original"])
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
    return value
