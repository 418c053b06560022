import contextlib
import json
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.errors import AuthExpired, Blocked, ParseError
from monitor.parse.common import Count, from_unix, parse_count, parse_weibo_time
from monitor.parse.weibo import (
    cards_to_mblogs,
    is_pinned,
    parse_hotflow,
    parse_mblog,
    parse_profile,
    parse_topic_desc,
    parse_topic_detail,
    read_envelope,
)
from tests.support.paths import REPO

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2019, 8, 16, 22, 30, tzinfo=SH)
REAL_TIMELINE = REPO / "tests" / "fixtures" / "real" / "weibo_getindex_230413_timeline.json"
URL = "http://sim/api/container/getIndex"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (0, Count(0)), (12, Count(12)), ("12", Count(12)), ("1,234", Count(1234)),
        ("43.4万", Count(434_000)), ("1.2亿", Count(120_000_000)), ("3.2w", Count(32_000)),
        ("100万+", Count(1_000_000, lower_bound=True)), ("1.2万+", Count(12_000, True)),
        ("318.3万", Count(3_183_000)), ("185.6万", Count(1_856_000)), ("", Count(0)),
        ("转发", Count(0)), ("赞", Count(0)), (None, Count(None)), ("abc", Count(None)),
        (-3, Count(None)), (True, Count(None)), (2.0, Count(2)), ("0.5万", Count(5000)),
        ("1.25万", Count(12_500)), ("5k", Count(5000)),
    ],
)  # fmt: skip
def test_counts(raw: object, expected: Count) -> None:
    assert parse_count(raw) == expected


@given(st.one_of(st.text(max_size=30), st.integers(), st.floats(), st.none(), st.booleans()))
def test_count_parser_never_crashes(raw: object) -> None:
    result = parse_count(raw)
    assert result.value is None or (isinstance(result.value, int) and result.value >= 0)


@given(st.decimals(min_value=0, max_value=99999, places=1), st.sampled_from(["万", "亿"]))
def test_count_parser_is_exact_on_decimals(number: object, unit: str) -> None:
    text = f"{number}{unit}"
    factor = 10_000 if unit == "万" else 100_000_000
    assert parse_count(text).value == int(number * factor)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Sat Jul 06 10:00:00 +0800 2019", datetime(2019, 7, 6, 10, 0, tzinfo=SH)),
        ("Wed Aug 24 22:03:13 +0800 2022", datetime(2022, 8, 24, 22, 3, 13, tzinfo=SH)),
        ("刚刚", NOW),
        ("30秒前", datetime(2019, 8, 16, 22, 29, 30, tzinfo=SH)),
        ("5分钟前", datetime(2019, 8, 16, 22, 25, tzinfo=SH)),
        ("3小时前", datetime(2019, 8, 16, 19, 30, tzinfo=SH)),
        ("今天 08:15", datetime(2019, 8, 16, 8, 15, tzinfo=SH)),
        ("今天08:15", datetime(2019, 8, 16, 8, 15, tzinfo=SH)),
        ("昨天 12:00", datetime(2019, 8, 15, 12, 0, tzinfo=SH)),
        ("07-06", datetime(2019, 7, 6, tzinfo=SH)),
        ("2018-12-31", datetime(2018, 12, 31, tzinfo=SH)),
        ("07月06日 10:00", datetime(2019, 7, 6, 10, 0, tzinfo=SH)),
        ("2019年07月06日 10:00", datetime(2019, 7, 6, 10, 0, tzinfo=SH)),
    ],
)
def test_times(raw: str, expected: datetime) -> None:
    parsed = parse_weibo_time(raw, NOW)
    assert parsed == expected and parsed.tzinfo is not None


def test_relative_times_use_the_response_clock_in_shanghai() -> None:
    late_utc = datetime(2019, 8, 16, 17, 0, tzinfo=UTC)  # 01:00 on the 17th in Shanghai
    assert parse_weibo_time("昨天 23:00", late_utc) == datetime(2019, 8, 16, 23, 0, tzinfo=SH)


