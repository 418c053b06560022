"""The chat bot's reads and writes in the store (monitor/store/team.py): the same answers on
SQLite and PostgreSQL. The bot over them is tests/test_bot.py's."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from monitor.models import Account, AlertRecord, TopicStats
from monitor.store import Store
from monitor.store.runtime import CircuitRow
from tests.support.factories import T0, comment, post

pytestmark = pytest.mark.both_backends

H = timedelta(hours=1)
M = timedelta(minutes=1)


def fill_posts(store: Store) -> None:
    store.content.save_posts(
        [
            post("p1", author_id="a1", observed_at=T0 + 5 * M, url="https://weibo.com/p1"),
            post("p2", author_id="a1", created_at=T0 + 30 * M, observed_at=T0 + 10 * M, plays=40),
            post("p3", author_id="a2", created_at=T0 + 2 * H, observed_at=T0 + 125 * M, likes=1),
            post("p5", author_id="a2", created_at=T0 - H, observed_at=T0 + 40 * M, likes=7),
            post(
                "d1",
                platform="douyin",
                author_id="d9",
                created_at=T0 + H,
                observed_at=T0 + 65 * M,
                plays=500,
                likes=50,
                comments=None,
                reposts=None,
            ),
            post("p0", author_id="a1", created_at=T0 - 48 * H, observed_at=T0 - 47 * H),
        ]
    )
    store.content.save_posts(
        [
            post("p1", author_id="a1", observed_at=T0 + 65 * M, likes=30),
            post("p5", author_id="a2", created_at=T0 - H, observed_at=T0 + 90 * M, likes=17),
        ]
    )


def test_platform_status_counts_today_and_tells_the_circuit(store: Store) -> None:
    fill_posts(store)
    store.content.save_comments(
        [
            comment("c1", post_id="p1"),
            comment("c2", post_id="p1", created_at=T0 + 2 * H),
            comment("c0", post_id="p1", created_at=T0 - H),
            comment("e1", platform="douyin", post_id="d1", created_at=T0 + 70 * M),
        ]
    )
    store.runtime.record_source_run("weibo:search", "weibo", status="ok", at=T0, due_at=T0 + H)
    store.runtime.save_circuit(CircuitRow("douyin", "open", "验证码", T0 + 4 * H, 60.0, 0), T0)
    weibo, douyin = store.team.platform_status(["weibo", "douyin"], day_start=T0, now=T0 + 3 * H)
    assert (weibo.platform, weibo.last_success_at, weibo.circuit, weibo.circuit_reason) == (
        "weibo",
        T0,
        "closed",
        "",
    )
    assert (weibo.posts_today, weibo.comments_today, weibo.open_until) == (3, 2, None)
    # no runtime record for douyin: its newest reading
    assert douyin.last_success_at == T0 + 65 * M
    assert (douyin.circuit, douyin.circuit_reason, douyin.open_until) == (
        "open",
        "验证码",
        T0 + 4 * H,
    )
    assert (douyin.posts_today, douyin.comments_today) == (1, 1)


def test_topic_growth_from_the_reading_at_or_after_since(store: Store) -> None:
    store.metrics.save_topic_stats(
        [
            TopicStats("weibo", "平凡大连人", T0, views=100, discussions=1),
            TopicStats("weibo", "平凡大连人", T0 + 30 * M, views=300, discussions=3),
            TopicStats("weibo", "平凡大连人", T0 + 2 * H, views=900, discussions=9),
            TopicStats("douyin", "大连", T0 + 15 * M, views=50),
            TopicStats("douyin", "大连", T0 + 20 * M, views=80),
            TopicStats("douyin", "单点", T0 + 15 * M, views=5),
        ]
    )
    found = store.team.topic_growth(since=T0 + 10 * M, now=T0 + H)
    assert [(g.platform, g.topic, g.at, g.views, g.views_before, g.growth) for g in found] == [
        ("douyin", "单点", T0 + 15 * M, 5, None, None),  # one reading: no growth
        ("douyin", "大连", T0 + 20 * M, 80, 50, 30),  # from the first reading after `since`
        ("weibo", "平凡大连人", T0 + 30 * M, 300, 100, 200),  # from the last one before
    ]
    assert found[2].discussions == 3 and found[2].before_at == T0
    assert store.team.topic_growth(since=T0 - 2 * H, now=T0 - H) == []


def test_top_posts_by_what_they_gained_in_the_window(store: Store) -> None:
    fill_posts(store)
    top = store.team.top_posts(["weibo", "douyin"], since=T0 + 30 * M, now=T0 + 3 * H)
    # d1 and p3 made in the window: all they have; p1 from its reading before `since`; p5,
    # made before and first read after, from its first reading; p2 not read in the window
    assert [(p.platform, p.id, p.gained) for p in top] == [
        ("douyin", "d1", 50),
        ("weibo", "p1", 20),
        ("weibo", "p5", 10),
        ("weibo", "p3", 4),
    ]
    p1 = top[1]
    assert (p1.likes, p1.comments, p1.shares, p1.url, p1.created_at) == (
        30,
        2,
        1,
        "https://weibo.com/p1",
        T0,
    )
    assert top[0].plays == 500 and top[0].comments is None and top[0].shares == 0
    limited = store.team.top_posts(["weibo"], since=T0 + 30 * M, now=T0 + 3 * H, limit=1)
    assert [p.id for p in limited] == ["p1"]


def account(platform: str, id: str, minutes: int, followers: int) -> Account:
    return Account(platform, id, id, T0 + minutes * M, followers=followers)  # type: ignore[arg-type]


def test_kol_table_counts_uploads_and_follower_growth(store: Store) -> None:
    fill_posts(store)
    store.metrics.save_accounts([account("weibo", "a1", -60, 1000)])
    store.metrics.save_accounts([account("weibo", "a1", 60, 1100)])
    store.metrics.save_accounts([account("weibo", "a1", 120, 1300)])
    store.metrics.save_accounts([account("weibo", "a1", 240, 9999)])  # after `now`
    store.metrics.save_accounts([account("douyin", "d9", 30, 500)])
    store.metrics.save_accounts([account("douyin", "d9", 120, 800)])
    store.metrics.save_accounts([account("douyin", "solo", 30, 70)])
    kols = [("weibo", "a1"), ("douyin", "d9"), ("douyin", "solo"), ("weibo", "ghost")]
    a1, d9, solo, ghost = store.team.kol_table(kols, since=T0, now=T0 + 3 * H)
    assert (a1.uploads, a1.plays, a1.likes, a1.comments, a1.shares) == (2, 40, 40, 4, 2)
    assert (a1.followers, a1.followers_before, a1.follower_growth) == (1300, 1000, 300)
    assert a1.engagement_rate == pytest.approx(46 / 2 / 1300)
    assert (d9.uploads, d9.plays, d9.likes, d9.comments, d9.shares) == (1, 500, 50, 0, 0)
    assert (d9.followers, d9.followers_before) == (800, 500)  # the first one after `since`
    assert (solo.uploads, solo.followers, solo.followers_before) == (0, 70, None)
    assert (ghost.uploads, ghost.plays, ghost.likes, ghost.followers) == (0, None, 0, None)


def fill_scored(store: Store) -> None:
    fill_posts(store)
    store.content.save_comments(
        [comment(f"c{n}", post_id="p1", text=f"评论{n}", likes=n) for n in range(1, 5)]
        + [comment("e1", platform="douyin", post_id="d1", text="抖音评论")]
    )
    store.content.set_comment_scores(
        [
            ("weibo", "c1", 0.95, "positive", "m1", 0.03, 0.02),  # sure
            ("weibo", "c2", 0.40, "neutral", "m1", 0.35, 0.25),  # least sure
            ("weibo", "c3", 0.50, "positive", "m1", 0.30, 0.20),
            ("douyin", "e1", 0.10, "negative", "m1", 0.10, 0.80),
        ]
    )  # c4 is not scored


def test_the_label_queue_asks_the_least_sure_first(store: Store) -> None:
    fill_scored(store)
    team = store.team
    first = team.next_label_candidate()
    assert first is not None and (first.platform, first.id) == ("weibo", "c2")
    assert (first.post_text, first.post_url, first.likes) == (
        "推荐我们小区的环卫工人刘阿姨 #平凡大连人# [赞]",
        "https://weibo.com/p1",
        2,
    )
    assert first.p_neutral == pytest.approx(0.35) and first.label == "neutral"
    assert [c.id for c in team.label_candidates(10)] == ["c2", "c3", "e1", "c1"]
    assert [c.id for c in team.label_candidates(2)] == ["c2", "c3"]
    queue_head = next(store.query(team.label_queue_sql()))
    assert queue_head["pk"] == first.pk

    team.skip_label("weibo", "c2", by="telegram:1", at=T0)
    team.skip_label("weibo", "c2", by="telegram:2", at=T0 + M)  # once is enough
    store.labels.add_label("评论3", "negative", platform="weibo", comment_id="c3", given_by="王")
    assert [c.id for c in team.label_candidates(10)] == ["e1", "c1"]
    assert team.team_label_count() == 1
    # a comment asked about by its button, labelled or not
    assert team.label_candidate(first.pk) == first
    c3 = team.stored_comment("weibo", "c3")
    assert c3 is not None and c3.label == "negative" and c3.pk != first.pk
    unscored = team.stored_comment("weibo", "c4")
    assert unscored is not None and unscored.sentiment is None and unscored.label is None
    assert team.stored_comment("weibo", "nope") is None
    assert team.label_candidate(10_000) is None


def test_no_label_candidate_in_an_empty_store(store: Store) -> None:
    assert store.team.next_label_candidate() is None
    assert store.team.label_candidates(5) == []
    assert store.team.team_label_count() == 0


def test_the_first_acknowledgement_stays(store: Store) -> None:
    alert = AlertRecord("trending", "warning", "热度上升", "…", "trending:weibo:p1", T0)
    assert store.outbox.enqueue_alert(alert)
    alert_id = next(store.query("SELECT id FROM alerts"))["id"]
    assert store.team.alert_ack(alert_id) is None
    ack = store.team.ack_alert(alert_id, by="王", by_id=None, at=T0 + M)
    assert ack is not None and (ack.alert_id, ack.by, ack.by_id, ack.at) == (
        alert_id,
        "王",
        None,
        T0 + M,
    )
    again = store.team.ack_alert(alert_id, by="李", by_id="telegram:2", at=T0 + 2 * M)
    assert again == ack and store.team.alert_ack(alert_id) == ack
    assert store.team.ack_alert(alert_id + 100, by="王", by_id="telegram:1", at=T0) is None
    assert store.team.alert_ack(alert_id + 100) is None


def test_mutes_running_now_soonest_first(store: Store) -> None:
    outbox = store.outbox
    outbox.mute("weibo", "p1", T0 + 2 * H, at=T0, by="王", reason="已处理")
    outbox.mute(None, "大连", T0 + H, at=T0)
    outbox.mute("douyin", "x", T0 - H, at=T0 - 2 * H)  # over
    mutes = store.team.mutes_at(T0)
    assert [(m.platform, m.subject_id, m.until, m.muted_by, m.reason) for m in mutes] == [
        ("", "大连", T0 + H, None, None),
        ("weibo", "p1", T0 + 2 * H, "王", "已处理"),
    ]
    assert [m.subject_id for m in store.team.mutes_at(T0 + H)] == ["p1"]


def test_subject_platforms_are_where_a_post_account_or_mute_has_the_id(store: Store) -> None:
    fill_posts(store)
    store.metrics.save_accounts([account("douyin", "d9", 0, 10)])
    assert store.team.subject_platforms("p1") == ["weibo"]
    assert store.team.subject_platforms("d9") == ["douyin"]
    store.outbox.mute("weibo", "d9", T0 + H, at=T0)
    assert store.team.subject_platforms("d9") == ["douyin", "weibo"]
    store.outbox.mute(None, "d9", T0 + H, at=T0)  # no platform: not a platform of it
    assert store.team.subject_platforms("d9") == ["douyin", "weibo"]
    assert store.team.subject_platforms("nobody") == []


def test_label_skips_has_sqlites_columns(store: Store, tmp_path: Path) -> None:
    """The one table only this group uses (test_store_backends.py checks the others)."""
    columns = [
        row["column_name"]
        for row in store.query(
            "SELECT name AS column_name FROM pragma_table_info('label_skips')"
            if store.sql.dialect.name == "sqlite"
            else "SELECT column_name FROM information_schema.columns"
            " WHERE table_name = 'label_skips'"
        )
    ]
    assert sorted(columns) == ["campaign", "comment_id", "platform", "skipped_at", "skipped_by"]
