"""Posts watched by link: one table holding both the team's `pingfan watch add` items
(origin "cli") and the config's `[[watch]]` list (origin "config", synced from the file)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from monitor.models import from_iso, to_utc_iso
from monitor.store.campaigns import label_in_campaign
from monitor.store.connection import Queries

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


@dataclass(frozen=True)
class Counts:
    plays: int | None = None
    likes: int | None = None
    comments: int | None = None
    shares: int | None = None
    reposts: int | None = None

    @property
    def engagement(self) -> int:
        return sum(n or 0 for n in (self.likes, self.comments, self.shares, self.reposts))


@dataclass(frozen=True)
class WatchedPost:
    """A watched item with what is stored about it (for the digest, `/top` and `status`)."""

    platform: str
    id: str
    url: str  # the link it is watched by
    note: str
    collected: bool  # the post is stored
    author_name: str = ""
    author_kind: str = ""
    text: str = ""
    created_at: datetime | None = None
    counts: Counts = Counts()  # the last reading (before `until`, when given)
    gained: int | None = None  # engagement gained since `since` (None: no reading then)
    scored: int = 0  # comments in [since, until) with a sentiment label
    negative: int = 0


class WatchQueries(Queries):
    def add_watch(
        self, url: str, platform: str, post_id: str | None, note: str, origin: Origin, at: datetime
    ) -> WatchedRow:
        """Watch a post; a post already watched (by this or another link) is returned as it
        was, its note updated when one is given."""
        existing = self.find_watch(url) or (self.find_watch(post_id) if post_id else None)
        with self.sql.atomic():
            if existing is not None:
                if note and note != existing.note:
                    self.sql.execute(
                        "UPDATE watched SET note = ? WHERE url = ?", (note, existing.url)
                    )
            else:
                self.sql.execute(
                    "INSERT INTO watched (url, platform, id, note, origin, added_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (url, platform, post_id, note, origin, to_utc_iso(at)),
                )
        found = self.find_watch(existing.url if existing else url)
        assert found is not None
        return found

    def find_watch(self, key: str) -> WatchedRow | None:
        """The watched item with this link or post id."""
        row = self._named(
            f"SELECT {_COLUMNS} FROM watched WHERE url = ? OR id = ? ORDER BY pk LIMIT 1",
            (key, key),
        ).fetchone()
        return _row(row) if row else None

    def remove_watch(self, key: str) -> list[WatchedRow]:
        """Stop watching the `pingfan watch add` items with this link or post id; returns
        them. Items from the config file stay (the file is edited by hand)."""
        rows = [
            _row(r)
            for r in self._named(
                f"SELECT {_COLUMNS} FROM watched WHERE (url = ? OR id = ?) AND origin = 'cli'",
                (key, key),
            )
        ]
        with self.sql.atomic():
            self.sql.execute(
                "DELETE FROM watched WHERE (url = ? OR id = ?) AND origin = 'cli'", (key, key)
            )
        return rows

    def watched(self, platform: str | None = None) -> list[WatchedRow]:
        """Every watched item (of one platform), in the order they were added."""
        rows = self._named(
            f"SELECT {_COLUMNS} FROM watched WHERE CAST(? AS TEXT) IS NULL OR platform = ?"
            " ORDER BY pk",
            (platform, platform),
        )
        return [_row(row) for row in rows]

    def watched_ids(self, platform: str) -> list[str]:
        """Resolved post ids watched on `platform`, each once."""
        rows = self.sql.execute(
            "SELECT DISTINCT id FROM watched WHERE platform = ? AND id IS NOT NULL ORDER BY id",
            (platform,),
        ).fetchall()
        return [post_id for (post_id,) in rows]

    def watched_due(self, platform: str, *, observed_before: datetime) -> list[str]:
        """Watched post ids of `platform` never stored, or whose counts were last read before
        `observed_before`: never read first, then the longest unread."""
        rows = self.sql.execute(
            "SELECT w.id, min(p.observed_at) FROM watched w LEFT JOIN posts p"
            " ON p.platform = w.platform AND p.id = w.id"
            " WHERE w.platform = ? AND w.id IS NOT NULL"
            " AND (p.observed_at IS NULL OR p.observed_at < ?)"
            " GROUP BY w.id ORDER BY min(p.observed_at) IS NOT NULL, min(p.observed_at), w.id",
            (platform, to_utc_iso(observed_before)),
        ).fetchall()
        return [post_id for post_id, _ in rows]

    def watched_posts(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[WatchedPost]:
        """Every watched post (a short link not yet resolved: id ""), with its last counts before
        `until` (or now), the engagement gained since `since`, and its comments' labels in
        the span; most engagement first."""
        found = []
        seen: set[tuple[str, str]] = set()
        for row in self.watched():
            if not self._campaigns_own(row.url):
                continue  # another campaign's link (all are collected; each reads its own)
            if row.id is None:  # a short link not resolved yet
                found.append(WatchedPost(row.platform, "", row.url, row.note, False))
                continue
            if (row.platform, row.id) in seen:
                continue
            seen.add((row.platform, row.id))
            post = self._named(
                "SELECT author_name, author_kind, text, created_at FROM posts"
                " WHERE platform = ? AND id = ?",
                (row.platform, row.id),
            ).fetchone()
            if post is None:
                found.append(WatchedPost(row.platform, row.id, row.url, row.note, False))
                continue
            counts = self._reading(row.platform, row.id, until) or Counts()
            before = self._reading(row.platform, row.id, since) if since else None
            gained = counts.engagement - before.engagement if before else None
            if since is not None and before is None and counts != Counts():
                gained = counts.engagement  # first read within the span
            label_span = " AND created_at >= ?" if since else ""
            label_span += " AND created_at < ?" if until else ""
            params = [row.platform, row.id]
            params += [to_utc_iso(m) for m in (since, until) if m is not None]
            scored, negative = self.sql.execute(
                "SELECT count(label),"
                " coalesce(sum(CASE WHEN label = 'negative' THEN 1 ELSE 0 END), 0)"
                f" FROM (SELECT {label_in_campaign(self.campaign)} AS label FROM comments"
                f" WHERE platform = ? AND post_id = ?{label_span}) AS c",
                params,
            ).fetchone()
            found.append(
                WatchedPost(
                    row.platform,
                    row.id,
                    row.url,
                    row.note,
                    True,
                    author_name=post["author_name"],
                    author_kind=post["author_kind"],
                    text=post["text"],
                    created_at=from_iso(post["created_at"]),
                    counts=counts,
                    gained=gained,
                    scored=scored,
                    negative=negative,
                )
            )
        found.sort(key=lambda item: (not item.collected, -item.counts.engagement))
        return found

    def _campaigns_own(self, url: str) -> bool:
        """Whether the store's campaign watches `url` (campaign '' watches every link)."""
        if not self.campaign:
            return True
        return (
            self.sql.execute(
                "SELECT 1 FROM campaign_members WHERE campaign = ? AND kind = 'watch' AND key = ?",
                (self.campaign, url),
            ).fetchone()
            is not None
        )

    def _reading(self, platform: str, post_id: str, moment: datetime | None) -> Counts | None:
        """The post's counts at its last reading (before `moment`)."""
        where = " AND observed_at < ?" if moment else ""
        params: list[str] = [platform, post_id]
        if moment:
            params.append(to_utc_iso(moment))
        row = self._named(
            "SELECT plays, likes, comments, shares, reposts FROM post_metrics"
            f" WHERE platform = ? AND post_id = ?{where} ORDER BY observed_at DESC LIMIT 1",
            params,
        ).fetchone()
        if row is None and moment is None:
            row = self._named(
                "SELECT plays, likes, comments, shares, reposts FROM posts"
                " WHERE platform = ? AND id = ?",
                (platform, post_id),
            ).fetchone()
        return Counts(**row) if row else None  # the columns are Counts' fields

    def resolve_watch(self, url: str, post_id: str) -> None:
        with self.sql.atomic():
            self.sql.execute("UPDATE watched SET id = ? WHERE url = ?", (post_id, url))

    def sync_config_watches(self, items: Iterable[ConfigWatch], at: datetime) -> None:
        """The config's `[[watch]]` list, as the file says now: new entries added, removed
        ones dropped, notes updated; a short link keeps the id it was resolved to."""
        wanted = {item.url: item for item in items}
        with self.sql.atomic():
            # another campaign's [[watch]] entries are its file's to keep (campaigns.py)
            for (url,) in self.sql.execute(
                "SELECT url FROM watched WHERE origin = 'config' AND NOT EXISTS (SELECT 1"
                " FROM campaign_members m WHERE m.kind = 'watch' AND m.key = watched.url"
                " AND m.campaign != ?)",
                (self.campaign,),
            ).fetchall():
                if url not in wanted:
                    self.sql.execute("DELETE FROM watched WHERE url = ?", (url,))
            for item in wanted.values():
                self.sql.execute(
                    "INSERT INTO watched (url, platform, id, note, origin, added_at)"
                    " VALUES (?, ?, ?, ?, 'config', ?) ON CONFLICT (url) DO UPDATE SET"
                    " note = excluded.note, id = coalesce(excluded.id, watched.id)",
                    (item.url, item.platform, item.id, item.note, to_utc_iso(at)),
                )


_COLUMNS = "url, platform, id, note, origin, added_at"


def _row(row: Mapping[str, Any]) -> WatchedRow:
    return WatchedRow(
        url=row["url"],
        platform=row["platform"],
        id=row["id"],
        note=row["note"],
        origin=row["origin"],
        added_at=from_iso(row["added_at"]),
    )