@given(st.text(max_size=40))
def test_time_parser_raises_only_parse_error(raw: str) -> None:
    with contextlib.suppress(ParseError):
        assert parse_weibo_time(raw, NOW).tzinfo is not None


@pytest.mark.parametrize("raw", ["13-45", "2019-02-30", "昨天 25:00", "yesterday", 123])
def test_bad_times(raw: object) -> None:
    with pytest.raises(ParseError):
        parse_weibo_time(raw, NOW)


def test_douyin_seconds() -> None:
    assert from_unix(1562378400) == datetime(2019, 7, 6, 10, 0, tzinfo=SH)
    with pytest.raises(ParseError):
        from_unix("soon")


def mblog(**changes: object) -> dict:
    base = {
        "created_at": "Sat Jul 06 10:00:00 +0800 2019",
        "id": "4390000000000001",
        "mid": "4390000000000001",
        "text": (
            '<a  href="https://m.weibo.cn/search?containerid=231522type%3D1%26t%3D10%26q%3D%23'
            '%E5%B9%B3%E5%87%A1%E5%A4%A7%E8%BF%9E%E4%BA%BA%23"><span class="surl-text">'
            "#平凡大连人#</span></a>推荐<a href='/n/海边小王'>@海边小王</a>的外婆<br />"
            '<span class="url-icon"><img alt=[心] src="x.png" /></span>'
        ),
        "user": {"id": 2000000001, "screen_name": "海边的小王", "followers_count": "1.2万"},
        "reposts_count": "100万+",
        "comments_count": 12,
        "attitudes_count": 345,
        "isLongText": False,
        "mblogtype": 0,
        "pic_num": 2,
        "pics": {"0": {"pid": "a"}, "1": {"pid": "b"}},
    }
    base.update(changes)
    return base


def test_mblog_to_post() -> None:
    post = parse_mblog(mblog(), NOW)
    assert post.id == "4390000000000001" and post.author_id == "2000000001"
    assert post.text == "#平凡大连人#推荐@海边小王的外婆\n[心]"
    assert post.topics == ("平凡大连人",) and post.mentions == ("海边小王",)
    assert post.reposts == 1_000_000 and post.counts_are_lower_bounds
    assert post.likes == 345 and post.plays is None and post.shares is None
    assert post.media == "image" and post.is_original
    assert post.created_at == datetime(2019, 7, 6, 10, 0, tzinfo=SH)


def test_repost_of_a_deleted_post() -> None:
    post = parse_mblog(
        mblog(retweeted_status={"id": "1", "user": None, "text": "抱歉，此微博已被作者删除。"}), NOW
    )
    assert not post.is_original


def test_long_text_marker_dropped() -> None:
    post = parse_mblog(
        mblog(text='很长的故事...<a href="/status/1">全文</a>', isLongText=True), NOW
    )
    assert post.text == "很长的故事"


def test_mblog_without_user_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        parse_mblog(mblog(user=None), NOW)


def test_cards_int_string_and_groups_and_pinned() -> None:
    cards = [
        {"card_type": 11, "card_group": [{"card_type": "9", "mblog": mblog(id="1", mid="1")}]},
        {"card_type": 9, "mblog": mblog(id="2", mid="2"), "profile_type_id": "proweibotop_"},
        {"card_type": 58, "desc": "部分相似结果已省略"},
        "junk",
    ]
    mblogs = cards_to_mblogs(cards)
    assert [m["mid"] for m in mblogs] == ["1", "2"]
    assert is_pinned(mblogs[1]) and not is_pinned(mblogs[0])


def test_real_sample_timeline_parses() -> None:
    # A cleaned real capture (tests/fixtures/real/README.md): missing, the test fails.
    envelope = read_envelope(200, REAL_TIMELINE.read_text(encoding="utf-8"), URL)
    posts = [parse_mblog(m, NOW) for m in cards_to_mblogs(envelope.data["cards"])]
    assert len(posts) == 10
    assert all("<" not in p.text and p.created_at.year == 2022 for p in posts)
    assert posts[0].topics == ("骑车买菜",) and "[送花花]" in posts[0].text


