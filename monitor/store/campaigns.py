"""Several campaigns in one database: which posts each counts, and which rows each owns.

What is collected is shared: a post, its comments and its counts are stored once, whichever
campaign's source read them (a KOL who works for two campaigns is one source name, so one
worker collects it). A campaign counts a stored post when the post is under one of its
topics, by one of its KOLs, or watched by it: `campaign_members`, written from the config
when the daemon or `collect` starts (`enroll`, replacing that campaign's set).

What the team makes carries its campaign: alerts (their dedupe keys are unique per campaign,
so a post in two campaigns may alert in both, once each), rule state, mutes, labels, label
skips and UGC marks. A label the team gives stays in `labels`: the comment's stored label is
the model's, and each campaign reads its own team's label over it (`label_in_campaign`). A
store serves one campaign (`Store.use_campaign`, from `[campaign] id`): every group reads and
writes that campaign's rows only. Campaign '' is a store that never
chose one (a tool, a test): it owns the rows written before campaigns existed and counts every
post. The first campaign that opens the database adopts those rows (`enroll`), and the
delivery rows of its sinks: an upgraded single-campaign file keeps its history, and a sink
goes on where it stopped rather than sending its alerts again.
"""

from __future__ import annotations

from monitor.models import Campaign, CampaignMember
from monitor.store.backend import Backend
from monitor.store.connection import Queries
from monitor.store.dialect import Dialect

# The tables whose rows a campaign owns (migration m104 / p007).
OWNED_TABLES = ("alerts", "rule_state", "mutes", "labels", "label_skips", "ugc_marks")


# The terms below name their own tables `scope_*`, so they never shadow an alias of the
# statement they join.


def literal(text: str) -> str:
    """`text` as an SQL string literal (quotes doubled). A campaign id is put in the text of
    a statement, not passed as a parameter, so a scoped term joins any statement whatever its
    placeholder style; ids are checked at load (one printable word)."""
    return "'" + text.replace("'", "''") + "'"


def _members(campaign: str, kind: str, platform: str) -> str:
    """The campaign's members of `kind` on `platform` (a column), for an EXISTS."""
    return (
        f"SELECT 1 FROM campaign_members scope_m WHERE scope_m.campaign = {literal(campaign)}"
        f" AND scope_m.kind = '{kind}' AND scope_m.platform = {platform}"
    )


def post_in_campaign(dialect: Dialect, campaign: str, post: str = "posts") -> str:
    """An SQL term: the post row `post` (a table name or alias) counts in `campaign`. Three
    probes of the members' key, one per kind; always true for campaign ''."""
    if not campaign:
        return "1 = 1"
    platform = f"{post}.platform"
    # a topic is an item of the post's JSON array of topics
    tagged = dialect.contains(f"{post}.topics", "'\"' || scope_m.key || '\"'")
    watched = (
        "SELECT 1 FROM watched scope_w WHERE scope_w.url = scope_m.key"
        f" AND scope_w.platform = {platform} AND scope_w.id = {post}.id"
    )
    return (
        f"(EXISTS ({_members(campaign, 'kol', platform)} AND scope_m.key = {post}.author_id)"
        f" OR EXISTS ({_members(campaign, 'topic', platform)} AND {tagged})"
        f" OR EXISTS ({_members(campaign, 'watch', platform)} AND EXISTS ({watched})))"
    )


def comment_in_campaign(dialect: Dialect, campaign: str, comment: str = "comments") -> str:
    """An SQL term: the comment row `comment` is under a post that counts in `campaign`."""
    if not campaign:
        return "1 = 1"
    return (
        f"EXISTS (SELECT 1 FROM posts scope_p WHERE scope_p.platform = {comment}.platform"
        f" AND scope_p.id = {comment}.post_id AND {post_in_campaign(dialect, campaign, 'scope_p')})"
    )


def label_in_campaign(campaign: str, comment: str = "comments") -> str:
    """An SQL expression: the sentiment label of the comment row `comment` as `campaign` reads
    it: the newest label its team gave the comment, else the stored one (the model's, or a
    label given before labels were a campaign's). The labels' index is probed only for the
    comments some team labelled (`team_labelled`, m107): the others cost nothing more.
    Campaign '' reads the labels given with no campaign chosen, as any other campaign."""
    return (
        f"CASE WHEN {comment}.team_labelled = 1 THEN coalesce((SELECT scope_l.label"
        f" FROM labels scope_l WHERE scope_l.campaign = {literal(campaign)}"
        f" AND scope_l.platform = {comment}.platform AND scope_l.comment_id = {comment}.id"
        f" ORDER BY scope_l.pk DESC LIMIT 1), {comment}.label) ELSE {comment}.label END"
    )


def topic_in_campaign(campaign: str, series: str = "topic_metrics") -> str:
    """An SQL term: the topic reading `series` is of one of `campaign`'s topics."""
    if not campaign:
        return "1 = 1"
    members = _members(campaign, "topic", f"{series}.platform")
    return f"EXISTS ({members} AND scope_m.key = {series}.topic)"


