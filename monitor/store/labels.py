"""Sentiment labels the team gave: training data, and they stick to the comment they name.

A label carries its campaign (campaigns.py): it trains, and counts in, that campaign only.
The comment is stored once, with the model's label; every read of a comment's label is the
campaign's (`label_in_campaign`: its team's newest label over the model's), so a label given
in one campaign never changes another's figures, rules, exports or digest."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, cast

from monitor.models import to_utc_iso, utc_now
from monitor.store.connection import Queries

Label = Literal["positive", "neutral", "negative"]


class LabelsQueries(Queries):
    def add_label(
        self,
        text: str,
        label: str,
        *,
        platform: str | None = None,
        comment_id: str | None = None,
        given_by: str | None = None,
        given_at: datetime | None = None,
    ) -> None:
        """Store a sentiment label the team gave (the comment's own stored label, the model's,
        stays: the campaign's reads put this one over it)."""
        if label not in ("positive", "neutral", "negative"):
            raise ValueError(f"label must be positive, neutral or negative, not {label!r}")
        with self.sql.atomic():
            self.sql.execute(
                "INSERT INTO labels (campaign, platform, comment_id, text, label, given_by,"
                " given_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    self.campaign,
                    platform,
                    comment_id,
                    text,
                    label,
                    given_by,
                    to_utc_iso(given_at or utc_now()),
                ),
            )
            if platform and comment_id:  # marked: reads look its campaign's label up
                self.sql.execute(
                    "UPDATE comments SET team_labelled = 1 WHERE platform = ? AND id = ?",
                    (platform, comment_id),
                )

    def labels(self) -> list[tuple[str, Label]]:
        """(text, label) of every label this campaign's team gave, oldest first (the table
        CHECKs the label): what trains its model; another campaign's labels never do."""
        rows = self.sql.execute(
            "SELECT text, label FROM labels WHERE campaign = ? ORDER BY pk", (self.campaign,)
        ).fetchall()
        return [(text, cast(Label, label)) for text, label in rows]
