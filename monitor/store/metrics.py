"""Time series: follower snapshots of accounts and topic views, a point only when a figure moved.

Each save is one transaction of set-based statements: the comparison with the last point is in
SQL, and `executemany` runs the rows in order, so a record read twice in one batch is compared
with its own first reading.
"""

from __future__ import annotations

from collections.abc import Iterable

from monitor.models import Account, TopicStats, to_utc_iso
from monitor.store.connection import Queries

_ACCOUNT_UPSERT = """
INSERT INTO accounts (platform, id, name, kind, verified, followers, first_seen, observed_at)
VALUES (:platform, :id, :name, :kind, :verified, :followers, :observed_at, :observed_at)
ON CONFLICT (platform, id) DO UPDATE SET
    name = excluded.name,
    kind = excluded.kind,
    verified = coalesce(excluded.verified, verified),
    followers = coalesce(excluded.followers, followers),
    observed_at = max(observed_at, excluded.observed_at)
"""

_ACCOUNT_POINT = """
INSERT INTO account_metrics (platform, account_id, observed_at, followers, following, posts_count)
SELECT :platform, :id, :observed_at, :followers, :following, :posts_count
WHERE NOT EXISTS (
    SELECT 1 FROM (
        SELECT followers, following, posts_count FROM account_metrics
        WHERE platform = :platform AND account_id = :id ORDER BY pk DESC LIMIT 1
    ) AS last
    WHERE last.followers IS :followers AND last.following IS :following
        AND last.posts_count IS :posts_count
)
"""

_TOPIC_POINT = """
INSERT INTO topic_metrics (platform, topic, observed_at, views, discussions)
SELECT ?1, ?2, ?3, ?4, ?5
WHERE NOT EXISTS (
    SELECT 1 FROM (
        SELECT views, discussions FROM topic_metrics
        WHERE platform = ?1 AND topic = ?2 ORDER BY pk DESC LIMIT 1
    ) AS last
    WHERE last.views IS ?4 AND last.discussions IS ?5
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
        with self.db.atomic():
            self.db.conn.executemany(_ACCOUNT_UPSERT, rows)
            self.db.conn.executemany(_ACCOUNT_POINT, rows)
        return len(rows)

    def save_topic_stats(self, stats: Iterable[TopicStats]) -> int:
        """Append a views/discussions point per topic whose figures changed; returns how many."""
        rows = [
            (item.platform, item.topic, to_utc_iso(item.observed_at), item.views, item.discussions)
            for item in stats
        ]
        with self.db.atomic():
            return self.db.conn.executemany(_TOPIC_POINT, rows).rowcount
