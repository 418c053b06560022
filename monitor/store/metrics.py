"""Time series: follower snapshots of accounts and topic views, a point only when a figure moved."""

from __future__ import annotations

from collections.abc import Iterable

from monitor.models import Account, TopicStats, to_utc_iso
from monitor.store.connection import StoreBase

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


class MetricsStore(StoreBase):
    def save_accounts(self, accounts: Iterable[Account]) -> int:
        """Upsert accounts; append a follower snapshot when the figures changed."""
        count = 0
        with self.db.atomic():
            for account in accounts:
                row = {
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
                self.db.execute(_ACCOUNT_UPSERT, row)
                last = self.db.execute(
                    "SELECT followers, following, posts_count FROM account_metrics"
                    " WHERE platform = ? AND account_id = ? ORDER BY pk DESC LIMIT 1",
                    (account.platform, account.id),
                ).fetchone()
                if last is None or tuple(last) != (
                    account.followers,
                    account.following,
                    account.posts_count,
                ):
                    self.db.execute(
                        "INSERT INTO account_metrics (platform, account_id, observed_at,"
                        " followers, following, posts_count) VALUES (:platform, :id,"
                        " :observed_at, :followers, :following, :posts_count)",
                        row,
                    )
                count += 1
        return count

    def save_topic_stats(self, stats: Iterable[TopicStats]) -> int:
        count = 0
        with self.db.atomic():
            for item in stats:
                last = self.db.execute(
                    "SELECT views, discussions FROM topic_metrics WHERE platform = ? AND topic = ?"
                    " ORDER BY pk DESC LIMIT 1",
                    (item.platform, item.topic),
                ).fetchone()
                if last is not None and tuple(last) == (item.views, item.discussions):
                    continue  # unchanged since the last reading
                self.db.execute(
                    "INSERT INTO topic_metrics (platform, topic, observed_at, views, discussions)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (
                        item.platform,
                        item.topic,
                        to_utc_iso(item.observed_at),
                        item.views,
                        item.discussions,
                    ),
                )
                count += 1
        return count
