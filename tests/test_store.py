import sqlite3  # the schema's own CHECK, met from outside the store
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.models import Account, AlertRecord, Comment, Cursor, Post, TopicStats
from monitor.store import Store
from tests.support.factories import T0, comment, post


@pytest.mark.both_backends
def test_same_post_twice_is_one_row_and_two_metric_points(store: Store) -> None:
    store.content.save_posts([post(likes=10)])
    store.content.save_posts([post(likes=25, observed_at=T0 + timedelta(hours=1))])
    counts = store.reports.table_counts()
    assert counts["posts"] == 1
    assert counts["post_metrics"] == 2
    likes = [r["likes"] for r in store.query("SELECT likes FROM post_metrics ORDER BY pk")]
    assert likes == [10, 25]
    assert next(store.query("SELECT likes FROM posts"))["likes"] == 25


@pytest.mark.both_backends
def test_missing_count_does_not_erase_the_known_one(store: Store) -> None:
    store.content.save_posts([post(plays=None, likes=10)])
    store.content.save_posts([post(plays=None, likes=None, observed_at=T0 + timedelta(hours=1))])
    row = next(store.query("SELECT plays, likes FROM posts"))
    assert row == {"plays": None, "likes": 10}


@pytest.mark.both_backends
def test_times_are_utc_iso_with_offset(store: Store) -> None:
    store.content.save_posts([post()])
    created = next(store.query("SELECT created_at FROM posts"))["created_at"]
    assert created == "2019-07-06T02:00:00+00:00"


@pytest.mark.both_backends
def test_naive_datetime_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="naive"):
        store.content.save_posts([post(created_at=T0.replace(tzinfo=None))])
    assert store.reports.table_counts()["posts"] == 0


@pytest.mark.both_backends
def test_cursor_commits_with_its_rows(store: Store) -> None:
    store.content.save_posts(
        [post("1"), post("2")], cursor=Cursor("weibo:topic", "平凡大连人", "p2")
    )
    assert store.content.cursor("weibo:topic", "平凡大连人") == "p2"
    assert store.reports.table_counts()["posts"] == 2


@pytest.mark.both_backends
def test_failure_midway_lands_neither_rows_nor_cursor(store: Store) -> None:
    def posts_then_failure() -> Iterator[Post]:
        yield post("1")
        yield post("2")
        raise RuntimeError("connection dropped mid-page")

    with pytest.raises(RuntimeError):
        store.content.save_posts(posts_then_failure(), cursor=Cursor("weibo:topic", "k", "next"))
    assert store.reports.table_counts()["posts"] == 0
    assert store.reports.table_counts()["post_metrics"] == 0
    assert store.content.cursor("weibo:topic", "k") is None


