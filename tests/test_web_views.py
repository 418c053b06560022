"""The console's overview figures (kept exact by `comment_hours`), the SVG charts, the summary
JSON and the result cache."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from alerts.web import charts
from alerts.web.views import ResultCache, gather_summary, summary_json
from monitor.models import to_utc_iso
from monitor.store import Store
from tests.support.factories import comment
from tests.support.web import NOW, START, fill


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def read_every_comment(store: Store, since: str = "") -> tuple[int, float, float, float]:
    """The oracle: the sums over the comments themselves (what `comment_hours` must hold)."""
    row = store.db.execute(
        "SELECT count(*), total(sentiment), total(coalesce(p_neutral, 0)),"
        " total(coalesce(p_negative, 1 - sentiment)) FROM comments"
        " WHERE sentiment IS NOT NULL AND created_at >= ?",
        (since,),
    ).fetchone()
    return int(row[0]), row[1], row[2], row[3]


def sums_of(store: Store, since: datetime | None = None) -> tuple[int, float, float, float]:
    sums = store.console.probability_sums(since)
    return sums.n, sums.positive, sums.neutral, sums.negative


def test_the_whole_store_figures_follow_every_change_at_once(tmp_path: Path) -> None:
    with Store.open(tmp_path / "pingfan.db") as store:
        fill(store)
        queries = store.console
        assert queries.export_counts() == {"posts": 12, "comments": 102, "alerts": 3}
        assert sums_of(store) == pytest.approx(read_every_comment(store))
        store.content.save_comments(
            [comment("new-one", post_id="P1", created_at=NOW - timedelta(minutes=61))]
        )
        assert queries.export_counts()["comments"] == 103
        assert sums_of(store)[0] == 102  # not scored yet
        # a score set in place, then a two-class one, then the comment edited and purged
        store.content.set_comment_scores([("weibo", "new-one", 0.9, "positive", "t", 0.05, 0.05)])
        assert sums_of(store) == pytest.approx(read_every_comment(store))
        store.content.set_comment_scores([("weibo", "new-one", 0.2, "negative", "t")])
        assert sums_of(store) == pytest.approx(read_every_comment(store))
        store.content.save_comments(
            [
                comment(
                    "new-one", post_id="P1", text="改过的", created_at=NOW - timedelta(minutes=61)
                )
            ]
        )
        assert sums_of(store) == pytest.approx(read_every_comment(store))
        with store.db.atomic():  # a time corrected: the comment leaves one hour for another
            store.db.execute(
                "UPDATE comments SET created_at = ? WHERE id = 'C2-0'",
                (to_utc_iso(NOW - timedelta(hours=3)),),
            )
        assert sums_of(store) == pytest.approx(read_every_comment(store))
        week = NOW - timedelta(days=7, minutes=23)  # not on a whole hour
        assert sums_of(store, week) == pytest.approx(read_every_comment(store, to_utc_iso(week)))
        assert sums_of(store, week)[0] == 79
        purged = store.content.purge_expired_comments(8, now=NOW)
        assert purged > 0
        assert queries.export_counts()["comments"] == 103 - purged
        assert sums_of(store) == pytest.approx(read_every_comment(store))


def test_comments_by_day_counts_whole_hours_and_the_parts_at_either_end(tmp_path: Path) -> None:
    with Store.open(tmp_path / "pingfan.db") as store:
        fill(store)
        queries = store.console
        for since, until in (
            (START - timedelta(days=1), NOW),
            (START + timedelta(days=3, minutes=17), NOW - timedelta(days=2, minutes=41)),
            (START + timedelta(hours=2, minutes=11), START + timedelta(hours=2, minutes=19)),
        ):
            expected = store.db.execute(
                "SELECT date(created_at, '+8 hours') AS day, count(*) FROM comments"
                " WHERE created_at >= ? AND created_at < ? GROUP BY day ORDER BY day",
                (to_utc_iso(since), to_utc_iso(until)),
            ).fetchall()
            assert expected, (since, until)
            got = queries.comments_by_day(since=since, until=until, offset_hours=8)
            assert got == [(day, n) for day, n in expected]


def test_the_summary_json_has_export_counts_topics_and_campaign_and_week_shares(
    tmp_path: Path,
) -> None:
    with Store.open(tmp_path / "pingfan.db") as store:
        fill(store)
        body = summary_json(gather_summary(store.console, NOW))
    assert (body["posts"], body["comments"], body["alerts"]) == (12, 102, 3)
    assert {t["platform"] for t in body["topics"]} == {"weibo", "douyin"}
    campaign, week = body["sentiment"], body["sentiment_week"]
    assert (campaign["n"], week["n"], week["days"]) == (102, 77, 7)
    for shares in (campaign, week):
        assert abs(sum(shares[k]["share"] for k in ("positive", "neutral", "negative")) - 1) < 1e-3
    # fill() scores a third of the days 0.7 negative: the two spans differ
    assert campaign["negative"]["share"] != week["negative"]["share"]


def test_chart_labels_are_escaped() -> None:
    svg = charts.bar_chart([("2019-07-01", 3.0), ("2019-07-02", 5.0)], '<script>"x"</script>')
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    line = charts.line_chart([("<b>", 1.0), ("2019-07-02", 2.0)], "views")
    assert "<b>" not in line


def test_a_result_is_kept_until_the_mark_moves_or_it_ages() -> None:
    ticks = Ticks()
    cache = ResultCache(max_age=60, clock=ticks)
    computed: list[int] = []

    def compute() -> int:
        computed.append(1)
        return len(computed)

    assert cache.get("k", (1, 1), compute) == 1
    assert cache.get("k", (1, 1), compute) == 1
    assert cache.get("other", (1, 1), compute) == 2
    assert cache.get("k", (1, 2), compute) == 3
    ticks.now += 61
    assert cache.get("k", (1, 2), compute) == 4


def test_a_threads_keywords_come_from_its_newest_comments() -> None:
    from alerts.web.pages import KEYWORD_SAMPLE, thread_keywords
    from monitor.store.console import CommentRow

    def row(n: int, text: str) -> CommentRow:
        return CommentRow("weibo", f"C{n}", "3000", text, NOW, None, None, None)

    newest_first = [row(n, "星海广场的夜景真美") for n in range(KEYWORD_SAMPLE)] + [
        row(KEYWORD_SAMPLE + n, "老虎滩的海豚表演") for n in range(50)
    ]
    words = thread_keywords(newest_first)
    assert "星海广场" in words or "夜景" in words
    assert "海豚" not in words and "老虎滩" not in words
