"""A config's campaign: its id and name ([campaign]) and the members that decide which stored
posts it counts (its topics on every platform, its KOLs, its watched links). Pure: config in,
record out; the store writes it (`store.campaigns.enroll`)."""

from __future__ import annotations

import hashlib

from monitor.config import Config
from monitor.models import PLATFORMS, Campaign, CampaignMember
from monitor.parse.links import parse_link


def campaign_of(config: Config) -> Campaign:
    """The campaign `config` runs, with its members in a stable order."""
    members = [
        CampaignMember("topic", platform, topic.name)
        for topic in config.topics
        for platform in PLATFORMS  # a topic is watched on both platforms
    ]
    members += [CampaignMember("kol", kol.platform, kol.id) for kol in config.kols]
    # the campaign's own official accounts count as the accounts it follows, as its KOLs do
    members += [CampaignMember("kol", "weibo", account) for account in config.official.weibo]
    members += [CampaignMember("kol", "douyin", account) for account in config.official.douyin]
    # a watched link names its platform (validated at load); the `watched` table resolves it
    members += [CampaignMember("watch", parse_link(i.url).platform, i.url) for i in config.watch]
    unique = tuple(dict.fromkeys(members))
    return Campaign(config.campaign.id, config.campaign.name, unique)


def leader_key(campaign_id: str) -> int:
    """The advisory lock's key of `campaign_id`'s leader (monitor/store/leadership.py): each
    campaign on one database has a leader of its own, running its rules, bot and digest. A
    signed 64-bit number (PostgreSQL's bigint) from a hash of the id: the same in every
    worker and every release, so a campaign's workers always compete for one lock."""
    digest = hashlib.blake2b(f"pingfan leader/{campaign_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