def test_process_killed_midway_lands_neither(tmp_path: Path) -> None:
    """A real crash: the writing process dies (os._exit) in the middle of a save."""
    db_path = tmp_path / "crash.db"
    script = textwrap.dedent(
        f"""
        import os
        from monitor.models import Cursor
        from monitor.store import Store
        from tests.support.factories import post

        store = Store.open({str(db_path)!r})
        store.content.save_posts([post("0")], cursor=Cursor("s", "k", "before"))

        def posts():
            yield post("1")
            yield post("2")
            os._exit(9)

        store.content.save_posts(posts(), cursor=Cursor("s", "k", "after"))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=Path(__file__).parent.parent, capture_output=True
    )
    assert result.returncode == 9, result.stderr.decode()
    with Store.open(db_path) as reopened:
        assert reopened.content.cursor("s", "k") == "before"
        ids = [r["id"] for r in reopened.query("SELECT id FROM posts")]
        assert ids == ["0"]


def test_file_database_uses_wal(store: Store) -> None:
    mode = store.db.execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_reopening_does_not_reapply_migrations(tmp_path: Path) -> None:
    path = tmp_path / "again.db"
    migrated = "SELECT name FROM _sqlite_migrations ORDER BY name"
    with Store.open(path) as first:
        first.content.save_posts([post()])
        applied = [r["name"] for r in first.query(migrated)]
    assert applied[0] == "m001_initial"
    assert "m030_fts_built_by_the_store" in applied
    with Store.open(path) as second:
        assert second.reports.table_counts()["posts"] == 1
        assert [r["name"] for r in second.query(migrated)] == applied


def test_memory_database_works() -> None:
    with Store.open(":memory:") as memory:
        memory.content.save_posts([post()])
        assert memory.reports.table_counts()["posts"] == 1


def test_unopenable_path_is_a_store_error(tmp_path: Path) -> None:
    from monitor.errors import StoreError

    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot open database"):
        Store.open(blocker / "sub" / "db.sqlite")


@pytest.mark.both_backends
def test_comments_upsert_and_reply_parent(store: Store) -> None:
    store.content.save_comments([comment("c1"), comment("c2", parent_id="c1")])
    store.content.save_comments([comment("c1", likes=9)])
    rows = list(store.query("SELECT id, parent_id, likes FROM comments ORDER BY id"))
    assert rows == [
        {"id": "c1", "parent_id": None, "likes": 9},
        {"id": "c2", "parent_id": "c1", "likes": 3},
    ]


@pytest.mark.both_backends
def test_accounts_keep_follower_snapshots(store: Store) -> None:
    for hours, followers in ((0, 434000), (6, 436100)):
        store.metrics.save_accounts(
            [
                Account(
                    "weibo",
                    "1000000001",
                    "大连身边事",
                    T0 + timedelta(hours=hours),
                    followers=followers,
                    kind="kol",
                )
            ]
        )
    assert store.reports.table_counts()["accounts"] == 1
    snaps = [r["followers"] for r in store.query("SELECT followers FROM account_metrics")]
    assert snaps == [434000, 436100]


@pytest.mark.both_backends
def test_topic_metrics_are_a_time_series(store: Store) -> None:
    store.metrics.save_topic_stats([TopicStats("douyin", "平凡大连人", T0, views=1_000_000)])
    store.metrics.save_topic_stats(
        [TopicStats("douyin", "平凡大连人", T0 + timedelta(days=1), views=1_200_000)]
    )
    views = [r["views"] for r in store.query("SELECT views FROM topic_metrics ORDER BY pk")]
    assert views == [1_000_000, 1_200_000]


@pytest.mark.both_backends
def test_alert_dedupe_key_is_unique(store: Store) -> None:
    alert = AlertRecord("trending", "warning", "热度上升", "…", "trending:weibo:1:2019-07-06", T0)
    assert store.outbox.enqueue_alert(alert) is True
    assert store.outbox.enqueue_alert(alert) is False
    assert store.reports.table_counts()["alerts"] == 1


def test_labels_accept_only_known_labels(store: Store) -> None:
    store.labels.add_label(
        "太感人了", "positive", platform="weibo", comment_id="c1", given_by="tg:42"
    )
    with pytest.raises(ValueError):
        store.labels.add_label("x", "meh")
    with pytest.raises(sqlite3.IntegrityError):
        store.db.execute("INSERT INTO labels (text, label, given_at) VALUES ('x', 'meh', 'now')")


@pytest.mark.both_backends
def test_full_text_search_finds_chinese_words(store: Store) -> None:
    store.content.save_posts(
        [
            post("1", text="推荐我们小区的环卫工人刘阿姨 #平凡大连人#"),
            post("2", text="星海广场今天堵车太严重了[怒]"),
        ]
    )
    store.content.save_comments([comment("c1", text="大连的公交司机真的很暖心")])
    assert [h.id for h in store.content.search("环卫工人")] == ["1"]
    assert [h.id for h in store.content.search("大连")] == ["1"]
    assert [h.id for h in store.content.search("堵车")] == ["2"]
    assert [h.id for h in store.content.search("公交司机", kind="comments")] == ["c1"]
    assert store.content.search("不存在的词语") == []


@pytest.mark.both_backends
def test_search_input_cannot_inject_fts_syntax(store: Store) -> None:
    store.content.save_posts([post("1", text="大连 OR 北京")])
    assert store.content.search('" OR * NEAR(') == []
    assert [h.id for h in store.content.search("大连")] == ["1"]


@pytest.mark.both_backends
def test_search_follows_updated_text(store: Store) -> None:
    store.content.save_posts([post("1", text="原来的文字")])
    store.content.save_posts([post("1", text="修改后的内容")])
    assert store.content.search("原来") == []
    assert [h.id for h in store.content.search("修改")] == ["1"]


@pytest.mark.both_backends
def test_retention_purges_old_comments_only(store: Store) -> None:
    store.content.save_comments(
        [comment("old"), comment("new", created_at=T0 + timedelta(days=200))]
    )
    removed = store.content.purge_expired_comments(180, now=T0 + timedelta(days=201))
    assert removed == 1
    assert [r["id"] for r in store.query("SELECT id FROM comments")] == ["new"]
    assert store.content.purge_expired_comments(0) == 0


@pytest.mark.both_backends
def test_team_label_sticks_through_rescoring(store: Store) -> None:
    store.content.save_comments([comment("c1", text="绝绝子")])
    store.labels.add_label("绝绝子", "positive", platform="weibo", comment_id="c1", given_by="tg:7")
    store.content.set_comment_scores([("weibo", "c1", 0.2, "negative", "pingfan-default-1")])
    # the comment keeps the model's reading; the team's label is read over it
    row = next(store.query("SELECT sentiment, label, model_version FROM comments"))
    assert row == {"sentiment": 0.2, "label": "negative", "model_version": "pingfan-default-1"}
    assert store.reports.label_counts() == {"positive": 1}


@pytest.mark.both_backends
def test_a_reading_that_moves_no_count_adds_no_metric_point(store: Store) -> None:
    store.content.save_posts([post(likes=10, comments=2)])
    later = T0 + timedelta(hours=1)
    store.content.save_posts([post(likes=10, comments=2, observed_at=later)])  # the page read again
    store.content.save_posts(
        [post(likes=None, comments=None, observed_at=later)]
    )  # counts not given
    store.content.save_posts([post(likes=None, comments=3, observed_at=later)])  # one count moved
    points = list(store.query("SELECT likes, comments FROM post_metrics ORDER BY pk"))
    assert points == [{"likes": 10, "comments": 2}, {"likes": None, "comments": 3}]
    assert next(store.query("SELECT likes, comments FROM posts")) == {"likes": 10, "comments": 3}


@pytest.mark.both_backends
def test_a_post_twice_in_one_batch_is_read_in_order(store: Store) -> None:
    later = T0 + timedelta(hours=1)
    store.content.save_posts(
        [post(likes=10), post("2"), post(likes=12, observed_at=later), post("2")]
    )
    likes = [
        r["likes"]
        for r in store.query(
            "SELECT likes FROM post_metrics WHERE post_id = ?", ["4390000000000001"]
        )
    ]
    assert likes == [10, 12]
    assert store.reports.table_counts()["post_metrics"] == 3
    row = next(store.query("SELECT likes, first_seen, observed_at FROM posts WHERE id != '2'"))
    assert row == {
        "likes": 12,
        "first_seen": "2019-07-06T02:05:00+00:00",
        "observed_at": "2019-07-06T03:00:00+00:00",
    }


@pytest.mark.both_backends
def test_comment_likes_not_given_keep_the_known_count(store: Store) -> None:
    store.content.save_comments([comment("c1", likes=7, observed_at=T0 + timedelta(hours=2))])
    store.content.save_comments([comment("c1", likes=None, observed_at=T0 + timedelta(hours=1))])
    row = next(store.query("SELECT likes, observed_at FROM comments"))
    assert row == {"likes": 7, "observed_at": "2019-07-06T04:00:00+00:00"}


@pytest.mark.both_backends
def test_comment_cursor_commits_with_its_rows_or_not_at_all(store: Store) -> None:
    assert (
        store.content.save_comments([comment("1"), comment("2")], cursor=Cursor("c", "k", "p2"))
        == 2
    )
    assert store.content.cursor("c", "k") == "p2"

    def comments_then_failure() -> Iterator[Comment]:
        yield comment("3")
        raise RuntimeError("connection dropped mid-page")

    with pytest.raises(RuntimeError):
        store.content.save_comments(comments_then_failure(), cursor=Cursor("c", "k", "p3"))
    assert store.content.cursor("c", "k") == "p2"
    assert store.reports.table_counts()["comments"] == 2


@pytest.mark.both_backends
def test_account_snapshot_only_when_a_figure_moved(store: Store) -> None:
    def kol(hours: int, followers: int | None) -> Account:
        at = T0 + timedelta(hours=hours)
        return Account("weibo", "1000000001", "大连身边事", at, followers=followers, kind="kol")

    assert store.metrics.save_accounts([kol(0, 100), kol(1, 100), kol(2, 120)]) == 3
    assert store.metrics.save_accounts([kol(3, 120)]) == 1
    snaps = [r["followers"] for r in store.query("SELECT followers FROM account_metrics")]
    assert snaps == [100, 120]
    store.metrics.save_accounts([kol(4, None)])
    assert next(store.query("SELECT followers FROM accounts"))["followers"] == 120


@pytest.mark.both_backends
def test_topic_stats_count_the_points_added(store: Store) -> None:
    def reading(hours: int, views: int) -> TopicStats:
        return TopicStats("weibo", "平凡大连人", T0 + timedelta(hours=hours), views=views)

    assert store.metrics.save_topic_stats([reading(0, 5), reading(1, 5), reading(2, 9)]) == 2
    assert store.metrics.save_topic_stats([reading(3, 9)]) == 0
    assert store.metrics.save_topic_stats([]) == 0
    views = [r["views"] for r in store.query("SELECT views FROM topic_metrics ORDER BY pk")]
    assert views == [5, 9]


def test_retention_drops_the_citizens_words_copied_into_labels(store: Store) -> None:
    store.content.save_comments(
        [comment("old"), comment("new", created_at=T0 + timedelta(days=200))]
    )
    now = T0 + timedelta(days=201)
    store.labels.add_label("刘阿姨辛苦了[心]", "positive", platform="weibo", comment_id="old")
    store.labels.add_label("刘阿姨辛苦了[心]", "positive", platform="weibo", comment_id="new")
    store.labels.add_label("绝绝子", "positive", given_by="tg:7", given_at=T0)  # typed by the team
    store.labels.add_label(
        "早就删了的评论", "negative", platform="weibo", comment_id="gone", given_at=T0
    )
    store.labels.add_label(
        "还没存的评论", "neutral", platform="weibo", comment_id="later", given_at=now
    )
    assert store.content.purge_expired_comments(180, now=now) == 1
    kept = list(store.query("SELECT comment_id, text FROM labels ORDER BY pk"))
    assert kept == [
        {"comment_id": "new", "text": "刘阿姨辛苦了[心]"},
        {"comment_id": None, "text": "绝绝子"},
        {"comment_id": "later", "text": "还没存的评论"},
    ]
    assert store.labels.labels() == [
        ("刘阿姨辛苦了[心]", "positive"),
        ("绝绝子", "positive"),
        ("还没存的评论", "neutral"),
    ]
