"""Several campaigns in one database (issue 25): `[campaign]` in the config, and two campaigns
that share a KOL stay apart. Campaign A watches topic X and KOL k; campaign B topic Y and the
same KOL k. Each runs as its own worker (its own store object) on one database."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from alerts.bot.replies import Replies
from alerts.engine import evaluate
from monitor.campaign import campaign_of, leader_key
from monitor.cli import main
from monitor.config import Config, config_from_dict, load_config
from monitor.errors import ConfigError
from monitor.export import export_records, write_records
from monitor.models import AlertRecord, CampaignMember, TopicStats
from monitor.status import render_status
from monitor.store import Store
from monitor.store.leadership import leader_lock
from monitor.store.migrations import migrations
from monitor.store.outbox import Claim
from monitor.watch import config_watches
from nlp.search_tokens import jieba_search_tokens
from tests.support.factories import T0, comment, post

pytestmark = pytest.mark.both_backends  # the store's tests: SQLite and PostgreSQL

H = timedelta(hours=1)
TOPIC_X, TOPIC_Y = "平凡大连人", "大连之夏"
KOL = "2000000077"


def config_of(tmp_path: Path, campaign: str, topic: str, **more: Any) -> Config:
    raw: dict[str, Any] = {
        "campaign": {"id": campaign, "name": f"活动{campaign}"},
        "storage": {"path": str(tmp_path / "pingfan.db")},
        "topics": [{"name": topic}],
        "kols": [{"platform": "weibo", "id": KOL, "name": "小K"}],
        **more,
    }
    return config_from_dict(raw, tmp_path / f"{campaign}.toml")


def second_worker(store: Store) -> Store:
    """Another connection to the same database, as a second worker has."""
    if store.sql.dialect.name == "sqlite":
        return Store.open(store.path)
    return Store.open_postgres(store.sql.where)  # the test cluster's address has no password


@pytest.fixture
def two(store: Store, tmp_path: Path) -> Iterator[tuple[Store, Store, Config, Config]]:
    config_a = config_of(tmp_path, "A", TOPIC_X)
    config_b = config_of(tmp_path, "B", TOPIC_Y)
    store.enroll(campaign_of(config_a))
    with second_worker(store) as other:
        other.enroll(campaign_of(config_b))
        yield store, other, config_a, config_b


def alert_each(a: Store, b: Store) -> None:
    """One alert of each campaign's own: "A的提醒" on x1, "B的提醒" on y1."""
    a.outbox.enqueue_alert(alert("trending:weibo:x1", "x1", "A的提醒"))
    b.outbox.enqueue_alert(alert("trending:weibo:y1", "y1", "B的提醒"))


def fill(store: Store) -> None:
    """k's post (no topic), one post under X, one under Y; a comment thread on k's post and
    one on X's; readings of both topics. Stored once, by whichever worker read them."""
    store.content.save_posts(
        [
            post("k1", author_id=KOL, author_name="小K", text="小K的新视频", topics=(), likes=50),
            post("x1", author_id="u1", text="X话题的帖子", topics=(TOPIC_X,), likes=30),
            post("y1", author_id="u2", text="Y话题的帖子", topics=(TOPIC_Y,), likes=40),
        ]
    )
    store.content.save_posts(  # a later reading: they gained interactions
        [
            post("k1", author_id=KOL, author_name="小K", text="小K的新视频", topics=(), likes=90,
                 observed_at=T0 + H),
            post("x1", author_id="u1", text="X话题的帖子", topics=(TOPIC_X,), likes=60,
                 observed_at=T0 + H),
            post("y1", author_id="u2", text="Y话题的帖子", topics=(TOPIC_Y,), likes=80,
                 observed_at=T0 + H),
        ]
    )  # fmt: skip
    store.content.save_comments(
        [
            comment("ck1", post_id="k1", text="K的评论一"),
            comment("ck2", post_id="k1", text="K的评论二"),
            comment("cx1", post_id="x1", text="X的评论"),
            comment("cy1", post_id="y1", text="Y的评论"),
        ]
    )
    store.content.set_comment_scores(
        [
            ("weibo", "ck1", 0.40, "neutral", "m1", 0.35, 0.25),  # the least sure
            ("weibo", "ck2", 0.45, "neutral", "m1", 0.30, 0.25),
            ("weibo", "cx1", 0.50, "positive", "m1", 0.30, 0.20),
            ("weibo", "cy1", 0.42, "neutral", "m1", 0.33, 0.25),
        ]
    )
    store.metrics.save_topic_stats(
        [
            TopicStats("weibo", TOPIC_X, T0, views=1000),
            TopicStats("weibo", TOPIC_X, T0 + H, views=1500),
            TopicStats("weibo", TOPIC_Y, T0, views=7000),
            TopicStats("weibo", TOPIC_Y, T0 + H, views=9000),
        ]
    )


