"""The alert outbox: an alert is stored before it is sent; its dedupe key makes it once-only."""

from __future__ import annotations

from monitor.models import AlertRecord, to_utc_iso
from monitor.store.connection import StoreBase


class OutboxStore(StoreBase):
    def enqueue_alert(self, alert: AlertRecord) -> bool:
        """Put an alert in the outbox; False if its dedupe key is already there."""
        with self.db.atomic():
            cursor = self.db.execute(
                "INSERT INTO alerts (dedupe_key, kind, severity, platform, subject_id, title,"
                " text, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (dedupe_key) DO NOTHING",
                (
                    alert.dedupe_key,
                    alert.kind,
                    alert.severity,
                    alert.platform,
                    alert.subject_id,
                    alert.title,
                    alert.text,
                    to_utc_iso(alert.created_at),
                    to_utc_iso(alert.created_at),
                ),
            )
            return cursor.rowcount == 1
