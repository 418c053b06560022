"""The alert rules' facts in the store (monitor/store/signals.py): the same answers on SQLite
and PostgreSQL. How the rules judge them is tests/test_alert_rules.py's."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.models import TopicStats
from monitor.store import Store
from monitor.store.dialect import POSTGRESQL, SQLITE
from monitor.store.signals import ThreadCounts, topic_series_keys
from tests.support.factories import T0, comment, post

pytestmark = pytest.mark.both_backends

H = timedelta(hours=1)
M = timedelta(minutes=1)


def fill(store: Store) -> None:
    """Five posts on two platforms (p1 read twice, its likes moving), six comments."""
    store.content.save_posts(
        [
            post("p1", author_id="a1", observed_at=T0 + 5 * M),
            post("p2", author_id="a1", created_at=T0 + 30 * M, observed_at=T0 + 10 * M, likes=5),
            post("p3", author_id="a2", created_at=T0 + 2 * H, observed_at=T0 + 125 * M, plays=9),
            post(
                "d1",
                platform="douyin",
                author_id="d9",
                created_at=T0 + H,
                observed_at=T0 + 65 * M,
                plays=500,
                likes=50,
                topics=(),
            ),
        ]
    )
    store.content.save_posts([post("p1", author_id="a1", observed_at=T0 + 65 * M, likes=30)])
    store.content.save_posts(  # stored last: the highest pk, never scored
        [post("p0", author_id="a2", created_at=T0 - 48 * H, observed_at=T0 - 47 * H)]
    )
    store.content.save_comments(
        [
            comment("c1", post_id="p1", text="刘阿姨真暖心", likes=3),
            comment("c2", post_id="p1", created_at=T0 + 20 * M, likes=8, text="太差了"),
            comment("c3", post_id="p1", created_at=T0 + 40 * M, likes=None, text="路过"),
            # made a day ago, read late (first seen in the window)
            comment("c4", post_id="p1", created_at=T0 - 24 * H, observed_at=T0 + 50 * M, likes=1),
            comment(
                "c5",
                post_id="p3",
                created_at=T0 + 130 * M,
                observed_at=T0 + 135 * M,
                likes=20,
                text="星海广场又堵车",
            ),
            comment(
                "e1",
                platform="douyin",
                post_id="d1",
                created_at=T0 + 70 * M,
                observed_at=T0 + 75 * M,
                likes=100,
                text="太堵了 堵车 FIREWORKS",
            ),
        ]
    )
    store.content.set_comment_scores(
        [
            ("weibo", "c1", 0.9, "positive", "m1"),
            ("weibo", "c2", 0.1, "negative", "m1"),
            ("weibo", "c4", 0.2, "negative", "m1"),
            ("weibo", "c5", 0.1, "negative", "m1"),
            ("douyin", "e1", 0.5, "neutral", "m1"),
        ]
    )


def ids(posts: object) -> list[str]:
    return [p.id for p in posts]  # type: ignore[attr-defined]


def test_the_dialect_helpers_write_each_backends_sql() -> None:
    assert SQLITE.unindexed("platform") == "+platform"
    assert POSTGRESQL.unindexed("platform") == "platform"
    assert SQLITE.contains("text", "?") == "instr(text, ?) > 0"
    assert POSTGRESQL.contains("text", "?") == "strpos(text, ?) > 0"


def test_posts_moving_are_those_created_and_read_in_the_window(store: Store) -> None:
    fill(store)
    moving = store.signals.posts_moving(
        created_since=T0 - H, observed_since=T0 + 30 * M, until=T0 + 3 * H
    )
    assert ids(moving) == ["p1", "d1", "p3"]  # p2 was read too early, p0 made too early
    p1 = moving[0]
    assert (p1.platform, p1.author_id, p1.likes, p1.comments, p1.reposts) == (
        "weibo",
        "a1",
        30,
        2,
        1,
    )
    assert p1.topics == ("平凡大连人",) and p1.created_at == T0 and p1.pk > 0
    assert moving[1].topics == () and moving[1].plays == 500


def test_posts_by_keys_finds_the_stored_ones(store: Store) -> None:
    fill(store)
    found = store.signals.posts_by_keys(
        [("weibo", "p1"), ("douyin", "d1"), ("weibo", "nope"), ("douyin", "p1"), ("weibo", "p1")]
    )
    assert sorted(found) == [("douyin", "d1"), ("weibo", "p1")]
    assert found[("douyin", "d1")].likes == 50


def test_metric_series_are_each_posts_readings_in_order(store: Store) -> None:
    fill(store)
    series = store.signals.metric_series("weibo", ["p1", "p2", "zz"], T0 + 2 * H)
    assert [(p.at, p.likes) for p in series["p1"]] == [(T0 + 5 * M, 10), (T0 + 65 * M, 30)]
    assert series["p1"][0].interactions == 13 and series["p1"][1].interactions == 33
    assert [p.likes for p in series["p2"]] == [5] and series["zz"] == []
    early = store.signals.metric_series("weibo", ["p1"], T0 + 30 * M)
    assert [p.likes for p in early["p1"]] == [10]


def test_an_authors_posts_newest_first_in_a_half_open_window(store: Store) -> None:
    fill(store)
    author_posts = store.signals.author_posts
    assert ids(author_posts("weibo", "a1", since=T0 - H, before=T0 + 30 * M)) == ["p1"]
    assert ids(author_posts("weibo", "a1", since=T0 - H, before=T0 + 31 * M)) == ["p2", "p1"]
    assert ids(author_posts("weibo", "a1", since=T0 - H, before=T0 + H, limit=1)) == ["p2"]
    assert author_posts("douyin", "a1", since=T0 - H, before=T0 + H) == []


def test_a_platforms_posts_newest_first(store: Store) -> None:
    fill(store)
    platform_posts = store.signals.platform_posts
    assert ids(platform_posts("weibo", since=T0 - 72 * H, before=T0 + 3 * H)) == [
        "p3",
        "p2",
        "p1",
        "p0",
    ]
    assert ids(platform_posts("weibo", since=T0 - 72 * H, before=T0 + 3 * H, limit=2)) == [
        "p3",
        "p2",
    ]
    assert ids(platform_posts("douyin", since=T0, before=T0 + H)) == []  # d1 is at `before`


def test_latest_post_times_and_posts_of_authors(store: Store) -> None:
    fill(store)
    assert store.signals.latest_post_times("weibo", ["a1", "a2", "ghost"]) == {
        "a1": T0 + 30 * M,
        "a2": T0 + 2 * H,
    }
    of_authors = store.signals.posts_of_authors("weibo", ["a1", "a2"], since=T0, until=T0 + 2 * H)
    assert ids(of_authors) == ["p1", "p2", "p3"]  # both ends included, p0 before
    assert store.signals.posts_of_authors("weibo", [], since=T0, until=T0 + H) == []


def test_first_seen_is_the_platforms_first_reading(store: Store) -> None:
    assert store.signals.first_seen("weibo") is None
    fill(store)
    assert store.signals.first_seen("weibo") == T0 - 47 * H
    assert store.signals.first_seen("douyin") == T0 + 65 * M


def test_ugc_posts_are_the_scored_ones_after_a_row_best_first(store: Store) -> None:
    assert store.signals.last_scored_post_pk() == 0
    fill(store)
    store.content.set_ugc_scores(
        [("weibo", "p1", 0.9), ("weibo", "p3", 0.5), ("weibo", "p2", 0.0), ("douyin", "d1", 0.9)]
    )
    found = store.signals.ugc_posts(after_pk=0, created_since=T0, until=T0 + 3 * H)
    assert ids(found) == ["p1", "d1", "p3"]  # p2 scored 0; a tie goes by row
    assert found[0].ugc_score == pytest.approx(0.9)
    after_p1 = store.signals.ugc_posts(after_pk=found[0].pk, created_since=T0, until=T0 + 3 * H)
    assert ids(after_p1) == ["d1", "p3"]
    pks = {
        key[1]: p.pk
        for key, p in store.signals.posts_by_keys(
            [("weibo", i) for i in ("p0", "p1", "p2", "p3")] + [("douyin", "d1")]
        ).items()
    }
    assert store.signals.last_scored_post_pk() == max(pks[i] for i in ("p1", "p2", "p3", "d1"))
    assert pks["p0"] > store.signals.last_scored_post_pk()


def test_thread_counts_cover_comments_made_or_first_seen_in_the_window(store: Store) -> None:
    fill(store)
    assert store.signals.thread_counts(since=T0, until=T0 + H) == [
        ThreadCounts("weibo", "p1", scored=3, negative=2, total=4)
    ]
    assert store.signals.thread_counts(since=T0, until=T0 + 3 * H) == [
        ThreadCounts("douyin", "d1", scored=1, negative=0, total=1),
        ThreadCounts("weibo", "p1", scored=3, negative=2, total=4),
        ThreadCounts("weibo", "p3", scored=1, negative=1, total=1),
    ]
    assert store.signals.thread_counts(since=T0 + 4 * H, until=T0 + 5 * H) == []


def test_thread_counts_before_are_each_threads_baseline(store: Store) -> None:
    fill(store)
    found = store.signals.thread_counts_before("weibo", ["p1", "p3", "zz"], T0 + 30 * M)
    assert found == {
        "p1": ThreadCounts("weibo", "p1", scored=3, negative=2, total=3),
        "p3": ThreadCounts("weibo", "p3", 0, 0, 0),
        "zz": ThreadCounts("weibo", "zz", 0, 0, 0),
    }


def test_thread_comments_most_liked_first(store: Store) -> None:
    fill(store)
    thread = store.signals.thread_comments
    found = thread("weibo", "p1", since=T0, until=T0 + H)
    assert [c.id for c in found] == ["c2", "c1", "c4", "c3"]
    assert (found[0].label, found[0].likes, found[0].post_id) == ("negative", 8, "p1")
    assert found[3].likes is None and found[3].label is None
    negative = thread("weibo", "p1", since=T0, until=T0 + H, label="negative")
    assert [c.id for c in negative] == ["c2", "c4"]
    assert [c.id for c in thread("weibo", "p1", since=T0, until=T0 + H, limit=1)] == ["c2"]
    assert thread("weibo", "p1", since=T0 + 2 * H, until=T0 + 3 * H) == []


def test_liked_comments_with_words_are_case_exact(store: Store) -> None:
    fill(store)
    liked = store.signals.liked_comments_with
    found = liked(["堵车", "暖心"], min_likes=5, since=T0, until=T0 + 3 * H)
    assert [c.id for c in found] == ["e1", "c5"]  # c1 says 暖心 with 3 likes
    assert [c.id for c in liked(["暖心"], min_likes=3, since=T0, until=T0 + H)] == ["c1"]
    assert [c.id for c in liked(["FIREWORKS"], min_likes=0, since=T0, until=T0 + 3 * H)] == ["e1"]
    assert liked(["fireworks"], min_likes=0, since=T0, until=T0 + 3 * H) == []
    assert liked(["%"], min_likes=0, since=T0, until=T0 + 3 * H) == []  # no LIKE pattern
    assert liked([], min_likes=0, since=T0, until=T0 + 3 * H) == []


def test_recent_messages_are_comments_and_posts_oldest_first(store: Store) -> None:
    fill(store)
    found = store.signals.recent_messages("weibo", since=T0, until=T0 + H)
    assert [(m.id, m.post_id) for m in found] == [
        ("p1", "p1"),
        ("c1", "p1"),
        ("c2", "p1"),
        ("p2", "p2"),
        ("c3", "p1"),
    ]
    assert found[0].label is None and found[1].label == "positive"
    limited = store.signals.recent_messages("weibo", since=T0, until=T0 + H, limit=2)
    assert [m.id for m in limited] == ["p1", "c1"]
    assert [m.id for m in store.signals.recent_messages("douyin", since=T0, until=T0 + 2 * H)] == [
        "d1",
        "e1",
    ]


def topic(platform: str, name: str, minutes: int, views: int) -> TopicStats:
    return TopicStats(platform, name, T0 + minutes * M, views=views, discussions=views // 10)  # type: ignore[arg-type]


def test_topic_windows_and_latest_points(store: Store) -> None:
    store.metrics.save_topic_stats(
        [
            topic("weibo", "平凡大连人", 0, 100),
            topic("weibo", "平凡大连人", 15, 200),
            topic("weibo", "平凡大连人", 30, 300),
            topic("douyin", "大连", 15, 50),
        ]
    )
    assert topic_series_keys(store.sql) == [("douyin", "大连"), ("weibo", "平凡大连人")]
    first = store.signals.topic_windows(since=T0 + 10 * M, until=T0 + H)
    assert [(w.platform, w.topic, [p.views for p in w.points]) for w in first] == [
        ("douyin", "大连", [50]),
        ("weibo", "平凡大连人", [200, 300]),
    ]
    assert first[1].points[0].discussions == 20 and first[1].points[0].at == T0 + 15 * M
    again = store.signals.topic_windows(since=T0 + 10 * M, until=T0 + H)
    assert again[0] is first[0] and again[1] is first[1]
    store.metrics.save_topic_stats([topic("weibo", "平凡大连人", 45, 400)])
    moved = store.signals.topic_windows(since=T0 + 12 * M, until=T0 + H)
    assert moved[0] is first[0]
    assert [p.views for p in moved[1].points] == [200, 300, 400]
    later = store.signals.topic_windows(since=T0 + 20 * M, until=T0 + 40 * M)
    assert [(w.topic, [p.views for p in w.points]) for w in later] == [("平凡大连人", [300])]

    points = store.signals.latest_topic_points(T0 + 20 * M)
    assert [(p.platform, p.topic, p.at, p.views) for p in points] == [
        ("douyin", "大连", T0 + 15 * M, 50),
        ("weibo", "平凡大连人", T0 + 15 * M, 200),
    ]


def test_latest_reading_is_the_newest_post_or_topic_reading(store: Store) -> None:
    assert store.signals.latest_reading_at("weibo") is None
    fill(store)
    assert store.signals.latest_reading_at("weibo") == T0 + 125 * M
    store.metrics.save_topic_stats([topic("douyin", "大连", 180, 50), topic("weibo", "x", 5, 1)])
    assert store.signals.latest_reading_at("douyin") == T0 + 3 * H
    assert store.signals.latest_reading_at("weibo") == T0 + 125 * M


def test_source_runs_are_each_sources_last_outcome(store: Store) -> None:
    assert store.signals.source_runs() == []
    runtime = store.runtime
    runtime.record_source_run("weibo:search", "weibo", status="ok", at=T0, due_at=T0 + H)
    runtime.record_source_run(
        "weibo:search", "weibo", status="error", at=T0 + H, due_at=T0 + 2 * H, error="HTTP 500"
    )
    runtime.record_source_run("douyin:kol", "douyin", status="ok", at=T0 + 5 * M, due_at=T0 + H)
    runs = store.signals.source_runs()
    assert [(r.name, r.platform, r.last_status, r.failures) for r in runs] == [
        ("douyin:kol", "douyin", "ok", 0),
        ("weibo:search", "weibo", "error", 1),
    ]
    weibo = runs[1]
    assert (weibo.last_error, weibo.last_success_at, weibo.last_run_at) == (
        "HTTP 500",
        T0,
        T0 + H,
    )
