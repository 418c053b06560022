"""Time series: follower snapshots of accounts and topic views, a point only when a figure moved.

Each save is one transaction of set-based statements: the comparison with the last point is in
SQL, and `executemany` runs the rows in order, so a record read twice in one batch is compared
with its own first reading.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from monitor.models import Account, TopicStats, to_utc_iso
from monitor.store.connection import Queries
from monitor.store.dialect import Dialect


@lru_cache(maxsize=2)
def _account_upsert(d: Dialect) -> str:
    return f"""
INSERT INTO accounts (platform, id, name, kind, verified, followers, first_seen, observed_at)
VALUES (:platform, :id, :name, :kind, :verified, :followers, :observed_at, :observed_at)
ON CONFLICT (platform, id) DO UPDATE SET
    name = excluded.name,
    kind = excluded.kind,
    verified = coalesce(excluded.verified, accounts.verified),
    followers = coalesce(excluded.followers, accounts.followers),
    observed_at = {d.greatest("accounts.observed_at", "excluded.observed_at")}
"""


@lru_cache(maxsize=2)
def _account_point(d: Dialect) -> str:
    given = ", ".join(d.typed(f":{name}", "BIGINT") for name in _ACCOUNT_FIGURES)
    unmoved = " AND ".join(d.same(f"last.{name}", f":{name}") for name in _ACCOUNT_FIGURES)
    return f"""
INSERT INTO account_metrics (platform, account_id, observed_at, followers, following, posts_count)
SELECT :platform, :id, :observed_at, {given}
WHERE NOT EXISTS (
    SELECT 1 FROM (
        SELECT followers, following, posts_count FROM account_metrics
        WHERE platform = :platform AND account_id = :id ORDER BY pk DESC LIMIT 1
    ) AS last
    WHERE {unmoved}
)
"""


_ACCOUNT_FIGURES = ("followers", "following", "posts_count")


@lru_cache(maxsize=2)
def _topic_point(d: Dialect) -> str:
    return f"""
INSERT INTO topic_metrics (platform, topic, observed_at, views, discussions)
SELECT ?1, ?2, ?3, {d.typed("?4", "BIGINT")}, {d.typed("?5", "BIGINT")}
WHERE NOT EXISTS (
    SELECT 1 FROM (
        SELECT views, discussions FROM topic_metrics
        WHERE platform = ?1 AND topic = ?2 ORDER BY pk DESC LIMIT 1
    ) AS last
    WHERE {d.same("last.views", "?4")} AND {d.same("last.discussions", "?5")}
)
"""


class MetricsQueries(Queries):
    def save_accounts(self, accounts: Iterable[Account]) -> int:
        """Upsert accounts; append a follower snapshot when the figures changed."""
        rows = [
            {
                "platform": account.platform,
                "id": account.id,
                "name": account.name,
                "kind": account.kind,
                "verified": account.verified,
                "followers": account.followers,
                "following": account.following,
                "posts_count": account.posts_count,
                "observed_at": to_utc_iso(account.observed_at),
            }
            for account in accounts
        ]
        dialect = self.sql.dialect
        with self.sql.atomic():
            self.sql.executemany(_account_upsert(dialect), rows)
            self.sql.executemany(_account_point(dialect), rows)
        return len(rows)

    def save_topic_stats(self, stats: Iterable[TopicStats]) -> int:
        """Append a views/discussions point per topic whose figures changed; returns how many."""
        rows = [
            (item.platform, item.topic, to_utc_iso(item.observed_at), item.views, item.discussions)
            for item in stats
        ]
        with self.sql.atomic():
            return self.sql.executemany(_topic_point(self.sql.dialect), rows)
