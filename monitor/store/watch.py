"""Posts watched by link: one table holding both the team's `pingfan watch add` items
(origin "cli") and the config's `[[watch]]` list (origin "config", synced from the file)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from monitor.models import from_iso, to_utc_iso
from monitor.store.connection import StoreBase

Origin = Literal["cli", "config"]


@dataclass(frozen=True)
class WatchedRow:
    url: str
    platform: str
    id: str | None  # None: a short link not resolved yet
    note: str
    origin: str
    added_at: datetime


@dataclass(frozen=True)
class ConfigWatch:
    """One `[[watch]]` entry as parsed from its link (id None for a short link)."""

    url: str
    platform: str
    id: str | None
    note: str


class WatchStore(StoreBase):
    def add_watch(
        self, url: str, platform: str, post_id: str | None, note: str, origin: Origin, at: datetime
    ) -> WatchedRow:
        """Watch a post; a post already watched (by this or another link) is returned as it
        was, its note updated when one is given."""
        existing = self.find_watch(url) or (self.find_watch(post_id) if post_id else None)
        with self.db.atomic():
            if existing is not None:
                if note and note != existing.note:
                    self.db.execute(
                        "UPDATE watched SET note = ? WHERE url = ?", (note, existing.url)
                    )
            else:
                self.db.execute(
                    "INSERT INTO watched (url, platform, id, note, origin, added_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (url, platform, post_id, note, origin, to_utc_iso(at)),
                )
        found = self.find_watch(existing.url if existing else url)
        assert found is not None
        return found

    def find_watch(self, key: str) -> WatchedRow | None:
        """The watched item with this link or post id."""
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM watched WHERE url = ? OR id = ? ORDER BY pk LIMIT 1",
            (key, key),
        ).fetchone()
        return _row(row) if row else None

    def remove_watch(self, key: str) -> list[WatchedRow]:
        """Stop watching the `pingfan watch add` items with this link or post id; returns
        them. Items from the config file stay (the file is edited by hand)."""
        rows = [
            _row(r)
            for r in self.db.execute(
                f"SELECT {_COLUMNS} FROM watched WHERE (url = ? OR id = ?) AND origin = 'cli'",
                (key, key),
            )
        ]
        with self.db.atomic():
            self.db.execute(
                "DELETE FROM watched WHERE (url = ? OR id = ?) AND origin = 'cli'", (key, key)
            )
        return rows

    def watched(self, platform: str | None = None) -> list[WatchedRow]:
        """Every watched item (of one platform), in the order they were added."""
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM watched WHERE ? IS NULL OR platform = ? ORDER BY pk",
            (platform, platform),
        )
        return [_row(row) for row in rows]

    def watched_ids(self, platform: str) -> list[str]:
        """Resolved post ids watched on `platform`, each once."""
        rows = self.db.execute(
            "SELECT DISTINCT id FROM watched WHERE platform = ? AND id IS NOT NULL ORDER BY id",
            (platform,),
        )
        return [post_id for (post_id,) in rows]

    def watched_due(self, platform: str, *, observed_before: datetime) -> list[str]:
        """Watched post ids of `platform` never stored, or whose counts were last read before
        `observed_before`: never read first, then the longest unread."""
        rows = self.db.execute(
            "SELECT w.id, min(p.observed_at) FROM watched w LEFT JOIN posts p"
            " ON p.platform = w.platform AND p.id = w.id"
            " WHERE w.platform = ? AND w.id IS NOT NULL"
            " AND (p.observed_at IS NULL OR p.observed_at < ?)"
            " GROUP BY w.id ORDER BY p.observed_at IS NOT NULL, p.observed_at, w.id",
            (platform, to_utc_iso(observed_before)),
        )
        return [post_id for post_id, _ in rows]

    def resolve_watch(self, url: str, post_id: str) -> None:
        with self.db.atomic():
            self.db.execute("UPDATE watched SET id = ? WHERE url = ?", (post_id, url))

    def sync_config_watches(self, items: Iterable[ConfigWatch], at: datetime) -> None:
        """The config's `[[watch]]` list, as the file says now: new entries added, removed
        ones dropped, notes updated; a short link keeps the id it was resolved to."""
        wanted = {item.url: item for item in items}
        with self.db.atomic():
            for (url,) in self.db.execute(
                "SELECT url FROM watched WHERE origin = 'config'"
            ).fetchall():
                if url not in wanted:
                    self.db.execute("DELETE FROM watched WHERE url = ?", (url,))
            for item in wanted.values():
                self.db.execute(
                    "INSERT INTO watched (url, platform, id, note, origin, added_at)"
                    " VALUES (?, ?, ?, ?, 'config', ?) ON CONFLICT (url) DO UPDATE SET"
                    " note = excluded.note, id = coalesce(excluded.id, watched.id)",
                    (item.url, item.platform, item.id, item.note, to_utc_iso(at)),
                )


_COLUMNS = "url, platform, id, note, origin, added_at"


def _row(row: tuple[str, str, str | None, str, str, str]) -> WatchedRow:
    return WatchedRow(row[0], row[1], row[2], row[3], row[4], from_iso(row[5]))
