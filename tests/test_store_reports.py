"""The store's named reads for the CLI, the scorer and the collectors: the same answers on
both back-ends (aggregates over booleans, NULL parameters, averages as floats)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.models import TopicStats
from monitor.store import Store
from tests.support.factories import T0, comment, post

pytestmark = pytest.mark.both_backends


def _thread(store: Store, post_id: str, labels: list[str | None], start: int = 0) -> None:
    store.content.save_comments(
        [
            comment(f"{post_id}-{n}", post_id=post_id, created_at=T0 + timedelta(hours=start + n))
            for n in range(len(labels))
        ]
    )
    store.content.set_comment_scores(
        [
            ("weibo", f"{post_id}-{n}", 0.1 if label == "negative" else 0.9, label, "m")
            for n, label in enumerate(labels)
            if label is not None
        ]
    )


def test_the_most_negative_threads_by_share(store: Store) -> None:
    store.content.save_posts([post("a"), post("b"), post("c")])
    _thread(store, "a", ["negative", "positive", "positive", None])
    _thread(store, "b", ["negative", "negative", "positive", None])
    _thread(store, "c", ["negative"])
    rows = store.reports.most_negative_threads(min_comments=2, limit=5)
    assert [(r["id"], r["n"]) for r in rows] == [("b", 4), ("a", 4)]
    assert rows[0]["share"] == pytest.approx(2 / 3) and isinstance(rows[1]["share"], float)


def test_threads_turning_negative(store: Store) -> None:
    since = T0 + timedelta(days=2)
    _thread(store, "calm", ["positive"] * 6, start=0)
    _thread(store, "calm", ["positive"] * 6, start=48)
    _thread(store, "turning", ["positive"] * 6, start=0)
    store.content.save_comments(
        [
            comment(f"late{n}", post_id="turning", created_at=since + timedelta(hours=n))
            for n in range(5)
        ]
    )
    store.content.set_comment_scores(
        [("weibo", f"late{n}", 0.1, "negative", "m") for n in range(5)]
    )
    assert store.reports.threads_turning_negative("weibo", since=since) == {"turning"}
    assert store.reports.threads_turning_negative("weibo", since=since, min_recent=6) == set()


def test_counts_splits_and_days(store: Store) -> None:
    store.content.save_posts([post("a")])
    _thread(store, "a", ["negative", "positive", "positive", None], start=20)
    assert store.reports.label_counts() == {"negative": 1, "positive": 2, None: 1}
    split = store.reports.sentiment_split()
    assert split == pytest.approx({"negative": 1 / 3, "positive": 2 / 3})
    assert store.reports.sentiment_split("douyin") == {}
    assert store.reports.comments_per_day() == {"2019-07-06": 2, "2019-07-07": 2}
    probabilities = store.reports.comment_probabilities(since=T0 + timedelta(hours=21))
    assert len(probabilities) == 2
    assert store.reports.table_counts()["comments"] == 4
    assert [r["id"] for r in store.reports.unscored_comments(10)] == ["a-3"]


def test_latest_topic_readings_of_one_platform_or_all(store: Store) -> None:
    store.metrics.save_topic_stats(
        [
            TopicStats("weibo", "平凡大连人", T0, views=5),
            TopicStats("weibo", "平凡大连人", T0 + timedelta(hours=1), views=9),
            TopicStats("douyin", "平凡大连人", T0, views=7),
        ]
    )
    readings = store.reports.latest_topic_readings()
    assert [(r["platform"], r["views"]) for r in readings] == [("douyin", 7), ("weibo", 9)]
    assert [r["views"] for r in store.reports.latest_topic_readings("weibo")] == [9]


def test_comment_poll_state_marks_counts_no_longer_reported(store: Store) -> None:
    store.content.save_posts([post("a", comments=4), post("b", comments=0)])
    store.content.save_posts(
        [post("c", comments=None, counts_no_longer_reported=True, created_at=T0 + timedelta(1))]
    )
    rows = store.reports.comment_poll_state("weibo", "weibo:comments")
    assert [(r["id"], r["comments"]) for r in rows] == [("c", -1), ("a", 4)]


def test_exports_between_since_and_until(store: Store) -> None:
    store.content.save_posts([post("a"), post("b", created_at=T0 + timedelta(days=1))])
    _thread(store, "a", ["negative", "positive"])
    everything = list(store.reports.export_rows("posts"))
    assert [r["id"] for r in everything] == ["a", "b"]
    assert everything[0]["sentiment"] == pytest.approx(0.5) and everything[1]["sentiment"] is None
    until = (T0 + timedelta(hours=12)).isoformat()
    assert [r["id"] for r in store.reports.export_rows("posts", None, until)] == ["a"]
    assert [r["id"] for r in store.reports.export_rows("comments", until)] == []


def test_posts_to_refresh_and_texts(store: Store) -> None:
    store.content.save_posts(
        [post("old", observed_at=T0), post("new", observed_at=T0 + timedelta(hours=2))]
    )
    ids = store.reports.posts_to_refresh(
        "weibo", created_after=T0, observed_before=T0 + timedelta(hours=1), limit=5
    )
    assert ids == ["old"]
    _thread(store, "new", [None, None])
    assert store.reports.comment_texts("weibo", "new") == ["刘阿姨辛苦了[心]"] * 2
    assert store.reports.comment_texts_for_adaptation(1) == ["刘阿姨辛苦了[心]"]


def test_alert_reads(store: Store) -> None:
    # Alerts are the outbox's to write (not ported yet): written here in SQL.
    for n, kind in enumerate(("trending", "trending", "negative_surge")):
        store.sql.execute(
            "INSERT INTO alerts (dedupe_key, kind, severity, title, text, created_at)"
            " VALUES (?, ?, 'warning', ?, '…', ?)",
            (f"k{n}", kind, f"t{n}", (T0 + timedelta(minutes=n)).isoformat()),
        )
    assert store.reports.alert_kinds() == {"trending": 2, "negative_surge": 1}
    assert store.reports.alert_states() == {"pending": 3}
    assert [a["title"] for a in store.reports.alerts_of_kind("trending")] == ["t0", "t1"]
