"""The bot's parts without Telegram: the store's named queries (monitor/store/team.py), button
data, reply fitting and the token filter."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from alerts.bot import callbacks
from alerts.bot.redact import TokenFilter, token_filtered
from alerts.bot.replies import fit, parse_window
from alerts.safe_text import utf16_len
from monitor.models import Account, AlertRecord, TopicStats
from monitor.store import Store
from tests.support.factories import comment, post

T = datetime(2019, 8, 16, 6, 0, tzinfo=UTC)
H = timedelta(hours=1)


def scored(store: Store, *items: tuple[str, float]) -> None:
    store.content.save_comments([comment(cid, text=f"评论 {cid}") for cid, _ in items])
    store.content.set_comment_scores([("weibo", cid, p, "neutral", "m1") for cid, p in items])


# --- the label queue ---------------------------------------------------------------------


def test_the_least_sure_comment_comes_first_and_done_ones_never_again(store: Store) -> None:
    scored(store, ("A", 0.9), ("B", 0.48), ("C", 0.55), ("D", 0.3))
    store.content.save_comments([comment("UNSCORED", text="还没评分")])
    order = []
    while (candidate := store.team.next_label_candidate()) is not None:
        order.append(candidate.id)
        if candidate.id == "C":
            store.team.skip_label("weibo", "C", by="telegram:1", at=T)
        else:
            store.labels.add_label(
                candidate.text, "neutral", platform="weibo", comment_id=candidate.id
            )
    assert order == ["B", "C", "D", "A"]  # |p - 0.5|: 0.02, 0.05, 0.2, 0.4
    # a label the team gave by other means counts as done too
    scored(store, ("E", 0.5))
    store.labels.add_label("评论 E", "positive", platform="weibo", comment_id="E")
    assert store.team.next_label_candidate() is None


def test_the_label_queue_reads_an_index(store: Store) -> None:
    plan = " ".join(
        str(row[3])
        for row in store.db.execute("EXPLAIN QUERY PLAN " + store.team.label_queue_sql())
    )
    assert "USING INDEX comments_by_entropy" in plan
    assert "TEMP B-TREE" not in plan


def test_two_class_scores_come_nearest_one_half_first(store: Store) -> None:
    """A two-class score is stored as three classes (P(neutral) 0): its entropy orders the
    queue by P(positive)'s distance from 0.5."""
    scored(store, ("A", 0.9), ("B", 0.48), ("C", 0.55))
    assert [store.team.next_label_candidate().id] == ["B"]  # type: ignore[union-attr]
    store.labels.add_label("评论 B", "neutral", platform="weibo", comment_id="B")
    assert store.team.next_label_candidate().id == "C"  # type: ignore[union-attr]


# --- growth and leaderboards --------------------------------------------------------------


def test_topic_growth_from_the_reading_before_the_window_or_the_first_inside(
    store: Store,
) -> None:
    store.metrics.save_topic_stats(
        [
            TopicStats("weibo", "平凡大连人", T - 30 * H, views=100),
            TopicStats("weibo", "平凡大连人", T - 2 * H, views=400),
            TopicStats("douyin", "平凡大连人", T - 5 * H, views=1_000),
            TopicStats("douyin", "平凡大连人", T - H, views=1_600),
            TopicStats("douyin", "新话题", T - H, views=50),
            TopicStats("weibo", "平凡大连人", T + H, views=9_999),  # after `now`: not yet
        ]
    )
    growth = {(g.platform, g.topic): g for g in store.team.topic_growth(since=T - 24 * H, now=T)}
    assert (growth[("weibo", "平凡大连人")].views, growth[("weibo", "平凡大连人")].growth) == (
        400,
        300,
    )
    douyin = growth[("douyin", "平凡大连人")]
    assert (douyin.growth, douyin.before_at) == (600, T - 5 * H)
    assert growth[("douyin", "新话题")].growth is None  # a single reading tells no growth


def test_top_posts_count_only_what_was_gained_in_the_window(store: Store) -> None:
    old = T - 48 * H
    for at, likes in ((old, 10), (T - 30 * H, 100), (T - 2 * H, 160)):
        store.content.save_posts([post("OLD", created_at=old, observed_at=at, likes=likes)])
    store.content.save_posts([post("NEW", created_at=T - 3 * H, observed_at=T - H, likes=40)])
    store.content.save_posts([post("QUIET", created_at=old, observed_at=T - H, likes=5)])
    top = store.team.top_posts(["weibo", "douyin"], since=T - 24 * H, now=T)
    # likes + the factory's 2 comments and 1 repost; QUIET was first read in the window
    assert [(p.id, p.gained) for p in top] == [("OLD", 60), ("NEW", 43)]


