"""The trending rule's topic windows, kept between rounds (monitor/store/windows.py): after any
sequence of readings and rounds, a window read incrementally holds exactly what a full read of
the table gives; and a restart (a new process, its windows empty) neither re-alerts nor
misses."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.engine import evaluate
from alerts.rules import Context, trending
from monitor.config import config_from_dict
from monitor.models import TopicStats, from_iso, to_utc_iso
from monitor.store import Store
from tests.support.factories import comment, post

T0 = datetime(2026, 3, 1, tzinfo=UTC)
TOPICS = ("平凡大连人", "大连马拉松", "星海广场")
TEXTS = ("大连这次活动办得真好，为城市点赞", "堵了两个小时才到家", "刘阿姨辛苦了[心]")


def minutes(n: int) -> datetime:
    return T0 + timedelta(minutes=n)


# --- topic readings ----------------------------------------------------------------------

topic_reading = st.tuples(
    st.sampled_from(("weibo", "douyin")),
    st.sampled_from(TOPICS),
    st.integers(-120, 30),  # minutes from the round's time: late readings too
    st.one_of(st.none(), st.integers(0, 5)),
)
topic_round = st.tuples(
    st.integers(0, 90),  # minutes the clock moves on
    st.lists(topic_reading, max_size=6),
    st.integers(30, 600),  # the window's length in minutes
    st.integers(-20, 0),  # `until` against the clock (a rule run for an earlier moment)
    st.one_of(st.none(), st.integers(0, 600)),  # readings before this many minutes deleted
)


def topic_windows_in_full(store: Store, since: datetime, until: datetime) -> list[Any]:
    """What the trending rule read before the windows: each series' range, in full."""
    rows = store.db.execute(
        "SELECT platform, topic, observed_at, views, discussions FROM topic_metrics"
        " WHERE observed_at >= ? AND observed_at <= ? ORDER BY platform, topic, observed_at, pk",
        (to_utc_iso(since), to_utc_iso(until)),
    ).fetchall()
    series: dict[tuple[str, str], list[tuple[datetime, int, int]]] = {}
    for platform, topic, at, views, discussions in rows:
        series.setdefault((platform, topic), []).append((from_iso(at), views, discussions))
    return sorted(series.items())


def as_read(windows: list[Any]) -> list[Any]:
    return [
        ((w.platform, w.topic), [(p.at, p.views, p.discussions) for p in w.points]) for w in windows
    ]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(topic_round, min_size=1, max_size=12))
