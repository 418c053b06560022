"""The web console's queries (monitor/store/console.py) on both back-ends: every read gives on
PostgreSQL what it gives on SQLite over the same two weeks of a campaign, the accounts and marks
are kept the same way, and `comment_hours` (SQLite's m100, PostgreSQL's p002) equals a full read
of the comments after every kind of change."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from monitor.models import TopicStats, to_utc_iso
from monitor.store import Store
from monitor.store.housekeeping import purge_comments
from tests.support.factories import comment, post
from tests.support.postgres import Cluster
from tests.support.twins import same, sqlite_and_postgres
from tests.support.web import KOL_ID, NOW, START, fill


def fill_more(store: Store) -> None:
    """`fill`, and what the console reads beyond it: post readings, an acknowledgement, a mute,
    a mark, a two-class score, a post with mixed-case text."""
    fill(store)
    store.content.save_posts(
        [post("P1", platform="weibo", created_at=START + timedelta(days=1, hours=2),
              author_id=KOL_ID, author_kind="kol", text="第1天：推荐我们小区的环卫工人刘阿姨",
              observed_at=START + timedelta(days=2), likes=99, comments=7)]
    )  # fmt: skip
    store.content.save_posts(
        [post("P12", platform="weibo", author_id="777", created_at=NOW - timedelta(hours=3),
              text="Dalian FIREWORKS 星海广场", observed_at=NOW - timedelta(hours=2))]
    )  # fmt: skip
    store.content.set_comment_scores([("douyin", "C0-1", 0.3, "negative", "two-class")])
    store.sql.execute(
        "INSERT INTO alert_acks (alert_id, acked_by, acked_at) VALUES (2, 'ed', ?)",
        (to_utc_iso(NOW),),
    )
    store.outbox.mute_alert_subject(3, NOW + timedelta(days=1), at=NOW, by="ed")
    store.console.mark_ugc("douyin", "P2", "featured", by="ed", at=NOW)
    store.metrics.save_topic_stats(
        [TopicStats("weibo", "星海广场", NOW - timedelta(hours=h), views=10 * h) for h in (1, 30)]
    )


@pytest.fixture(scope="module")
def twins(tmp_path_factory: pytest.TempPathFactory, postgres_cluster: Cluster) -> Iterator[Any]:
    with sqlite_and_postgres(tmp_path_factory.mktemp("twins"), postgres_cluster) as pair:
        for store in pair:
            fill_more(store)
        yield pair


def _search(kind: str, query: str, **bounds: Any) -> Callable[[Store], Any]:
    def run(store: Store) -> Any:
        match = store.content.text_match(query)
        assert match is not None
        found = store.console.search_newest(match, kind, **bounds)
        # a row's pk is the back-end's own (PostgreSQL's identity moves on an upsert too)
        return [(f.kind, f.platform, f.id, f.post_id, f.text, f.created_at) for f in found]

    return run


WEEK = {"since": NOW - timedelta(days=7, minutes=13), "until": NOW - timedelta(minutes=31)}
READS: dict[str, Callable[[Store], Any]] = {
    "export_counts": lambda s: s.console.export_counts(),
    "counts_between": lambda s: s.console.counts_between(WEEK["since"], WEEK["until"]),
    "probability_sums": lambda s: s.console.probability_sums(),
    "probability_sums_since": lambda s: s.console.probability_sums(WEEK["since"]),
    "latest_topic_readings": lambda s: s.console.latest_topic_readings(NOW - timedelta(days=3)),
    "topic_views_by_day": lambda s: s.console.topic_views_by_day(
        "douyin", "平凡大连人", since=START, until=NOW, offset_hours=8
    ),
    "comments_by_day": lambda s: s.console.comments_by_day(**WEEK, offset_hours=8),
    "comments_by_day_west": lambda s: s.console.comments_by_day(
        since=START, until=NOW, offset_hours=-5
    ),
    "alerts": lambda s: s.console.alerts(NOW),
    "alerts_acked": lambda s: s.console.alerts(NOW, acked=True),
    "alerts_not_acked": lambda s: s.console.alerts(NOW, acked=False, platform="weibo"),
    "alerts_after": lambda s: s.console.alerts(NOW, after_id=1, kind="negative_thread"),
    "alerts_about": lambda s: s.console.alerts_about("weibo", "P5", NOW),
    "newest_alert_id": lambda s: s.console.newest_alert_id(),
    "alert_kinds": lambda s: s.console.alert_kinds(),
    "threads": lambda s: s.console.threads(
        since=START, until=NOW, recent_since=NOW - timedelta(days=4)
    ),
    "threads_of_kols": lambda s: s.console.threads(
        since=START, until=NOW, recent_since=NOW, platform="weibo", author_kind="kol"
    ),
    "post": lambda s: s.console.post("weibo", "P1"),
    "post_readings": lambda s: s.console.post_readings("weibo", "P1"),
    "post_comments": lambda s: s.console.post_comments("douyin", "P4", limit=5),
    "post_comments_upto": lambda s: s.console.post_comments("douyin", "P4", upto="C4-3"),
    "newest_comment_of": lambda s: s.console.newest_comment_of("douyin", "P4"),
    "posts_of_author": lambda s: s.console.posts_of_author("weibo", KOL_ID),
    "posts_by_keys": lambda s: s.console.posts_by_keys([("weibo", "P1"), ("douyin", "P2")]),
    "search_comments": _search("comments", "大连加油", limit=7),
    "search_short_words": _search("comments", "第3 条", limit=50),
    "search_page": _search("comments", "评论", before=40, limit=5),
    "search_range": _search(
        "comments", "评论", since=START + timedelta(days=3), until=START + timedelta(days=5)
    ),
    "search_platform": _search("posts", "环卫工人", platform="douyin"),
    "search_any_case": _search("posts", "fireworks"),
    "ugc_board": lambda s: s.console.ugc_board(min_score=0.9),
    "ugc_board_cues": lambda s: s.console.ugc_board(min_score=5, cues=["推荐", "星海"]),
    "ugc_board_page": lambda s: s.console.ugc_board(min_score=0.5, limit=3, offset=2),
    "ugc_mark": lambda s: s.console.ugc_mark("douyin", "P2"),
}


@pytest.mark.parametrize("name", list(READS))
def test_every_read_gives_on_postgresql_what_it_gives_on_sqlite(
    twins: tuple[Store, Store], name: str
) -> None:
    on_sqlite, on_postgres = (READS[name](store) for store in twins)
    assert on_sqlite, f"{name}: nothing to compare"  # the data makes every answer non-empty
    assert same(on_postgres, on_sqlite), (name, on_postgres, on_sqlite)


def test_the_twins_answers_are_the_expected_ones(twins: tuple[Store, Store]) -> None:
    for store in twins:
        console = store.console
        assert console.export_counts() == {"posts": 13, "comments": 102, "alerts": 3}
        assert [a.id for a in console.alerts(NOW, acked=True)] == [2]
        assert [a.id for a in console.alerts(NOW, acked=False)] == [3, 1]
        muted = console.alerts(NOW)[0]
        assert muted.id == 3 and muted.muted_until == NOW + timedelta(days=1)
        assert [f[2] for f in _search("posts", "fireworks")(store)] == ["P12"]
        days = dict(console.comments_by_day(since=START, until=NOW, offset_hours=8))
        assert sum(days.values()) == 102 and days["2019-07-08"] == 3
        board = console.ugc_board(min_score=5, cues=["星海"])
        assert [(i.post.id, i.mark) for i in board] == [("P2", "featured"), ("P12", None)]


@pytest.mark.both_backends
def test_the_content_mark_moves_when_something_new_is_stored(store: Store) -> None:
    assert store.console.content_mark() == (0, 0)
    store.content.save_posts([post("p1")])
    posts, comments = store.console.content_mark()
    assert posts > 0 and comments == 0
    store.content.save_comments([comment("c1", post_id="p1")])
    assert store.console.content_mark()[0] == posts and store.console.content_mark()[1] > 0


# --- writes: accounts, sessions, marks ---------------------------------------------------


@pytest.mark.both_backends
def test_accounts_and_sessions(store: Store) -> None:
    console = store.console
    assert console.add_user("ed", "editor", "hash-e", START) is True
    assert console.add_user("ed", "viewer", "other", START) is False
    assert console.add_user("vic", "viewer", "hash-v", START) is True
    assert console.credentials("ed") == ("editor", "hash-e") and console.credentials("x") is None
    console.open_session("tok1", "ed", "csrf1", NOW, NOW + timedelta(hours=1))
    first = console.session("tok1", NOW)
    assert first is not None and (first.user, first.role, first.csrf_token) == (
        "ed",
        "editor",
        "csrf1",
    )
    assert first.previous_visit_at is None and first.expires_at == NOW + timedelta(hours=1)
    assert console.session("tok1", NOW + timedelta(hours=1)) is None  # expired
    later = NOW + timedelta(hours=2)
    console.open_session("tok2", "ed", "csrf2", later, later + timedelta(hours=1))
    second = console.session("tok2", later)
    assert second is not None and second.previous_visit_at == NOW
    assert store.query("SELECT token_hash FROM web_sessions").__next__()["token_hash"] == "tok2"
    console.note_visit("vic", later)
    users = console.users()
    assert [(u.name, u.role, u.last_visit_at) for u in users] == [
        ("ed", "editor", later),
        ("vic", "viewer", later),
    ]
    console.close_session("tok2")
    assert console.session("tok2", later) is None
    console.open_session("tok3", "vic", "csrf3", later, later + timedelta(hours=1))
    assert console.remove_user("vic") is True and console.remove_user("vic") is False
    assert console.session("tok3", later) is None
    assert [u.name for u in console.users()] == ["ed"]


@pytest.mark.both_backends
def test_ugc_marks(store: Store) -> None:
    store.content.save_posts([post("p1", author_kind="user"), post("p2", author_kind="user")])
    store.content.set_ugc_scores([("weibo", "p1", 0.9), ("weibo", "p2", 0.2)])
    console = store.console
    assert console.mark_ugc("weibo", "nope", "thanked", by="ed", at=NOW) is False
    assert console.mark_ugc("weibo", "p2", "thanked", by="ed", at=NOW) is True
    assert console.ugc_mark("weibo", "p2") == "thanked"
    assert console.mark_ugc("weibo", "p2", "not_suitable", by="vic", at=NOW) is True
    board = console.ugc_board(min_score=0.5)
    assert [(i.post.id, i.mark, i.marked_by) for i in board] == [
        ("p1", None, None),
        ("p2", "not_suitable", "vic"),
    ]
    assert console.mark_ugc("weibo", "p2", None, by="ed", at=NOW) is True
    assert console.ugc_mark("weibo", "p2") is None
    assert [i.post.id for i in console.ugc_board(min_score=0.5)] == ["p1"]
    with pytest.raises(ValueError):
        console.mark_ugc("weibo", "p1", "liked", by="ed", at=NOW)  # type: ignore[arg-type]


# --- comment_hours: exact after every change -----------------------------------------------


def _hours_by_reading_every_comment(store: Store) -> dict[str, tuple]:
    rows = store.query(
        "SELECT substr(created_at, 1, 13) AS hour, count(*) AS comments,"
        " count(sentiment) AS scored, sum(coalesce(sentiment, 0)) AS positive,"
        " sum(CASE WHEN sentiment IS NULL THEN 0 ELSE coalesce(p_neutral, 0) END) AS neutral,"
        " sum(CASE WHEN sentiment IS NULL THEN 0"
        " ELSE coalesce(p_negative, 1 - sentiment) END) AS negative"
        " FROM comments GROUP BY substr(created_at, 1, 13)"
    )
    return {r["hour"]: tuple(r[c] for c in _COLUMNS) for r in rows}


_COLUMNS = ("comments", "scored", "positive", "neutral", "negative")


def _assert_hours_exact(store: Store) -> None:
    kept = {
        r["hour"]: tuple(r[c] for c in _COLUMNS) for r in store.query("SELECT * FROM comment_hours")
    }
    expected = _hours_by_reading_every_comment(store)
    for hour, sums in kept.items():  # an hour emptied stays, with nothing in it
        assert same(sums, expected.get(hour, (0, 0, 0.0, 0.0, 0.0))), hour
    assert expected.keys() <= kept.keys()


@pytest.mark.both_backends
def test_comment_hours_equal_a_full_read_after_every_kind_of_change(store: Store) -> None:
    at = NOW - timedelta(days=9, minutes=7)
    store.content.save_comments(
        [comment(f"c{n}", created_at=at + timedelta(minutes=17 * n)) for n in range(12)]
    )
    _assert_hours_exact(store)
    assert store.console.export_counts()["comments"] == 12
    store.content.set_comment_scores(  # three-class scores, then a two-class one
        [("weibo", f"c{n}", 0.1 * n, "positive", "m", 0.05, 0.9 - 0.1 * n) for n in range(8)]
    )
    _assert_hours_exact(store)
    store.content.set_comment_scores([("weibo", "c3", 0.8, "positive", "m2")])
    _assert_hours_exact(store)
    assert store.console.probability_sums().n == 8
    store.content.save_comments(
        [comment("c4", text="改过的", created_at=at + timedelta(minutes=68))]
    )
    _assert_hours_exact(store)
    with store.sql.atomic():  # a time corrected: the comment leaves its hour for another
        store.sql.execute(
            "UPDATE comments SET created_at = ? WHERE id = 'c5'",
            (to_utc_iso(at + timedelta(hours=30)),),
        )
    with store.sql.atomic():  # a score and a time changed at once
        store.sql.execute(
            "UPDATE comments SET created_at = ?, sentiment = 0.5, p_neutral = NULL,"
            " p_negative = NULL WHERE id = 'c6'",
            (to_utc_iso(at - timedelta(hours=5)),),
        )
    _assert_hours_exact(store)
    store.content.save_comments([comment("fresh", created_at=NOW - timedelta(minutes=3))])
    purged = asyncio.run(purge_comments(store, 8, NOW, max_batch=4))
    assert purged == 11  # c5 moved within the 8 days
    _assert_hours_exact(store)
    assert store.console.export_counts()["comments"] == 2
    left = store.console.probability_sums()  # c5 alone, scored 0.5, 0.05, 0.4
    assert left.n == 1 and left.positive == pytest.approx(0.5)
    assert left.negative == pytest.approx(0.4)


def test_comment_hours_are_backfilled_from_the_comments_already_stored_on_postgresql(
    postgres_cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database at p001 (before comment_hours) with comments: p002 sums them."""
    from monitor.store import postgres

    name = postgres_cluster.database()  # empty: migrated here
    try:
        url = postgres_cluster.url(name)
        with monkeypatch.context() as patch:
            patch.setattr(postgres, "MIGRATIONS", postgres.MIGRATIONS[:1])
            with Store.open_postgres(url) as older:
                older.content.save_comments(
                    [comment(f"c{n}", created_at=NOW - timedelta(minutes=25 * n)) for n in range(9)]
                )
                older.content.set_comment_scores(
                    [
                        ("weibo", "c1", 0.7, "positive", "m", 0.2, 0.1),
                        ("weibo", "c2", 0.4, "negative", "m"),  # two-class
                    ]
                )
        with Store.open_postgres(url) as store:
            _assert_hours_exact(store)
            assert store.console.export_counts()["comments"] == 9
            sums = store.console.probability_sums()
            assert (sums.n, sums.positive, sums.neutral) == (2, pytest.approx(1.1), 0.2)
            assert sums.negative == pytest.approx(0.7)
    finally:
        postgres_cluster.drop(name)
