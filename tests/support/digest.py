"""A week of posts, comments and alerts for the digest, and reading its tables."""

from __future__ import annotations

from datetime import datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

from alerts.digest.weeks import IsoWeek
from alerts.health import blocked_alert, recovered_alert
from monitor.config import Config, config_from_dict
from monitor.models import Account, AlertRecord, TopicStats
from monitor.store import Store
from tests.support.factories import comment, post

SHANGHAI = ZoneInfo("Asia/Shanghai")

W28 = IsoWeek(2019, 28)

KOL = "1000000001"

HOSTILE = (
    "</td><script>alert(1)</script><img src=x onerror=alert(2)> 堵死了 http://evil.example/x @all"
)

THREAD = "p-thread"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def make_config(tmp_path: Path, **sections: object) -> Config:
    raw: dict[str, object] = {
        "storage": {"path": "pingfan.db", "comment_retention_days": 0},
        "topics": [{"name": "平凡大连人"}],
        "kols": [{"platform": "weibo", "id": KOL, "name": "大连身边事"}],
        "alerts": {"milestones": {"views": [10_000, 20_000]}},
        "digest": {"out_dir": "digests"},
    }
    raw.update(sections)
    return config_from_dict(raw, tmp_path / "config.toml")


def fill_week(store: Store) -> None:
    """W28 (Mon 2019-07-08 .. Sun 07-14, Asia/Shanghai) with a little before and after."""
    seen = at("2019-07-20T00:00")
    store.content.save_posts(
        [
            post("p-start", created_at=at("2019-07-08T00:00"), observed_at=seen, author_id="u1",
                 likes=10, comments=2, reposts=1),
            post("p-kol", created_at=at("2019-07-10T12:00"), observed_at=seen, author_id=KOL,
                 author_name="大连身边事", author_kind="kol", likes=100, comments=20, reposts=5),
            post("p-ugc", created_at=at("2019-07-11T09:00"), observed_at=seen, author_id="u2",
                 author_name="星海的阿杰", text="推荐我们小区的环卫工人刘阿姨，风雨无阻",
                 url="https://m.weibo.cn/detail/p-ugc", likes=40, comments=30, reposts=3),
            post(THREAD, created_at=at("2019-07-11T08:00"), observed_at=seen, author_id="u3",
                 author_name="甘井子老刘", text="散场堵了两个小时 #平凡大连人#",
                 url="https://m.weibo.cn/detail/p-thread", likes=60, comments=40, reposts=9),
            post("d-1", platform="douyin", created_at=at("2019-07-12T20:00"), observed_at=seen,
                 author_id="dy1", author_name="抖音用户", likes=500, comments=50, shares=20,
                 reposts=None, plays=None),
            post("p-before", created_at=at("2019-07-07T23:59:59"), observed_at=seen,
                 author_id="u9", likes=1, comments=0, reposts=0),
            post("p-after", created_at=at("2019-07-15T00:00"), observed_at=seen, author_id="u9",
                 likes=1000, comments=0, reposts=0),
        ]
    )  # fmt: skip
    store.content.set_ugc_scores([("weibo", "p-ugc", 0.82), ("weibo", "p-start", 0.31)])
    comments, scores = [], []

    def add(cid: str, post_id: str, when: datetime, label: str, text: str, **extra: object) -> None:
        platform = "douyin" if post_id.startswith("d-") else "weibo"
        comments.append(
            comment(cid, platform=platform, post_id=post_id, created_at=when, observed_at=seen,
                    text=text, **extra)  # type: ignore[arg-type]
        )  # fmt: skip
        p = {"positive": 0.9, "neutral": 0.5, "negative": 0.1}[label]
        scores.append((platform, cid, p, label, "test-1"))

    start = at("2019-07-11T10:00")
    for n in range(30):  # the thread: 24 negative of 30 over two days, then quiet
        label = "negative" if n % 5 else "positive"
        text = HOSTILE if n == 1 else ("散场太堵了，交警在哪" if label == "negative" else "辛苦了")
        add(f"t{n:02d}", THREAD, start + timedelta(hours=n), label, text,
            author_id=f"30000000{n:02d}", likes=100 - n)  # fmt: skip
    for n in range(5):
        add(f"s{n}", "p-start", at("2019-07-09T09:00") + timedelta(hours=n), "positive",
            "刘阿姨辛苦了[心]", author_id="3100000001")  # fmt: skip
    add("d0", "d-1", at("2019-07-13T21:00"), "neutral", "在哪里拍的", author_id="dyc1")
    add("prev0", "p-before", at("2019-07-07T12:00"), "negative", "不好", author_id="3200000001")
    add("next0", "p-after", at("2019-07-15T08:00"), "negative", "不好", author_id="3200000002")
    store.content.save_comments(comments)
    store.content.set_comment_scores(scores)
    store.metrics.save_topic_stats(
        [
            TopicStats("weibo", "平凡大连人", at("2019-06-30T12:00"), 500, 10),
            TopicStats("weibo", "平凡大连人", at("2019-07-05T12:00"), 1_000, 20),
            TopicStats("weibo", "平凡大连人", at("2019-07-09T12:00"), 5_000, 50),
            TopicStats("weibo", "平凡大连人", at("2019-07-14T23:00"), 12_000, 90),
            TopicStats("weibo", "平凡大连人", at("2019-07-15T10:00"), 20_000, 120),
        ]
    )
    for when, followers in (("2019-07-06T08:00", 1_000), ("2019-07-12T08:00", 1_100),
                            ("2019-07-16T08:00", 1_300)):  # fmt: skip
        store.metrics.save_accounts(
            [Account("weibo", KOL, "大连身边事", at(when), followers=followers, kind="kol")]
        )
    store.outbox.enqueue_alert(
        AlertRecord("negative_thread", "warning", "负面舆情：微博帖子负面占比 80%", "…",
                    f"negative:weibo:{THREAD}:x", at("2019-07-11T20:00"), "weibo", THREAD)
    )  # fmt: skip
    # Weibo blocked across the week's start (1 h inside it), and again for 3.5 h on Wednesday.
    for alert in (
        blocked_alert("weibo", "HTTP 432", 1800, at("2019-07-07T22:00")),
        recovered_alert("weibo", at("2019-07-08T01:00")),
        blocked_alert("weibo", "HTTP 432", 1800, at("2019-07-10T01:00")),
        recovered_alert("weibo", at("2019-07-10T04:30")),
    ):
        store.outbox.enqueue_alert(alert)
    store.outbox.enqueue_alert(
        AlertRecord("digest", "info", "周报 2019-W27", "…", "digest:2019-W27",
                    at("2019-07-08T09:00"))
    )  # fmt: skip


class _Cells(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.row: str | None = None
        self.cell: str | None = None
        self.found: dict[tuple[str, str], str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "tr":
            self.row = values.get("data-row")
        elif tag == "td" and self.row and values.get("data-platform"):
            self.cell = values["data-platform"]
            self.found[(self.row, self.cell)] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.row and self.cell:
            self.found[(self.row, self.cell)] += data.strip()


def table_cells(html: str) -> dict[tuple[str, str], str]:
    """The volume table: (row field, platform or "all") → the number shown."""
    parser = _Cells()
    parser.feed(html)
    return parser.found
