"""Posts watched by link, in the store: the same on both back-ends."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.store import Store
from monitor.store.watch import ConfigWatch
from tests.support.factories import T0, comment, post

pytestmark = pytest.mark.both_backends

LINK = "https://weibo.com/1000000001/Hx1"
SHORT = "https://v.douyin.com/iAbCdEf/"


def test_add_find_and_remove_a_watch(store: Store) -> None:
    first = store.watch.add_watch(LINK, "weibo", "4390000000000001", "英雄视频", "cli", T0)
    again = store.watch.add_watch(
        "https://m.weibo.cn/status/4390000000000001", "weibo", "4390000000000001", "", "cli", T0
    )
    assert again == first  # the same post by another link
    assert store.watch.find_watch("4390000000000001") == first
    store.watch.add_watch(SHORT, "douyin", None, "", "cli", T0)
    assert [w.url for w in store.watch.watched()] == [LINK, SHORT]
    assert [w.url for w in store.watch.watched("douyin")] == [SHORT]
    store.watch.resolve_watch(SHORT, "7300000000000000001")
    assert store.watch.watched_ids("douyin") == ["7300000000000000001"]
    assert [w.url for w in store.watch.remove_watch(LINK)] == [LINK]
    assert store.watch.find_watch(LINK) is None


def test_config_watches_follow_the_file(store: Store) -> None:
    short = ConfigWatch(SHORT, "douyin", None, "旧备注")
    store.watch.sync_config_watches([short, ConfigWatch(LINK, "weibo", "1", "")], T0)
    store.watch.resolve_watch(SHORT, "7300000000000000001")
    store.watch.sync_config_watches([ConfigWatch(SHORT, "douyin", None, "新备注")], T0)
    (kept,) = store.watch.watched()
    assert (kept.url, kept.id, kept.note) == (SHORT, "7300000000000000001", "新备注")


def test_due_watches_never_read_first_then_the_longest_unread(store: Store) -> None:
    for pid in ("a", "b", "c"):
        store.watch.add_watch(f"https://weibo.com/1/{pid}", "weibo", pid, "", "cli", T0)
    store.content.save_posts([post("b", observed_at=T0), post("c", observed_at=T0 - timedelta(1))])
    due = store.watch.watched_due("weibo", observed_before=T0 + timedelta(hours=1))
    assert due == ["a", "c", "b"]
    assert store.watch.watched_due("weibo", observed_before=T0) == ["a", "c"]


def test_watched_posts_count_what_was_gained_and_the_labels(store: Store) -> None:
    store.watch.add_watch(LINK, "weibo", "p1", "", "cli", T0)
    store.watch.add_watch(SHORT, "douyin", None, "", "cli", T0)
    store.content.save_posts([post("p1", likes=10, comments=1, observed_at=T0)])
    store.content.save_posts([post("p1", likes=30, comments=5, observed_at=T0 + timedelta(1))])
    store.content.save_comments(
        [comment(f"c{n}", post_id="p1", created_at=T0 + timedelta(hours=n)) for n in range(3)]
    )
    store.content.set_comment_scores(
        [("weibo", "c0", 0.1, "negative", "m"), ("weibo", "c1", 0.9, "positive", "m")]
    )
    watched, unresolved = store.watch.watched_posts(since=T0 + timedelta(hours=1))
    assert unresolved.id == "" and not unresolved.collected
    assert (watched.counts.likes, watched.counts.comments) == (30, 5)
    assert watched.gained == 24
    assert (watched.scored, watched.negative) == (1, 0)
    (everything, _) = store.watch.watched_posts()
    assert (everything.scored, everything.negative, everything.gained) == (2, 1, None)