def alert(key: str, subject: str, title: str) -> AlertRecord:
    return AlertRecord(
        kind="trending",
        severity="warning",
        title=title,
        text=title,
        dedupe_key=key,
        created_at=T0 + H,
        platform="weibo",
        subject_id=subject,
    )


def exported(store: Store, kind: str) -> list[dict[str, Any]]:
    out = io.StringIO()
    write_records(export_records(store, kind), kind, "jsonl", out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


# --- the config ---------------------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_campaign_id_defaults_to_the_first_topic_and_the_name_to_the_id(
    tmp_path: Path,
) -> None:
    config = load_config(write(tmp_path, '[[topics]]\nname = "平凡大连人"\n[[topics]]\nname = "B"'))
    assert (config.campaign.id, config.campaign.name) == ("平凡大连人", "平凡大连人")
    named = load_config(write(tmp_path, '[campaign]\nid = "dalian-2019"\nname = "平凡的人"'))
    assert (named.campaign.id, named.campaign.name) == ("dalian-2019", "平凡的人")
    only_id = load_config(write(tmp_path, '[campaign]\nid = "dl"\n[[topics]]\nname = "T"'))
    assert (only_id.campaign.id, only_id.campaign.name) == ("dl", "dl")
    no_topic = load_config(write(tmp_path, '[ui]\nlanguage = "en"'))
    assert no_topic.campaign.id == "default"


def test_a_campaign_that_names_itself_writes_its_digests_to_a_folder_of_its_own(
    tmp_path: Path,
) -> None:
    single = load_config(write(tmp_path, '[[topics]]\nname = "平凡大连人"'))
    assert single.digest.out_dir == tmp_path / "data" / "digests"  # as before campaigns
    named = load_config(write(tmp_path, '[campaign]\nid = "A"'))
    assert named.digest.out_dir == tmp_path / "data" / "digests" / "A"
    chosen = load_config(write(tmp_path, '[campaign]\nid = "A"\n[digest]\nout_dir = "out"'))
    assert chosen.digest.out_dir == tmp_path / "out"  # a folder the file names is kept


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ('""', "'campaign.id' '' is empty"),
        ('"a b"', "holds a space or a control character"),
        ('"a\\tb"', "holds a space or a control character"),
        ('"a\\u0007b"', "holds a space or a control character"),
        ('"dalian/2019"', "holds '/'"),
        (f'"{"x" * 65}"', "is 65 characters long; use at most 64"),
        ("7", "'campaign.id' must be"),
    ],
)
def test_a_bad_campaign_id_is_one_clear_line(tmp_path: Path, value: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, f"[campaign]\nid = {value}\n"))
    assert says in str(caught.value) and "\n" not in str(caught.value)


def test_a_first_topic_that_cannot_be_an_id_asks_for_one(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"first topic's name.*holds a space.*set \[campaign\] id"
    ):
        load_config(write(tmp_path, '[[topics]]\nname = "平凡 大连人"\n'))
    fixed = load_config(write(tmp_path, '[campaign]\nid = "dl"\n[[topics]]\nname = "平凡 大连人"'))
    assert fixed.campaign.id == "dl"


