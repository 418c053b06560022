"""The weekly digest's queries (monitor/store/weekly.py) on both back-ends: every figure gives on
PostgreSQL what it gives on SQLite over the same two weeks of a campaign, and a few are checked
against what the data holds."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from monitor.models import Account, AlertRecord, TopicStats
from monitor.store import Store
from monitor.store.runtime import CircuitRow
from tests.support.factories import comment, post
from tests.support.postgres import Cluster
from tests.support.twins import same, sqlite_and_postgres
from tests.support.web import KOL_ID, NOW, START, fill

SINCE, UNTIL = START + timedelta(days=2, minutes=30), START + timedelta(days=9, minutes=30)


def health(key: str, minutes: int, platform: str = "weibo") -> AlertRecord:
    return AlertRecord(
        "collector_health", "warning", key, "…", key, SINCE + timedelta(minutes=minutes),
        platform=platform,
    )  # fmt: skip


def fill_more(store: Store) -> None:
    """`fill`, and what the digest reads beyond it: health alerts, a circuit, follower
    snapshots inside the week, a digest's own alert, post readings, mixed labels."""
    fill(store)
    for n, key in enumerate(
        ("collector_health:weibo:opened:1", "collector_health:weibo:recovered:1",
         "stale:douyin:2019-07-12", "parser:weibo:x", "collector_health:weibo:odd")
    ):  # fmt: skip
        store.outbox.enqueue_alert(health(key, 60 * n, "douyin" if "douyin" in key else "weibo"))
    store.outbox.enqueue_alert(
        AlertRecord("digest", "info", "周报", "…", "digest:2019-W28", SINCE + timedelta(hours=2))
    )
    store.runtime.save_circuit(CircuitRow("weibo", "open", "blocked", NOW, 60.0, 0), NOW)
    store.metrics.save_accounts(
        Account("weibo", KOL_ID, "大连身边事", SINCE + timedelta(days=d), followers=6000 + d,
                kind="kol")
        for d in (1, 3)
    )  # fmt: skip
    store.content.save_posts(  # a later reading of a post: counts moved
        [post("P5", platform="weibo", author_id=KOL_ID, author_kind="kol",
              created_at=START + timedelta(days=5, hours=2), text="第5天：推荐",
              observed_at=SINCE + timedelta(days=4), likes=500, comments=40, shares=3)]
    )  # fmt: skip
    store.content.save_comments(
        [comment("U1", platform="douyin", post_id="P4", author_id="u", text="还没打分",
                 created_at=SINCE + timedelta(days=1, hours=3), likes=50)]
    )  # fmt: skip
    store.content.set_comment_scores(
        [("douyin", "C4-2", 0.3, "neutral", "m", 0.6, 0.1), ("weibo", "C5-1", 0.2, "negative", "m")]
    )
    store.metrics.save_topic_stats(
        [TopicStats("weibo", "星海广场", SINCE + timedelta(hours=h), views=10 * h) for h in (1, 50)]
    )


@pytest.fixture(scope="module")
def twins(tmp_path_factory: pytest.TempPathFactory, postgres_cluster: Cluster) -> Iterator[Any]:
    with sqlite_and_postgres(tmp_path_factory.mktemp("twins"), postgres_cluster) as pair:
        for store in pair:
            fill_more(store)
        yield pair