def test_kol_table_counts_uploads_and_follower_growth(store: Store) -> None:
    store.content.save_posts(
        [
            post("K1", author_id="K", author_kind="kol", created_at=T - 2 * H, observed_at=T,
                 likes=10, comments=5, shares=None, reposts=5, plays=None),
            post("K2", author_id="K", author_kind="kol", created_at=T - 3 * H, observed_at=T,
                 likes=20, comments=0, reposts=0),
            post("K0", author_id="K", author_kind="kol", created_at=T - 9 * 24 * H, observed_at=T,
                 likes=999),
        ]
    )  # fmt: skip
    store.metrics.save_accounts(
        [
            Account("weibo", "K", "k", T - 10 * 24 * H, followers=1_000),
            Account("weibo", "K", "k", T - H, followers=1_200),
            Account("weibo", "S", "s", T - H, followers=300),
        ]
    )
    row, single, nothing = store.team.kol_table(
        [("weibo", "K"), ("weibo", "S"), ("douyin", "X")], since=T - 7 * 24 * H, now=T
    )
    assert (row.uploads, row.likes, row.comments, row.shares, row.plays) == (2, 30, 5, 5, None)
    assert (row.followers, row.follower_growth) == (1_200, 200)
    assert row.engagement_rate == pytest.approx(40 / 2 / 1_200)
    assert (single.followers, single.follower_growth, single.engagement_rate) == (300, None, None)
    assert (nothing.uploads, nothing.followers) == (0, None)


# --- acknowledgements and mute subjects ----------------------------------------------------


def test_the_first_acknowledgement_stays(store: Store) -> None:
    store.outbox.enqueue_alert(AlertRecord("trending", "info", "t", "x", "k1", T, "weibo", "P1"))
    first = store.team.ack_alert(1, by="Alice", by_id="1", at=T)
    second = store.team.ack_alert(1, by="Bob", by_id="2", at=T + H)
    assert first == second and first is not None and (first.by, first.at) == ("Alice", T)
    assert store.team.ack_alert(2, by="Bob", by_id="2", at=T) is None  # no such alert
    assert next(store.query("SELECT count(*) AS n FROM alert_acks")) == {"n": 1}


def test_subject_platforms(store: Store) -> None:
    store.content.save_posts([post("SAME"), post("SAME", platform="douyin"), post("ONLY")])
    store.outbox.mute("douyin", "MUTED", T + H, at=T)
    assert store.team.subject_platforms("SAME") == ["douyin", "weibo"]
    assert store.team.subject_platforms("ONLY") == ["weibo"]
    assert store.team.subject_platforms("MUTED") == ["douyin"]
    assert store.team.subject_platforms("NONE") == []


# --- button data ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "press"),
    [
        ("ack:12", callbacks.Press("ack", 12)),
        ("mute:1", callbacks.Press("mute", 1)),
        ("unmute:7", callbacks.Press("unmute", 7)),
        ("lab:3:2:n", callbacks.Press("lab", 3, 2, "n")),
        ("lq:99:s", callbacks.Press("lq", 99, code="s")),
        ("ack:012", None),  # our ids never start with 0
        ("ack:1 ", None),
        ("ack:-1", None),
        ("lab:3:10:n", None),
        ("lab:3:2:x", None),
        ("lq:5:q", None),
        ("delete:1", None),
        ("ack:" + "9" * 60, None),
        ("", None),
        (None, None),
    ],
)
def test_button_data_is_read_strictly(data: str | None, press: callbacks.Press | None) -> None:
    assert callbacks.parse(data) == press


def test_a_press_names_its_label() -> None:
    labels = [callbacks.Press("lq", 1, code=c).label for c in ("p", "u", "n", "s")]
    assert labels == ["positive", "neutral", "negative", None]


# --- replies and the token ------------------------------------------------------------------


def test_fit_drops_whole_lines_past_the_limit() -> None:
    lines = [f"<b>{n}</b> " + "长" * 100 for n in range(100)]
    text = fit(lines)
    assert utf16_len(text) <= 4096 and text.endswith("\n…")
    assert all(line.count("<b>") == line.count("</b>") for line in text.splitlines())


@pytest.mark.parametrize(
    ("text", "seconds"),
    [(None, 86400.0), ("7d", 604800.0), ("12小时", 43200.0), ("3天", 259200.0), ("1周", 604800.0),
     ("30m", None), ("31d", None), ("soon", None), ("-1h", None)],
)  # fmt: skip
def test_windows(text: str | None, seconds: float | None) -> None:
    assert parse_window(text, 86400.0) == seconds


def test_the_token_filter_covers_message_arguments_and_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = "123:SECRET-token"
    logger = logging.getLogger("telegram.ext.Updater")
    caplog.set_level(logging.DEBUG)
    with token_filtered(token):
        logger.info("POST http://x/bot%s/getMe", token)
        try:
            raise ValueError(f"The token `{token}` was rejected")
        except ValueError:
            logger.exception("failed")
    logger.info("after: %s", token)  # the filter is gone with the bot
    assert "SECRET" not in "\n".join(caplog.text.splitlines()[:-1])
    assert "http://x/bot***/getMe" in caplog.text and "The token `***` was rejected" in caplog.text
    assert caplog.records[-1].getMessage() == f"after: {token}"
    assert TokenFilter("").redact("abc") == "abc"