def test_topic_windows_equal_a_full_read(rounds: list[Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp, Store.open(Path(tmp) / "p.db") as store:
        clock = 0
        for step, readings, length, back, deleted in rounds:
            clock += step
            if deleted is not None:  # nothing deletes readings today; a retention would be seen
                store.db.execute(  # as a retention would: old readings, never the newest
                    "DELETE FROM topic_metrics WHERE observed_at < ?"
                    " AND pk < (SELECT max(pk) FROM topic_metrics)",
                    (to_utc_iso(minutes(clock - deleted)),),
                )
            for platform, topic, offset, views in readings:
                at = minutes(clock + offset)
                store.metrics.save_topic_stats([TopicStats(platform, topic, at, views, 1)])
            since, until = minutes(clock - length), minutes(clock + back)
            windows = store.signals.topic_windows(since=since, until=until)
            assert as_read(windows) == topic_windows_in_full(store, since, until)


def test_an_unchanged_topic_window_is_the_same_object(store: Store) -> None:
    def read(at: datetime) -> dict[str, Any]:
        windows = store.signals.topic_windows(since=at - timedelta(hours=2), until=at)
        return {w.topic: w for w in windows}

    for n, topic in enumerate(TOPICS[:2]):
        store.metrics.save_topic_stats([TopicStats("weibo", topic, minutes(n), 10, 1)])
    first = read(minutes(5))
    again = read(minutes(6))
    assert again["平凡大连人"] is first["平凡大连人"]  # nothing new: the verdict is remembered
    store.metrics.save_topic_stats([TopicStats("weibo", "平凡大连人", minutes(7), 20, 1)])
    moved = read(minutes(8))
    assert moved["平凡大连人"] is not first["平凡大连人"]
    assert [p.views for p in moved["平凡大连人"].points] == [10, 20]
    assert moved["大连马拉松"] is first["大连马拉松"]
    later = read(minutes(122))  # the first reading left the window
    assert [p.views for p in later["平凡大连人"].points] == [20]
    assert "大连马拉松" not in later


# --- the trending rule over kept windows -----------------------------------------------------


def topic_steps(gains: st.SearchStrategy[int], size: tuple[int, int]) -> Any:
    return st.lists(
        st.tuples(st.integers(1, 6), st.sampled_from(TOPICS[:2]), gains),
        min_size=size[0],
        max_size=size[1],
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.tuples(
        topic_steps(st.integers(0, 800), (8, 20)),  # calm
        topic_steps(st.integers(5_000, 60_000), (2, 8)),  # a burst (or two, one per topic)
        topic_steps(st.integers(0, 60_000), (0, 10)),  # anything after
    ).map(lambda parts: [step for part in parts for step in part])
)
def test_the_topic_verdicts_over_kept_windows_equal_a_fresh_read(steps: list[Any]) -> None:
    """Round after round, the topic findings from one long-lived store (windows kept, verdicts
    remembered) equal those of the same file opened afresh (windows read in full)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.db"
        config = config_from_dict(
            {"topics": [{"name": t} for t in TOPICS], "douyin": {"enabled": False}},
            Path(tmp) / "config.toml",
        )
        views = dict.fromkeys(TOPICS, 100_000)
        clock = T0
        with Store.open(path) as kept:
            for gap, topic, gained in steps:
                clock += timedelta(minutes=5 * gap)
                views[topic] += gained
                kept.metrics.save_topic_stats([TopicStats("weibo", topic, clock, views[topic])])
                ctx = Context(config, clock)
                with Store.open(path) as fresh:
                    expected = [f.evidence for f in trending.run(fresh, ctx)]
                assert [f.evidence for f in trending.run(kept, ctx)] == expected


# --- a restart -------------------------------------------------------------------------------


def test_a_restart_neither_re_alerts_nor_misses(tmp_path: Path) -> None:
    """The same rounds, once with one store throughout and once reopening it before every
    round (a restart: windows empty, rule state in the file), raise the same alerts."""
    config = config_from_dict(
        {
            "topics": [{"name": "平凡大连人"}],
            "douyin": {"enabled": False},
            "alerts": {"health": {"enabled": False}, "coordination": {"cooldown": "30m"}},
        },
        tmp_path / "config.toml",
    )

    def play(path: Path, reopen: bool) -> list[list[str]]:
        raised: list[list[str]] = []
        store = Store.open(path)
        views = 500_000.0
        try:
            for index in range(48):
                at = T0 + timedelta(minutes=15 * index)
                if reopen:
                    store.close()
                    store = Store.open(path)
                views += (1000 if index < 24 else 30_000) / 4
                store.metrics.save_topic_stats(
                    [TopicStats("weibo", "平凡大连人", at, round(views), 1000)]
                )
                if index % 12 == 3:  # a copied comment from several accounts, now and then
                    store.content.save_posts([post(f"R{index}", created_at=at, observed_at=at)])
                    store.content.save_comments(
                        [
                            comment(f"RC{index}-{i}", post_id=f"R{index}",
                                    author_id=f"5{i:09d}", text=TEXTS[0] + "，大家快来看看吧",
                                    created_at=at + timedelta(seconds=i))
                            for i in range(4)
                        ]
                    )  # fmt: skip
                raised.append(sorted(a.dedupe_key for a in evaluate(store, config, at)))
        finally:
            store.close()
        return raised

    once = play(tmp_path / "once.db", reopen=False)
    restarted = play(tmp_path / "restarted.db", reopen=True)
    assert restarted == once
    keys = [key for found in once for key in found]
    assert sum(key.startswith("topic_trending:") for key in keys) == 1  # the burst, once
    assert any(key.startswith("coordination:") for key in keys)


# --- the negative-thread rule's window -------------------------------------------------------


def test_a_thread_counts_each_comment_once_whichever_range_holds_it(store: Store) -> None:
    since, until = minutes(600), minutes(960)
    made = {
        "A": (minutes(700), minutes(710), "negative"),  # made and first seen in the window
        "B": (minutes(100), minutes(720), "positive"),  # made before, read late: news now
        "C": (minutes(100), minutes(110), "negative"),  # made and read before: the baseline
        "D": (minutes(800), minutes(805), None),  # not scored yet
    }
    store.content.save_comments(
        [
            comment(cid, created_at=made_at, observed_at=seen)
            for cid, (made_at, seen, _) in made.items()
        ]
    )
    store.content.set_comment_scores(
        [("weibo", cid, 0.5, label, "m") for cid, (_, _, label) in made.items() if label]
    )
    (counts,) = store.signals.thread_counts(since=since, until=until)
    assert (counts.scored, counts.negative, counts.total) == (2, 1, 3)
    befores = store.signals.thread_counts_before("weibo", [counts.post_id, "no-such-post"], since)
    before, none = befores[counts.post_id], befores["no-such-post"]
    assert (before.scored, before.negative, before.total) == (2, 1, 2)
    assert (none.scored, none.negative, none.total) == (0, 0, 0)
