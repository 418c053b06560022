"""alerts/wording.py: every kind of rule facts becomes a title and a text in both languages,
with user text made inert and ordinary users masked."""

from __future__ import annotations

import re
import typing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from alerts import wording
from alerts.rules import facts as f
from monitor.config import config_from_dict
from monitor.store.signals import CommentFacts, PostFacts
from nlp.dedup import CoordinationSuspect
from nlp.ugc import Nomination

NOW = datetime(2019, 8, 10, 4, 0, tzinfo=UTC)
RULES = config_from_dict({"topics": [{"name": "平凡大连人"}]}, Path("config.toml")).alerts
POST = PostFacts(
    platform="weibo", id="4390", author_id="2000000001", author_name="海边的小王",
    author_kind="user", text="星海广场 http://evil.example.com @all 今晚的烟花", created_at=NOW,
    url=None, topics=("平凡大连人",), likes=12, comments=3, shares=1, ugc_score=0.81,
)  # fmt: skip
COMMENT = CommentFacts(
    "weibo", "c1", "4390", "3000000001", "排队两小时，投诉！", NOW, 35, "negative"
)
VERDICT = f.ShareVerdict(40, 30, 0.75, 0.6, True, True, 20, 0.1)
BASELINE = f.Baseline("topic", 12.0, 6, 3.5)

EXAMPLES: list[f.Facts] = [
    f.StaleFacts("douyin", NOW - timedelta(hours=7), 7 * 3600.0, 6 * 3600.0),
    f.ParserFacts("weibo", "weibo:comments", 5, "KeyError: 'data'", 3),
    f.NegativeThreadFacts(
        POST,
        VERDICT,
        (f.SensitiveHit("投诉", COMMENT),),
        ("排队",),
        (COMMENT,),
        RULES.negative_thread,
    ),
    f.TrendingFacts(
        POST, 40.0, 55.0, 300.0, 900.0, BASELINE, 4.6, ("烟花",), (COMMENT,), RULES.trending
    ),
    f.TopicTrendingFacts(
        "douyin", "平凡大连人", 9000.0, 12000.0, 1500.0, 6.2, 2_000_000, RULES.trending
    ),
    f.MilestoneFacts("weibo", "平凡大连人", 10_200_000, NOW, 10_000_000, (1_000_000, 10_000_000)),
    f.KolUploadFacts("大连身边事", POST),
    f.KolSilentFacts("大连身边事", 8, None, NOW - timedelta(days=8), 7 * 86400.0),
    f.UgcFacts(
        (f.UgcItemFacts(POST, Nomination("环卫工人", "刘阿姨", "推荐"), "https://weibo.com/x"),),
        3,
        RULES.ugc,
    ),
    f.CoordinationFacts(
        CoordinationSuspect(("a", "b", "c"), ("1001", "1002", "1003"), NOW, NOW, "好评如潮"),
        RULES.coordination,
    ),
]
HAN = re.compile(r"[\u4e00-\u9fff]")


def test_every_kind_of_facts_has_an_example() -> None:
    assert {type(e) for e in EXAMPLES} == set(typing.get_args(f.Facts))


@pytest.mark.parametrize("facts", EXAMPLES, ids=lambda e: type(e).__name__)
def test_facts_are_worded_in_chinese_and_english(facts: f.Facts) -> None:
    zh_title, zh_text = wording.words(facts, "zh", "Asia/Shanghai", NOW)
    en_title, en_text = wording.words(facts, "en", "Asia/Shanghai", NOW)
    assert zh_title and zh_text and en_title and en_text
    assert HAN.search(zh_title)
    # English words around the user's own (Chinese) text and names
    user_words = {"星海广场", "平凡大连人", "大连身边事", "排队", "烟花", "投诉", "海", "好评如潮"}
    for chunk in HAN.findall(en_title):
        assert any(chunk in word for word in user_words), en_title


def test_user_text_is_inert_and_users_masked() -> None:
    title, text = wording.words(EXAMPLES[3], "zh", "Asia/Shanghai", NOW)
    assert "海***" in title and "海边的小王" not in title + text
    assert "http://evil" not in text and "hxxp[:]//evil[.]example[.]com" in text
    assert "@\u2060all" in text  # the mention broken with an invisible joiner
    assert "3***（赞 35）" in text


def test_the_time_line_is_the_moment_of_wording_in_the_configured_zone() -> None:
    _, text = wording.words(EXAMPLES[0], "zh", "Asia/Shanghai", NOW)
    assert text.splitlines()[-1] == "时间：2019-08-10 12:00"
    assert wording.escalated("en", "Trending") == "Escalated: Trending"