def account_in_campaign(dialect: Dialect, campaign: str, account: str = "accounts") -> str:
    """An SQL term: the account row `account` is one of `campaign`'s KOLs, or wrote one of its
    posts."""
    if not campaign:
        return "1 = 1"
    kol = _members(campaign, "kol", f"{account}.platform")
    wrote = (
        f"SELECT 1 FROM posts scope_a WHERE scope_a.platform = {account}.platform"
        f" AND scope_a.author_id = {account}.id"
        f" AND {post_in_campaign(dialect, campaign, 'scope_a')}"
    )
    return f"(EXISTS ({kol} AND scope_m.key = {account}.id) OR EXISTS ({wrote}))"


def campaign_topics(sql: Backend, campaign: str) -> set[tuple[str, str]] | None:
    """(platform, topic) of `campaign`'s topics; None for campaign '' (every topic series)."""
    if not campaign:
        return None
    rows = sql.execute(
        "SELECT platform, key FROM campaign_members WHERE campaign = ? AND kind = 'topic'",
        (campaign,),
    ).fetchall()
    return {(platform, topic) for platform, topic in rows}


class CampaignsQueries(Queries):
    def enroll(self, campaign: Campaign) -> int:
        """Record `campaign` and replace its members with the config's. The first campaign
        recorded in the database adopts the rows no campaign owns yet (from before m104);
        returns how many rows it adopted (0 for any later campaign). A campaign recorded as
        it is writes nothing (a restart; and a damaged file is not written before the damage
        is found)."""
        if self._recorded_as(campaign):
            return 0
        with self.sql.atomic():
            if self.sql.dialect.name == "postgresql":
                # two workers starting at once: one enrolls after the other, so exactly one
                # of them is the first (SQLite's writers take turns anyway)
                self.sql.execute("LOCK TABLE campaigns IN SHARE ROW EXCLUSIVE MODE")
            first = self.sql.execute("SELECT count(*) FROM campaigns").fetchone()[0] == 0
            self.sql.execute(
                "INSERT INTO campaigns (id, name) VALUES (?, ?)"
                " ON CONFLICT (id) DO UPDATE SET name = excluded.name",
                (campaign.id, campaign.name),
            )
            # links added with `pingfan watch add` are not in the config: they stay members
            self.sql.execute(
                "DELETE FROM campaign_members WHERE campaign = ? AND NOT (kind = 'watch'"
                " AND key IN (SELECT url FROM watched WHERE origin = 'cli'))",
                (campaign.id,),
            )
            self.sql.executemany(
                "INSERT INTO campaign_members (campaign, kind, platform, key) VALUES (?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                [(campaign.id, m.kind, m.platform, m.key) for m in campaign.members],
            )
            if not first:
                return 0
            adopted = sum(
                self.sql.execute(
                    f"UPDATE {table} SET campaign = ? WHERE campaign = ''", (campaign.id,)
                ).rowcount
                for table in OWNED_TABLES
            )
            # the sinks that delivered those alerts are the campaign's now (outbox._sink_key)
            for table in ("alert_sinks", "alert_deliveries"):
                self.sql.execute(f"UPDATE {table} SET sink = ? || sink", (f"{campaign.id}/",))
            return adopted

    def _recorded_as(self, campaign: Campaign) -> bool:
        """Whether `campaign` is recorded with its name and exactly its members (besides the
        links `pingfan watch add` added)."""
        row = self.sql.execute("SELECT name FROM campaigns WHERE id = ?", (campaign.id,)).fetchone()
        if row is None or row[0] != campaign.name:
            return False
        rows = self.sql.execute("SELECT url FROM watched WHERE origin = 'cli'").fetchall()
        added = {url for (url,) in rows}
        recorded = {
            m for m in self.members(campaign.id) if not (m.kind == "watch" and m.key in added)
        }
        wanted = {m for m in campaign.members if not (m.kind == "watch" and m.key in added)}
        return recorded == wanted

    def add_member(self, member: CampaignMember) -> None:
        """One more member of the store's campaign (a link `pingfan watch add` watches)."""
        if not self.campaign:
            return  # no campaign chosen: every post already counts
        with self.sql.atomic():
            self.sql.execute(
                "INSERT INTO campaign_members (campaign, kind, platform, key) VALUES (?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (self.campaign, member.kind, member.platform, member.key),
            )

    def campaigns(self) -> list[tuple[str, str]]:
        """(id, name) of every campaign recorded, by id."""
        rows = self.sql.execute("SELECT id, name FROM campaigns ORDER BY id").fetchall()
        return [(campaign_id, name) for campaign_id, name in rows]

    def members(self, campaign_id: str) -> list[CampaignMember]:
        rows = self.sql.execute(
            "SELECT kind, platform, key FROM campaign_members WHERE campaign = ?"
            " ORDER BY kind, platform, key",
            (campaign_id,),
        ).fetchall()
        return [CampaignMember(kind, platform, key) for kind, platform, key in rows]