DAYS = [(SINCE + timedelta(days=d), SINCE + timedelta(days=d + 1)) for d in range(7)]
READS: dict[str, Callable[[Store], Any]] = {
    "week_post_totals": lambda s: s.weekly.week_post_totals(SINCE, UNTIL),
    "week_comment_totals": lambda s: s.weekly.week_comment_totals(SINCE, UNTIL),
    "week_comment_probabilities": lambda s: sorted(
        s.weekly.week_comment_probabilities(SINCE, UNTIL)
    ),
    "daily_labels": lambda s: s.weekly.daily_labels(DAYS),
    "week_comment_texts": lambda s: s.weekly.week_comment_texts(SINCE, UNTIL, "negative"),
    "week_comment_texts_limited": lambda s: s.weekly.week_comment_texts(
        SINCE, UNTIL, "positive", limit=4
    ),
    "topic_readings": lambda s: s.weekly.topic_readings(SINCE, UNTIL),
    "topic_reading_before": lambda s: s.weekly.topic_reading_before(UNTIL),
    "week_threads": lambda s: s.weekly.week_threads(SINCE, UNTIL, 5),
    "thread_week_comments": lambda s: s.weekly.thread_week_comments("douyin", "P4", SINCE, UNTIL),
    "week_posts": lambda s: s.weekly.week_posts(SINCE, UNTIL),
    "week_posts_ugc": lambda s: s.weekly.week_posts(SINCE, UNTIL, ugc_only=True, limit=3),
    "week_posts_of_authors": lambda s: s.weekly.week_posts(
        SINCE, UNTIL, platform="weibo", author_ids=[KOL_ID, "nobody"]
    ),
    "followers_before": lambda s: s.weekly.followers_before("weibo", [KOL_ID, "x"], UNTIL),
    "first_followers_in": lambda s: s.weekly.first_followers_in(
        "weibo", [KOL_ID, "x"], SINCE, UNTIL
    ),
    "account_names": lambda s: s.weekly.account_names("weibo", [KOL_ID, "x"]),
    "week_messages": lambda s: s.weekly.week_messages("douyin", SINCE, UNTIL),
    "week_messages_limited": lambda s: s.weekly.week_messages("weibo", SINCE, UNTIL, limit=5),
    "week_alerts": lambda s: s.weekly.week_alerts(START, NOW + timedelta(hours=1)),
    "health_events": lambda s: s.weekly.health_events(UNTIL),
    "circuit_states": lambda s: s.weekly.circuit_states(),
    "last_reading_before": lambda s: s.weekly.last_reading_before("weibo", UNTIL),
    "last_reading_before_douyin": lambda s: s.weekly.last_reading_before("douyin", SINCE),
    "data_span": lambda s: s.weekly.data_span(),
    "alert_by_key": lambda s: s.weekly.alert_by_key("digest:2019-W28"),
}


@pytest.mark.parametrize("name", list(READS))
def test_every_figure_gives_on_postgresql_what_it_gives_on_sqlite(
    twins: tuple[Store, Store], name: str
) -> None:
    on_sqlite, on_postgres = (READS[name](store) for store in twins)
    assert on_sqlite, f"{name}: nothing to compare"  # the data makes every answer non-empty
    assert same(on_postgres, on_sqlite), (name, on_postgres, on_sqlite)


def test_the_twins_figures_are_the_expected_ones(twins: tuple[Store, Store]) -> None:
    for store in twins:
        weekly = store.weekly
        *platforms, total = weekly.week_post_totals(SINCE, UNTIL)
        assert [p.platform for p in platforms] == ["douyin", "weibo"] and total.platform is None
        assert total.posts == 7 and total.kol_posts == 1 and total.ugc_posts == 6
        assert total.plays_known == 4 and total.likes == sum(10 * d for d in range(2, 9)) - 50 + 500
        comments = weekly.week_comment_totals(SINCE, UNTIL)[-1]
        assert comments.comments == sum(3 + d for d in range(2, 9)) + 1
        assert comments.unscored == 1 and comments.neutral == 1
        assert [e.event for e in weekly.health_events(UNTIL)] == [
            "opened", "recovered", "stale", "parser", "other"
        ]  # fmt: skip
        assert [a.kind for a in weekly.week_alerts(START, NOW)].count("digest") == 0
        threads = weekly.week_threads(SINCE, UNTIL, 11)
        assert [(t.post_id, t.comments, t.scored) for t in threads] == [("P8", 11, 11)]
        assert weekly.week_messages("douyin", SINCE, UNTIL)[0].post_id == "P2"  # a post: its id
        assert weekly.daily_labels([]) == []
