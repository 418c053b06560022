"""The digest's store queries that read by index probes (monitor/store/weekly.py) give what
the plain statements they replaced gave, over every row: the newest topic reading before a
moment, the last reading of a platform, the span of the data, the week's comment totals."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from monitor.models import from_iso, to_utc_iso
from monitor.store import Store
from monitor.store.weekly import CommentTotals
from tests.support.factories import comment, post

T0 = datetime(2019, 7, 8, tzinfo=UTC)


def _topic_reading_before_by_grouping(store: Store, moment: datetime) -> list[tuple]:
    """The statement topic_reading_before was: every reading before `moment`, grouped."""
    rows = store.db.execute(
        "SELECT m.platform, m.topic, m.observed_at, m.views, m.discussions"
        " FROM topic_metrics m JOIN (SELECT platform, topic, max(observed_at) AS at"
        " FROM topic_metrics WHERE observed_at < ? GROUP BY platform, topic) last"
        " ON last.platform = m.platform AND last.topic = m.topic AND last.at = m.observed_at"
        " ORDER BY m.platform, m.topic, m.pk",
        (to_utc_iso(moment),),
    ).fetchall()
    latest: dict[tuple[str, str], tuple] = {}
    for p, t, at, v, d in rows:
        latest[(p, t)] = (p, t, from_iso(at), v, d)
    return list(latest.values())


def _last_reading_by_scanning(store: Store, platform: str, moment: datetime) -> datetime | None:
    row = store.db.execute(
        "SELECT max(m) FROM ("
        " SELECT max(observed_at) AS m FROM post_metrics WHERE platform = :p AND observed_at < :t"
        " UNION ALL SELECT max(observed_at) FROM topic_metrics"
        " WHERE platform = :p AND observed_at < :t"
        " UNION ALL SELECT max(observed_at) FROM account_metrics"
        " WHERE platform = :p AND observed_at < :t"
        " UNION ALL SELECT max(first_seen) FROM posts WHERE platform = :p AND first_seen < :t)",
        {"p": platform, "t": to_utc_iso(moment)},
    ).fetchone()
    return from_iso(row[0]) if row and row[0] else None


_reading = st.tuples(
    st.sampled_from(["weibo", "douyin"]),
    st.sampled_from(["平凡大连人", "星海广场", "a"]),
    st.integers(0, 40),  # hours after T0: several readings share a moment
    st.integers(0, 10**6),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(_reading, max_size=25), st.integers(0, 45))
@example([("weibo", "a", 3, 10), ("weibo", "a", 3, 20), ("weibo", "a", 2, 30)], 4)  # a tie
def test_readings_before_a_moment_equal_the_grouping_statement(
    readings: list[tuple[str, str, int, int]], hours: int
) -> None:
    with tempfile.TemporaryDirectory() as folder, Store.open(Path(folder) / "r.db") as store:
        with store.db.atomic():
            store.db.conn.executemany(
                "INSERT INTO topic_metrics (platform, topic, observed_at, views, discussions)"
                " VALUES (?, ?, ?, ?, ?)",
                [(p, t, to_utc_iso(T0 + timedelta(hours=h)), v, v // 7) for p, t, h, v in readings],
            )
            store.db.conn.executemany(
                "INSERT INTO post_metrics (platform, post_id, observed_at, likes)"
                " VALUES (?, ?, ?, 1)",
                [(p, f"{t}{v}", to_utc_iso(T0 + timedelta(hours=h + 0.5)))
                 for p, t, h, v in readings[::2]],
            )  # fmt: skip
        moment = T0 + timedelta(hours=hours)
        got = [(r.platform, r.topic, r.at, r.views, r.discussions)
               for r in store.weekly.topic_reading_before(moment)]  # fmt: skip
        assert got == _topic_reading_before_by_grouping(store, moment)
        for platform in ("weibo", "douyin"):
            assert store.weekly.last_reading_before(platform, moment) == (
                _last_reading_by_scanning(store, platform, moment)
            )


def test_the_data_span_reads_posts_and_comments_each_alone(store: Store) -> None:
    assert store.weekly.data_span() is None
    store.content.save_comments(
        [comment("c1", created_at=T0), comment("c2", created_at=T0 + timedelta(days=3))]
    )
    assert store.weekly.data_span() == (T0, T0 + timedelta(days=3))  # comments without posts
    store.content.save_posts([post("p1", created_at=T0 - timedelta(days=1))])
    assert store.weekly.data_span() == (T0 - timedelta(days=1), T0 + timedelta(days=3))


def test_week_comment_totals_per_platform_and_together(store: Store) -> None:
    week = (T0, T0 + timedelta(days=7))
    store.content.save_comments(
        [
            comment("w1", author_id="a", created_at=T0 + timedelta(hours=1)),
            comment("w2", author_id="a", created_at=T0 + timedelta(hours=2)),
            comment("w3", author_id="b", created_at=T0 + timedelta(hours=3)),
            comment("d1", platform="douyin", author_id="a", created_at=T0 + timedelta(hours=4)),
            comment("late", author_id="c", created_at=T0 + timedelta(days=8)),
        ]
    )
    store.content.set_comment_scores(
        [
            ("weibo", "w1", 0.1, "negative", "m", 0.2, 0.7),
            ("weibo", "w2", 0.8, "positive", "m", 0.1, 0.1),
            ("douyin", "d1", 0.2, "neutral", "m", 0.7, 0.1),
        ]
    )
    douyin, weibo, total = store.weekly.week_comment_totals(*week)
    assert douyin == CommentTotals("douyin", 1, 1, 0, 1, 0, 0, 0.1)
    assert weibo.platform == "weibo" and (weibo.comments, weibo.commenters) == (3, 2)
    assert (weibo.positive, weibo.negative, weibo.unscored) == (1, 1, 1)
    assert abs((weibo.mean_p_negative or 0) - 0.4) < 1e-12
    assert total.platform is None and (total.comments, total.commenters) == (4, 3)  # a on both
    assert (total.positive, total.neutral, total.negative, total.unscored) == (1, 1, 1, 1)
    assert abs((total.mean_p_negative or 0) - 0.3) < 1e-12
    assert store.weekly.week_comment_totals(T0 - timedelta(days=7), T0) == [CommentTotals(None)]
    probabilities = sorted(store.weekly.week_comment_probabilities(*week))
    assert probabilities == [(0.1, 0.2, 0.7), (0.2, 0.7, 0.1), (0.8, 0.1, 0.1)]