def test_campaign_refuses_unknown_keys_and_an_empty_name(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown key 'campaign.nmae' \(did you mean 'name'"):
        load_config(write(tmp_path, '[campaign]\nid = "dl"\nnmae = "x"\n'))
    with pytest.raises(ConfigError, match=r"'campaign\.name' is empty"):
        load_config(write(tmp_path, '[campaign]\nid = "dl"\nname = " "\n'))


def test_the_members_are_the_configs_topics_kols_and_watches(tmp_path: Path) -> None:
    config = config_of(
        tmp_path,
        "A",
        TOPIC_X,
        watch=[{"url": "https://weibo.com/2000000001/4390000000000009"}],
        official={"douyin": ["MS4wOfficial"]},
    )
    campaign = campaign_of(config)
    assert (campaign.id, campaign.name) == ("A", "活动A")
    assert set(campaign.members) == {
        CampaignMember("topic", "weibo", TOPIC_X),
        CampaignMember("topic", "douyin", TOPIC_X),
        CampaignMember("kol", "weibo", KOL),
        CampaignMember("kol", "douyin", "MS4wOfficial"),
        CampaignMember("watch", "weibo", "https://weibo.com/2000000001/4390000000000009"),
    }


# --- two campaigns stay apart ---------------------------------------------------------------


def test_a_shared_kols_post_is_stored_once_and_counted_in_both(
    two: tuple[Store, Store, Config, Config],
) -> None:
    a, b, _, _ = two
    fill(a)
    assert next(a.query("SELECT count(*) AS n FROM posts"))["n"] == 3  # k1 once
    assert {r["id"] for r in exported(a, "posts")} == {"k1", "x1"}
    assert {r["id"] for r in exported(b, "posts")} == {"k1", "y1"}
    assert {r["id"] for r in exported(a, "comments")} == {"ck1", "ck2", "cx1"}
    assert {r["id"] for r in exported(b, "comments")} == {"ck1", "ck2", "cy1"}
    assert {r["topic"] for r in exported(a, "topics")} == {TOPIC_X}
    assert {r["topic"] for r in exported(b, "topics")} == {TOPIC_Y}
    assert (a.reports.table_counts()["posts"], b.reports.table_counts()["posts"]) == (2, 2)
    assert a.campaigns.campaigns() == [("A", "活动A"), ("B", "活动B")]


def test_the_rules_judge_each_campaign_and_a_shared_post_alerts_once_in_each(
    two: tuple[Store, Store, Config, Config],
) -> None:
    a, b, config_a, config_b = two
    fill(a)
    now = T0 + 2 * H
    raised_a = evaluate(a, config_a, now) + evaluate(a, config_a, now + H)
    raised_b = evaluate(b, config_b, now) + evaluate(b, config_b, now + H)
    uploads_a = [x.subject_id for x in raised_a if x.kind == "kol_upload"]
    uploads_b = [x.subject_id for x in raised_b if x.kind == "kol_upload"]
    assert uploads_a == ["k1"] and uploads_b == ["k1"]  # once each, in both
    assert not {x.subject_id for x in raised_a} & {"y1", TOPIC_Y}
    assert not {x.subject_id for x in raised_b} & {"x1", TOPIC_X}
    # what the rules read is the campaign's own
    moving_a = a.signals.posts_moving(created_since=T0 - H, observed_since=T0, until=now)
    moving_b = b.signals.posts_moving(created_since=T0 - H, observed_since=T0, until=now)
    assert {p.id for p in moving_a} == {"k1", "x1"}
    assert {p.id for p in moving_b} == {"k1", "y1"}
    threads_a = {t.post_id for t in a.signals.thread_counts(since=T0, until=now)}
    assert threads_a == {"k1", "x1"}
    assert {w.topic for w in a.signals.topic_windows(since=T0, until=now)} == {TOPIC_X}
    stored = [
        r["campaign"] for r in a.query("SELECT campaign FROM alerts WHERE kind = 'kol_upload'")
    ]
    assert sorted(stored) == ["A", "B"]


def test_one_campaigns_alerts_never_reach_the_others_bot_export_or_status(
    two: tuple[Store, Store, Config, Config],
) -> None:
    a, b, config_a, config_b = two
    fill(a)
    # the same dedupe key in both: each campaign has its own
    assert a.outbox.enqueue_alert(alert("trending:weibo:k1", "k1", "A的提醒"))
    assert b.outbox.enqueue_alert(alert("trending:weibo:k1", "k1", "B的提醒"))
    assert not a.outbox.enqueue_alert(alert("trending:weibo:k1", "k1", "again"))
    assert b.outbox.enqueue_alert(alert("trending:weibo:y1", "y1", "B只有的提醒"))
    assert [r["title"] for r in exported(a, "alerts")] == ["A的提醒"]
    assert [r["title"] for r in exported(b, "alerts")] == ["B的提醒", "B只有的提醒"]
    b_alert = exported(b, "alerts")[1]["id"]
    # the bot of A cannot see, acknowledge or mute B's alert by its number
    assert a.outbox.outbox_alert(b_alert) is None
    assert a.team.ack_alert(b_alert, by="王", by_id="1", at=T0) is None
    assert not a.outbox.mute_alert_subject(b_alert, T0 + 9 * H, at=T0)
    assert b.outbox.outbox_alert(b_alert) is not None
    # a mute in A holds A's alerts only
    a.outbox.mute("weibo", "k1", T0 + 9 * H, at=T0, by="王")
    assert a.outbox.active_mutes(T0 + H) == {("weibo", "k1")}
    assert b.outbox.active_mutes(T0 + H) == set() and b.team.mutes_at(T0 + H) == []
    # status
    status_a, status_b = render_status(a, config_a), render_status(b, config_b)
    assert "alerts: pending=1" in status_a and "alerts: pending=2" in status_b
    assert "campaign: A (活动A)" in status_a and TOPIC_Y not in status_a
    assert f"#{TOPIC_Y}" in status_b and f"#{TOPIC_X}" not in status_b
    # bot replies: /status (topics, today's counts) and /top
    replies_a, replies_b = Replies(config_a, a), Replies(config_b, b)
    now = T0 + 2 * H
    assert TOPIC_X in replies_a.status(now) and TOPIC_Y not in replies_a.status(now)
    assert TOPIC_Y in replies_b.status(now) and TOPIC_X not in replies_b.status(now)
    top_a, top_b = replies_a.top(now, 86400), replies_b.top(now, 86400)
    assert "小K的新视频" in top_a and "X话题的帖子" in top_a and "Y话题的帖子" not in top_a
    assert "小K的新视频" in top_b and "Y话题的帖子" in top_b and "X话题的帖子" not in top_b


def test_a_label_given_in_one_campaign_neither_trains_nor_empties_the_others_queue(
    two: tuple[Store, Store, Config, Config],
) -> None:
    a, b, _, _ = two
    fill(a)
    first_a, first_b = a.team.next_label_candidate(), b.team.next_label_candidate()
    assert first_a is not None and first_b is not None
    assert first_a.id == first_b.id == "ck1"  # k's thread is in both queues
    a.labels.add_label("K的评论一", "negative", platform="weibo", comment_id="ck1", given_by="王")
    a.team.skip_label("weibo", "ck2", by="王", at=T0)
    assert a.labels.labels() == [("K的评论一", "negative")] and b.labels.labels() == []
    assert (a.team.team_label_count(), b.team.team_label_count()) == (1, 0)
    assert [c.id for c in a.team.label_candidates(10)] == ["cx1"]
    assert [c.id for c in b.team.label_candidates(10)] == ["ck1", "cy1", "ck2"]
    assert (a.reports.table_counts()["labels"], b.reports.table_counts()["labels"]) == (1, 0)
    b.team.skip_label("weibo", "cy1", by="李", at=T0)
    assert [c.id for c in b.team.label_candidates(10)] == ["ck1", "ck2"]
    assert [c.id for c in a.team.label_candidates(10)] == ["cx1"]


def test_a_comments_label_is_its_campaigns_in_every_read(
    two: tuple[Store, Store, Config, Config],
) -> None:
    a, b, _, _ = two
    fill(a)  # the model read ck1 as neutral
    a.labels.add_label("K的评论一", "negative", platform="weibo", comment_id="ck1", given_by="王")
    span = {"since": T0 - H, "until": T0 + 9 * H}

    def ck1_label(store: Store) -> str | None:
        [row] = [r for r in exported(store, "comments") if r["id"] == "ck1"]
        return row["label"]

    assert (ck1_label(a), ck1_label(b)) == ("negative", "neutral")  # export, and the digest
    assert (a.reports.label_counts().get("negative"), b.reports.label_counts().get("negative")) == (
        1,
        None,
    )
    counts = {s.campaign: s.signals.thread_counts(**span) for s in (a, b)}  # the rules' figures
    negative = {c: {t.post_id: t.negative for t in found} for c, found in counts.items()}
    assert (negative["A"]["k1"], negative["B"]["k1"]) == (1, 0)
    assert [c.id for c in a.signals.thread_comments("weibo", "k1", label="negative", **span)] == [
        "ck1"
    ]
    assert b.signals.thread_comments("weibo", "k1", label="negative", **span) == []
    [shown_a] = [c for c in a.console.post_comments("weibo", "k1") if c.id == "ck1"]
    [shown_b] = [c for c in b.console.post_comments("weibo", "k1") if c.id == "ck1"]
    assert (shown_a.label, shown_b.label) == ("negative", "neutral")
    b.labels.add_label("K的评论一", "positive", platform="weibo", comment_id="ck1", given_by="李")
    assert (ck1_label(a), ck1_label(b)) == ("negative", "positive")  # each its own team's


def test_rows_from_before_campaigns_are_adopted_by_the_first_campaign_only(
    store: Store, tmp_path: Path
) -> None:
    fill(store)  # a store that never chose a campaign: an upgraded single-campaign database
    store.outbox.enqueue_alert(alert("trending:weibo:x1", "x1", "旧的提醒"))
    store.labels.add_label("X的评论", "positive", platform="weibo", comment_id="cx1")
    store.outbox.mute("weibo", "x1", T0 + 9 * H, at=T0)
    assert [r["id"] for r in exported(store, "posts")] == ["k1", "x1", "y1"]  # every post
    store.enroll(campaign_of(config_of(tmp_path, "A", TOPIC_X)))
    assert [r["title"] for r in exported(store, "alerts")] == ["旧的提醒"]
    assert store.labels.labels() == [("X的评论", "positive")]
    assert store.outbox.active_mutes(T0) == {("weibo", "x1")}
    with second_worker(store) as b:
        b.enroll(campaign_of(config_of(tmp_path, "B", TOPIC_Y)))
        assert exported(b, "alerts") == [] and b.labels.labels() == []
        assert b.outbox.active_mutes(T0) == set()
        store.enroll(campaign_of(config_of(tmp_path, "A", TOPIC_X)))  # a restart: nothing new
        assert [r["title"] for r in exported(store, "alerts")] == ["旧的提醒"]


def test_enrolling_replaces_the_campaigns_members_with_the_configs(
    store: Store, tmp_path: Path
) -> None:
    store.enroll(campaign_of(config_of(tmp_path, "A", TOPIC_X)))
    store.campaigns.add_member(CampaignMember("watch", "weibo", "https://weibo.com/1/2"))
    store.enroll(campaign_of(config_of(tmp_path, "A", TOPIC_Y)))  # the topic changed
    kinds = {(m.kind, m.key) for m in store.campaigns.members("A")}
    assert ("topic", TOPIC_Y) in kinds and ("topic", TOPIC_X) not in kinds
    assert ("watch", "https://weibo.com/1/2") not in kinds  # not a `watch add` link: gone


def test_each_campaign_keeps_and_counts_its_own_watched_links(store: Store, tmp_path: Path) -> None:
    link_a = "https://weibo.com/2000000001/4390000000000009"
    link_b = "https://weibo.com/2000000002/4390000000000010"
    config_a = config_of(tmp_path, "A", TOPIC_X, watch=[{"url": link_a}])
    config_b = config_of(tmp_path, "B", TOPIC_Y, watch=[{"url": link_b}])
    store.enroll(campaign_of(config_a))
    store.watch.sync_config_watches(config_watches(config_a), T0)
    with second_worker(store) as b:
        b.enroll(campaign_of(config_b))
        b.watch.sync_config_watches(config_watches(config_b), T0)  # A's entry stays
        assert {row.url for row in store.watch.watched()} == {link_a, link_b}
        store.content.save_posts(
            [
                post("4390000000000009", author_id="u7", text="A的视频", topics=()),
                post("4390000000000010", author_id="u8", text="B的视频", topics=()),
            ]
        )
        assert [w.url for w in store.watch.watched_posts()] == [link_a]
        assert [w.url for w in b.watch.watched_posts()] == [link_b]
        assert [r["id"] for r in exported(store, "posts")] == ["4390000000000009"]
        assert [r["id"] for r in exported(b, "posts")] == ["4390000000000010"]
        store.watch.sync_config_watches([], T0)  # A's file dropped its entry: B's stays
        assert {row.url for row in store.watch.watched()} == {link_b}


def test_m104_keeps_every_row_and_keys_them_by_campaign(tmp_path: Path) -> None:
    """A database from before campaigns, with rows in every table a campaign owns: m104
    keeps them (campaign ''), and their keys then hold per campaign."""
    db = Database(tmp_path / "old.db")
    migrations.apply(db, stop_before="m104_campaigns")
    at = "2019-07-06T02:00:00+00:00"
    db.execute(
        "INSERT INTO alerts (dedupe_key, kind, severity, title, text, created_at)"
        " VALUES ('k', 'trending', 'info', 't', 'x', ?)",
        (at,),
    )
    db.execute(
        "INSERT INTO rule_state (rule, subject, window_key, fired_at, last_true_at, level,"
        " volume) VALUES ('trending', 's', 'w', ?, ?, 1, 1)",
        (at, at),
    )
    db.execute(
        "INSERT INTO mutes (platform, subject_id, until, muted_at) VALUES ('weibo', 's', ?, ?)",
        (at, at),
    )
    db.execute(
        "INSERT INTO label_skips (platform, comment_id, skipped_at) VALUES ('weibo', 'c', ?)",
        (at,),
    )
    db.execute("INSERT INTO labels (text, label, given_at) VALUES ('好', 'positive', ?)", (at,))
    db.conn.commit()
    db.close()
    with Store.open(tmp_path / "old.db") as store:
        for table in ("alerts", "rule_state", "mutes", "label_skips", "labels"):
            rows = list(store.query(f"SELECT campaign FROM {table}"))
            assert rows == [{"campaign": ""}], table
        names = {row["name"] for row in store.query("SELECT name FROM sqlite_master")}
        assert {"alerts_by_state", "alerts_by_created", "labels_by_comment"} <= names
        store.enroll(campaign_of(config_of(tmp_path, "A", TOPIC_X)))
        store.use_campaign("B")  # the same keys in another campaign are new rows
        assert store.outbox.enqueue_alert(alert("k", "s", "B的"))
        store.outbox.mute("weibo", "s", T0, at=T0)
        store.team.skip_label("weibo", "c", by="李", at=T0)
        counts = {
            table: next(store.query(f"SELECT count(*) AS n FROM {table}"))["n"]
            for table in ("alerts", "mutes", "label_skips")
        }
        assert counts == {"alerts": 2, "mutes": 2, "label_skips": 2}


def test_the_digests_figures_are_each_campaigns_own(
    two: tuple[Store, Store, Config, Config],
) -> None:
    a, b, _, _ = two
    fill(a)
    alert_each(a, b)
    since, until = T0 - H, T0 + 9 * H
    for store, own_post, own_comment, topic, title in (
        (a, "x1", "cx1", TOPIC_X, "A的提醒"),
        (b, "y1", "cy1", TOPIC_Y, "B的提醒"),
    ):
        posts = store.weekly.week_post_totals(since, until)[-1]  # the row for all platforms
        comments = store.weekly.week_comment_totals(since, until)[-1]
        assert (posts.posts, comments.comments) == (2, 3)  # k's post and thread, and its own
        assert {p.id for p in store.weekly.week_posts(since, until)} == {"k1", own_post}
        threads = store.weekly.week_threads(since, until, min_scored=1)
        assert {t.post_id for t in threads} == {"k1", own_post}
        assert {t.topic for t in store.weekly.topic_readings(since, until)} == {topic}
        assert {t.topic for t in store.weekly.topic_reading_before(until)} == {topic}
        assert [x.title for x in store.weekly.week_alerts(since, until)] == [title]
        messages = {m.id for m in store.weekly.week_messages("weibo", since, until)}
        assert messages == {"k1", own_post, "ck1", "ck2", own_comment}
    assert a.weekly.alert_by_key("trending:weibo:y1") is None
    assert b.weekly.alert_by_key("trending:weibo:y1") is not None


def test_the_web_consoles_alerts_and_counts_are_its_campaigns(
    two: tuple[Store, Store, Config, Config],
) -> None:
    a, b, _, _ = two
    fill(a)
    alert_each(a, b)
    b.outbox.mute("weibo", "x1", T0 + 9 * H, at=T0)  # B's mute: not over A's alert
    now = T0 + 2 * H
    [shown] = a.console.alerts(now)
    assert (shown.title, shown.muted_until) == ("A的提醒", None)
    assert [x.title for x in b.console.alerts(now)] == ["B的提醒"]
    assert a.console.newest_alert_id() == shown.id and a.console.alert_kinds() == ["trending"]
    assert a.console.export_counts() == {"posts": 2, "comments": 3, "alerts": 1}
    assert b.console.counts_between(T0 - H, now) == {"posts": 2, "comments": 3, "alerts": 1}


def test_same_named_sinks_of_two_campaigns_deliver_each_its_own_alerts(
    two: tuple[Store, Store, Config, Config],
) -> None:
    a, b, _, _ = two
    a.outbox.register_sink("telegram", "telegram", "chat-a", T0)  # each to its own chat
    b.outbox.register_sink("telegram", "telegram", "chat-b", T0)
    alert_each(a, b)
    a.outbox.enqueue_alert(alert("trending:weibo:k1", "k1", "A的第二条"))
    now = T0 + H
    assert (
        a.outbox.open_deliveries("telegram", now),
        b.outbox.open_deliveries("telegram", now),
    ) == (2, 1)
    due_a = [d.alert.title for d in a.outbox.due_deliveries("telegram", now)]
    due_b = [d.alert.title for d in b.outbox.due_deliveries("telegram", now)]
    assert (due_a, due_b) == (["A的提醒", "A的第二条"], ["B的提醒"])
    b_id = b.outbox.due_deliveries("telegram", now)[0].alert.id
    b.outbox.mark_delivered("telegram", [b_id], "sent", now, messages=1)
    assert b.outbox.delivery_states(b_id) == {"telegram": "sent"}
    assert (a.outbox.sent_since("telegram", T0), b.outbox.sent_since("telegram", T0)) == (0, 1)
    assert a.outbox.unsent_count("telegram") == 2 and b.outbox.unsent_count("telegram") == 0
    assert a.outbox.sink_row("telegram").fingerprint == "chat-a"


def test_each_campaigns_dispatcher_claims_and_gives_back_its_own_sinks_deliveries_only(
    two: tuple[Store, Store, Config, Config],
) -> None:
    a, b, _, _ = two
    for store, chat in ((a, "chat-a"), (b, "chat-b")):
        store.outbox.register_sink("telegram", "telegram", chat, T0)
    alert_each(a, b)
    now = T0 + H
    a.outbox.open_deliveries("telegram", now)
    b.outbox.open_deliveries("telegram", now)
    claimed_a = a.outbox.claim_due("telegram", now, Claim("worker-a"))
    claimed_b = b.outbox.claim_due("telegram", now, Claim("worker-b"))
    assert [d.alert.title for d in claimed_a] == ["A的提醒"]
    assert [d.alert.title for d in claimed_b] == ["B的提醒"]

    def holders() -> dict[str, str | None]:
        rows = a.query("SELECT sink, claimed_by FROM alert_deliveries ORDER BY sink")
        return {row["sink"]: row["claimed_by"] for row in rows}

    shared = a.sql.dialect.name == "postgresql"  # SQLite's one process claims nothing
    if shared:
        assert holders() == {"A/telegram": "worker-a", "B/telegram": "worker-b"}
    a.outbox.release_claims("telegram", "worker-a")
    assert holders() == {"A/telegram": None, "B/telegram": "worker-b" if shared else None}
    assert a.outbox.mark_sending("telegram", [claimed_a[0].alert.id], Claim("worker-a")) is (
        not shared  # given back: A's worker claims it again before it sends
    )
    assert b.outbox.mark_sending("telegram", [claimed_b[0].alert.id], Claim("worker-b"))


async def test_each_campaign_has_a_leader_of_its_own(
    two: tuple[Store, Store, Config, Config],
) -> None:
    a, b, _, _ = two
    assert leader_key("A") == leader_key("A") != leader_key("B")
    assert leader_key("A") == -2_319_471_162_584_947_800  # the same in every release
    with second_worker(a) as a_again:  # a second worker of campaign A
        a_again.use_campaign("A")
        locks = [leader_lock(s.sql, key=leader_key(s.campaign)) for s in (a, b, a_again)]
        try:
            held = [await lock.hold() for lock in locks]
        finally:
            for lock in locks:
                await lock.close()
    # on SQLite the run lock makes the one process the leader
    assert held == ([True, True, False] if a.sql.dialect.name == "postgresql" else [True] * 3)


def test_the_first_campaign_takes_over_the_sinks_delivery_rows(
    store: Store, tmp_path: Path
) -> None:
    store.outbox.register_sink("console", "console", "f", T0)
    store.outbox.enqueue_alert(alert("trending:weibo:x1", "x1", "旧的提醒"))
    store.outbox.open_deliveries("console", T0)
    [old] = store.outbox.due_deliveries("console", T0)
    store.outbox.mark_delivered("console", [old.alert.id], "sent", T0, messages=1)
    store.enroll(campaign_of(config_of(tmp_path, "A", TOPIC_X)))
    row = store.outbox.register_sink("console", "console", "f", T0 + H)
    assert row.last_alert_id == old.alert.id  # it goes on where it stopped
    assert store.outbox.open_deliveries("console", T0 + H) == 0
    assert store.outbox.delivery_states(old.alert.id) == {"console": "sent"}


def test_the_web_consoles_threads_and_ugc_board_are_its_campaigns(
    two: tuple[Store, Store, Config, Config],
) -> None:
    a, b, _, _ = two
    fill(a)
    a.content.set_ugc_scores([("weibo", "x1", 0.9), ("weibo", "y1", 0.8), ("weibo", "k1", 0.7)])
    span = {"since": T0 - H, "until": T0 + 9 * H, "recent_since": T0}
    assert {t.id for t in a.console.threads(**span)} == {"k1", "x1"}
    assert {t.id for t in b.console.threads(**span)} == {"k1", "y1"}
    assert [u.post.id for u in a.console.ugc_board(min_score=0.5)] == ["x1", "k1"]
    assert [u.post.id for u in b.console.ugc_board(min_score=0.5)] == ["y1", "k1"]


def test_the_web_consoles_search_and_sentiment_charts_are_its_campaigns(
    two: tuple[Store, Store, Config, Config],
) -> None:
    a, b, _, _ = two
    fill(a)
    match = a.content.text_match("评论")
    assert match is not None
    assert {f.id for f in a.console.search_newest(match, "comments")} == {"ck1", "ck2", "cx1"}
    assert {f.id for f in b.console.search_newest(match, "comments")} == {"ck1", "ck2", "cy1"}
    posts = a.content.text_match("话题")
    assert posts is not None
    assert [f.id for f in b.console.search_newest(posts, "posts")] == ["y1"]
    sums = (a.console.probability_sums(), b.console.probability_sums(since=T0))
    assert [(s.n, round(s.positive, 2)) for s in sums] == [(3, 1.35), (3, 1.27)]
    span = {"since": T0 - H, "until": T0 + H, "offset_hours": 8}
    b.content.save_comments([comment("cy2", post_id="y1", text="Y的第二条")])
    assert [n for _, n in a.console.comments_by_day(**span)] == [3]
    assert [n for _, n in b.console.comments_by_day(**span)] == [4]


def test_one_campaigns_charts_count_every_comment_as_before(store: Store, tmp_path: Path) -> None:
    store.enroll(campaign_of(config_of(tmp_path, "A", TOPIC_X)))
    fill(store)  # y1 is not A's: alone in its database, A's charts count it as they always did
    assert store.console.probability_sums().n == 4
    days = store.console.comments_by_day(since=T0 - H, until=T0 + H, offset_hours=8)
    assert [n for _, n in days] == [4]


def test_a_ugc_mark_is_its_campaigns(two: tuple[Store, Store, Config, Config]) -> None:
    a, b, _, _ = two
    fill(a)
    assert a.console.mark_ugc("weibo", "k1", "thanked", by="王", at=T0)
    assert (a.console.ugc_mark("weibo", "k1"), b.console.ugc_mark("weibo", "k1")) == (
        "thanked",
        None,
    )
    assert [(u.post.id, u.mark) for u in a.console.ugc_board(min_score=2)] == [("k1", "thanked")]
    assert b.console.ugc_board(min_score=2) == []
    assert b.console.mark_ugc("weibo", "k1", "featured", by="李", at=T0)
    assert a.console.ugc_mark("weibo", "k1") == "thanked"


def test_a_config_opens_the_store_as_its_campaign_and_status_says_which(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = config_of(tmp_path, "A", TOPIC_X)
    with Store.for_config(config, search_tokens=jieba_search_tokens) as store:
        assert store.campaign == "A" and store.outbox.campaign == "A"
        assert CampaignMember("kol", "weibo", KOL) in store.campaigns.members("A")
        fill(store)
    path = tmp_path / "A.toml"
    path.write_text(
        f'[campaign]\nid = "A"\nname = "活动A"\n[storage]\npath = "pingfan.db"\n'
        f'[[topics]]\nname = "{TOPIC_X}"\n[[kols]]\nplatform = "weibo"\nid = "{KOL}"\n'
        'name = "小K"\n',
        encoding="utf-8",
    )
    assert main(["--config", str(path), "status"]) == 0
    out = capsys.readouterr().out
    assert "campaign: A (活动A)" in out and f"#{TOPIC_X}" in out and TOPIC_Y not in out