def test_profile_followers_as_display_string() -> None:
    account = parse_profile(
        {"userInfo": {"id": 1, "screen_name": "x", "followers_count": "43.4万", "verified": True}},
        NOW,
        "kol",
    )
    assert account.followers == 434_000 and account.verified and account.kind == "kol"


def test_hotflow_keeps_reply_parents() -> None:
    data = {
        "data": [
            {
                "id": "11", "created_at": "Sat Jul 06 10:00:00 +0800 2019", "text": "好[心]",
                "like_count": 3, "user": {"id": 7}, "comments": [
                    {"id": "12", "rootid": "11", "created_at": "Sat Jul 06 10:05:00 +0800 2019",
                     "text": "同意", "like_count": 0, "user": {"id": 8}, "comments": False}
                ],
            },
            {"id": "13", "created_at": "刚刚", "text": "x", "user": {"id": 9}, "comments": False},
        ],
        "max_id": 138000000007919,
        "max_id_type": 1,
    }  # fmt: skip
    page = parse_hotflow(data, "4390000000000001", NOW)
    assert [(c.id, c.parent_id) for c in page.comments] == [
        ("11", None),
        ("12", "11"),
        ("13", None),
    ]
    assert page.max_id_type == 1 and page.comments[0].text == "好[心]"


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (432, "<html>blocked</html>", Blocked),
        (418, "", Blocked),
        (403, "<html>Forbidden</html>", Blocked),
        (200, '{"ok":-100,"url":"https://m.weibo.cn/captcha?x"}', Blocked),
        (200, "<html><title>Sina Visitor System</title></html>", Blocked),
        (200, '{"ok":1,"data":{"cards":[', ParseError),
        (200, '{"error_code":21301,"error":"relogin!"}', AuthExpired),
        (200, "<html>出错了，未知错误</html>", ParseError),
        (200, "[1,2]", ParseError),
    ],
)
def test_envelopes_that_are_errors(status: int, body: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        read_envelope(status, body, URL)


def test_envelopes_that_are_data_or_the_end() -> None:
    assert read_envelope(200, '{"ok":0,"msg":"这里还没有内容","data":{"cards":[]}}', URL).empty
    assert read_envelope(200, "<div>暂无查看权限</div>", URL).empty
    assert read_envelope(200, json.dumps({"ok": 1, "data": {"cards": [1]}}), URL).data == {
        "cards": [1]
    }


def test_topic_stats_forms() -> None:
    detail = {"baseInfo": {"count": {"read": 1856000, "mention": 23400}}}
    stats = parse_topic_detail(detail, "平凡大连人", NOW)
    assert (stats.views, stats.discussions) == (1_856_000, 23_400)
    fallback = parse_topic_detail(
        {"baseData": {"r": {"val": 1.2, "unit": "亿"}, "m": {"val": 3.4, "unit": "万"}}}, "t", NOW
    )
    assert (fallback.views, fallback.discussions) == (120_000_000, 34_000)
    text = parse_topic_desc("3.4万讨论 1.2亿阅读", "t", NOW)
    assert text is not None and (text.views, text.discussions) == (120_000_000, 34_000)
    assert parse_topic_desc("no numbers", "t", NOW) is None


@given(
    moment=st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    offset_minutes=st.integers(min_value=-12 * 60, max_value=14 * 60),
)
def test_absolute_times_read_fast_exactly_as_strptime_reads_them(
    moment: datetime, offset_minutes: int
) -> None:
    zone = timezone(timedelta(minutes=offset_minutes))
    text = moment.astimezone(zone).replace(microsecond=0).strftime("%a %b %d %H:%M:%S %z %Y")
    expected = datetime.strptime(text, "%a %b %d %H:%M:%S %z %Y")
    parsed = parse_weibo_time(text, moment)
    assert parsed == expected and parsed.utcoffset() == expected.utcoffset()
