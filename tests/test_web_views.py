"""The console's pure parts: the overview's figures cache, the SVG charts, the summary JSON."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from alerts.web import charts
from alerts.web.views import FiguresCache, ResultCache, gather_summary, summary_json
from monitor.store import Store
from tests.support.alerts import alert
from tests.support.factories import comment
from tests.support.web import NOW, fill


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_figures_follow_new_content_and_age(tmp_path: Path) -> None:
    with Store.open(tmp_path / "pingfan.db") as store:
        fill(store)
        queries = store.console
        ticks = Ticks()
        cache = FiguresCache(max_age=60, clock=ticks)
        first = cache.get(queries, NOW, 8)
        assert first.totals == {"posts": 12, "comments": 102, "alerts": 3}
        assert cache.get(queries, NOW, 8) is first
        store.content.save_comments(
            [comment("new-one", post_id="P1", created_at=NOW - timedelta(hours=1))]
        )
        assert cache.get(queries, NOW, 8).totals["comments"] == 103
        store.outbox.enqueue_alert(alert(7))
        assert cache.get(queries, NOW, 8).totals["alerts"] == 4
        # a score changed in place moves no mark: the figures follow within max_age
        store.content.set_comment_scores([("weibo", "new-one", 0.9, "positive", "t", 0.05, 0.05)])
        kept = cache.get(queries, NOW, 8)
        assert kept.sums.n == 77  # the last 7 days' scored comments
        ticks.now += 61
        assert cache.get(queries, NOW, 8).sums.n == 78


def test_the_summary_json_has_export_counts_topics_and_shares(tmp_path: Path) -> None:
    with Store.open(tmp_path / "pingfan.db") as store:
        fill(store)
        queries = store.console
        heavy = FiguresCache().get(queries, NOW, 8)
        body = summary_json(gather_summary(queries, NOW, heavy=heavy))
    assert (body["posts"], body["comments"], body["alerts"]) == (12, 102, 3)
    assert {t["platform"] for t in body["topics"]} == {"weibo", "douyin"}
    shares = body["sentiment"]
    assert abs(sum(shares[k]["share"] for k in ("positive", "neutral", "negative")) - 1) < 1e-3


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
