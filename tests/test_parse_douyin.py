"""Douyin parsers on recorded answers (tests/fixtures/douyin/sim-*.json, recorded from the
simulator's real-shaped endpoints) and on the traps of the real API."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.errors import AuthExpired, Blocked, CollectorError, ParseError
from monitor.parse.douyin import (
    DouyinApiError,
    aweme_page,
    collects,
    comment_page,
    hashtag_ids,
    is_pinned,
    parse_aweme,
    parse_aweme_detail,
    parse_challenge,
    parse_profile,
    read_envelope,
    removal_reason,
    wall_in,
)
from monitor.parse.douyin_open import (
    open_page,
    parse_open_comments,
    parse_open_fans,
    parse_open_video,
    read_open_envelope,
)
from tests.support.paths import REPO

FIXTURES = REPO / "tests" / "fixtures" / "douyin"
NOW = datetime(2019, 8, 25, 4, 0, tzinfo=UTC)
URL = "http://sim/aweme/v1/web/challenge/aweme/?ch_id=1"
BASE = "https://www.douyin.com"
OFFICIAL = "MS4wLjABAAAAofficial0DalianWangxin00000000000000000"


def fixture(name: str) -> dict[str, Any]:
    # recorded from the simulator, not from Douyin: the file names say so
    return json.loads((FIXTURES / f"sim-{name}.json").read_text(encoding="utf-8"))


def envelope_of(name: str) -> dict[str, Any]:
    return read_envelope(200, json.dumps(fixture(name), ensure_ascii=False), URL)


# --- the envelope -------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["", "   ", "\n"])
def test_an_empty_200_is_a_block_not_no_data(body: str) -> None:
    with pytest.raises(Blocked, match="empty body"):
        read_envelope(200, body, URL)


@pytest.mark.parametrize(
    ("status", "body", "error", "fragment"),
    [
        (200, "blocked", Blocked, "'blocked'"),
        (403, "", Blocked, "HTTP 403"),
        (429, "{}", Blocked, "429"),
        (200, "<html><div id='captcha_container'></div></html>", Blocked, "captcha"),
        (200, "<html><div id='login-pannel'>扫码登录</div></html>", Blocked, "login wall"),
        (200, "<html><body>hello</body></html>", ParseError, "HTML instead of JSON"),
        (200, '{"status_code":0,"aweme_list":[{"aw', ParseError, "truncated or invalid JSON"),
        (200, "[1, 2]", ParseError, "not an object"),
        (200, '{"aweme_list": []}', ParseError, "without status_code"),
        (404, '{"status_code": 0}', ParseError, "HTTP 404"),
    ],
)
def test_envelope_traps(status: int, body: str, error: type[Exception], fragment: str) -> None:
    with pytest.raises(error, match=fragment):
        read_envelope(status, body, URL)


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("用户不存在", DouyinApiError),
        ("参数错误", DouyinApiError),
        ("", DouyinApiError),
        ("请先登录", AuthExpired),
        ("Login required", AuthExpired),
        ("访问过于频繁", Blocked),
        ("请完成验证", Blocked),
    ],
)
def test_status_code_errors_keep_the_message(message: str, error: type[Exception]) -> None:
    body = json.dumps({"status_code": 8, "status_msg": message}, ensure_ascii=False)
    with pytest.raises(error) as raised:
        read_envelope(200, body, URL)
    assert "status_code 8" in str(raised.value) and URL in str(raised.value)
    assert message in str(raised.value)


@given(st.text(max_size=200), st.sampled_from([200, 403, 404, 500]))
def test_envelope_only_raises_collector_errors(body: str, status: int) -> None:
    try:
        payload = read_envelope(status, body, URL)
    except CollectorError:
        return
    assert status == 200 and payload["status_code"] in (0, "0")


def test_walls_are_recognised() -> None:
    assert wall_in("<div class='captcha-verify-image'>") == "captcha"
    assert wall_in("<title>验证码中间页</title>") == "captcha"
    assert wall_in("<p>登录后查看更多精彩内容</p>") == "login wall"
    assert wall_in("<div id='root'></div>") is None


# --- videos -------------------------------------------------------------------------------


def test_uploads_page_with_a_pinned_video() -> None:
    page = aweme_page(envelope_of("aweme_post"), "max_cursor")
    assert page.listed and page.has_more and page.cursor > 10**12, "max_cursor is in ms"
    assert [is_pinned(a) for a in page.awemes] == [True, False]
    post = parse_aweme(page.awemes[0], NOW, BASE)
    assert post.platform == "douyin" and post.author_id == OFFICIAL
    assert post.author_name == "大连网信" and post.topics == ("平凡大连人",)
    assert post.url == f"{BASE}/video/{post.id}"
    assert post.created_at == datetime.fromtimestamp(1561946400, tz=UTC)
    assert post.media == "video" and post.is_original
    assert post.plays is None, "play_count 0 on the web API is unknown, never zero"
    assert (post.likes, post.comments, post.shares, post.reposts) == (6343, 253, 2399, None)
    assert collects(page.awemes[0]) == 704


def test_challenge_page_and_its_tags() -> None:
    page = aweme_page(envelope_of("challenge_aweme"), "cursor")
    assert len(page.awemes) == 2 and page.cursor == 2 and page.has_more
    assert hashtag_ids(page.awemes[0]) == {"平凡大连人": "1637261535424513"}


def test_play_count_when_given_and_photo_posts() -> None:
    aweme = copy.deepcopy(fixture("challenge_aweme")["aweme_list"][0])
    aweme["statistics"]["play_count"] = 1234
    aweme["aweme_type"] = 68
    aweme["text_extra"].append({"hashtag_name": "大连", "hashtag_id": "0", "type": 1})
    post = parse_aweme(aweme, NOW, BASE)
    assert post.plays == 1234 and post.media == "image"
    assert hashtag_ids(aweme) == {"平凡大连人": "1637261535424513"}, "id 0 names no challenge"


@pytest.mark.parametrize(
    ("payload", "listed", "has_more", "cursor"),
    [
        ({"status_code": 0}, False, False, 0),  # no list at all: an early end (Evil0ctal #640)
        ({"status_code": 0, "aweme_list": None, "has_more": 0}, True, False, 0),
        ({"status_code": 0, "aweme_list": [], "has_more": 1, "cursor": 40}, True, True, 40),
        ({"status_code": 0, "aweme_list": [], "has_more": True, "max_cursor": ""}, True, True, 0),
    ],
)
def test_list_shapes(payload: dict, listed: bool, has_more: bool, cursor: int) -> None:
    key = "max_cursor" if "max_cursor" in payload else "cursor"
    page = aweme_page(payload, key)
    assert (page.listed, page.has_more, page.cursor, page.awemes) == (
        listed,
        has_more,
        cursor,
        (),
    )


@pytest.mark.parametrize(
    "payload",
    [
        {"status_code": 0, "aweme_list": "nope"},
        {"status_code": 0, "aweme_list": [1, 2]},
        {"status_code": 0, "aweme_list": [], "cursor": "abc"},
    ],
)
def test_bad_lists_are_parse_errors(payload: dict) -> None:
    with pytest.raises(ParseError):
        aweme_page(payload)


def test_aweme_without_author_or_time_is_a_parse_error() -> None:
    aweme = copy.deepcopy(fixture("challenge_aweme")["aweme_list"][0])
    without_author = {k: v for k, v in aweme.items() if k != "author"}
    with pytest.raises(ParseError, match="no author"):
        parse_aweme(without_author, NOW, BASE)
    with pytest.raises(ParseError, match="create_time"):
        parse_aweme({**aweme, "create_time": "yesterday"}, NOW, BASE)


def test_removed_video_gives_no_post_and_says_why() -> None:
    payload = envelope_of("aweme_detail_removed")
    assert parse_aweme_detail(payload, NOW, BASE) is None
    assert removal_reason(payload) == "status_self_see"
    live = {"status_code": 0, "aweme_detail": fixture("challenge_aweme")["aweme_list"][0]}
    post = parse_aweme_detail(live, NOW, BASE)
    assert post is not None and post.id == live["aweme_detail"]["aweme_id"]
    with pytest.raises(ParseError):
        parse_aweme_detail({"status_code": 0}, NOW, BASE)


def test_challenge_views_and_users() -> None:
    stats = parse_challenge(envelope_of("challenge_detail"), "平凡大连人", NOW)
    assert stats.platform == "douyin" and stats.topic == "平凡大连人"
    assert stats.views == fixture("challenge_detail")["ch_info"]["view_count"] > 0
    assert stats.discussions == fixture("challenge_detail")["ch_info"]["user_count"]
    with pytest.raises(ParseError, match="check douyin_ch_id"):
        parse_challenge({"status_code": 0, "ch_info": None}, "平凡大连人", NOW)
    with pytest.raises(ParseError, match="without ch_info"):
        parse_challenge({"status_code": 0}, "平凡大连人", NOW)


# --- comments and profiles ----------------------------------------------------------------


def test_comments_and_replies_keep_their_thread() -> None:
    page = comment_page(envelope_of("comment_list"), "6710", NOW)
    assert page.listed and page.cursor == 2 and page.has_more
    first, with_replies = page.comments
    assert first.parent_id is None and first.platform == "douyin" and first.post_id == "6710"
    assert first.author_id.startswith("MS4wLjABAAAA"), "the sec_uid only: no names"
    assert page.reply_totals[with_replies.id] > 0
    replies = comment_page(envelope_of("comment_list_reply"), "6710", NOW, with_replies.id)
    assert replies.comments and all(r.parent_id == with_replies.id for r in replies.comments)
    assert replies.reply_totals == {}
    none = comment_page({"status_code": 0, "comments": None, "has_more": 0}, "6710", NOW)
    assert none.listed and none.comments == () and not none.has_more
    assert not comment_page({"status_code": 0}, "6710", NOW).listed


def test_profile_is_a_follower_snapshot() -> None:
    account = parse_profile(envelope_of("user_profile"), NOW, "official")
    user = fixture("user_profile")["user"]
    assert account.id == OFFICIAL and account.kind == "official"
    assert account.followers == user["follower_count"] and account.verified is True
    assert account.posts_count == user["aweme_count"]
    fallback = {"user": {"sec_uid": "x", "mplatform_followers_count": 12}}
    assert parse_profile(fallback, NOW, "kol").followers == 12
    with pytest.raises(ParseError, match="banned or private"):
        parse_profile({"status_code": 0, "user": None}, NOW, "kol")


# --- the Open Platform --------------------------------------------------------------------


def open_data(name: str) -> dict[str, Any]:
    return read_open_envelope(200, json.dumps(fixture(name), ensure_ascii=False), URL)


def test_open_videos_have_real_plays() -> None:
    page = open_page(open_data("open_video_list"))
    assert page.has_more and page.cursor > 0
    video = parse_open_video(page.items[0], NOW, OFFICIAL, "大连网信")
    stats = page.items[0]["statistics"]
    assert video.post.plays == stats["play_count"] > 0
    assert video.post.id == page.items[0]["item_id"] and video.post.id.startswith("@")
    assert video.pinned and video.post.author_id == OFFICIAL and video.post.reposts is not None
    private = {**page.items[0], "statistics": {**stats, "play_count": 0}}
    assert parse_open_video(private, NOW, OFFICIAL, "").post.plays is None, "private: unknown"


def test_open_comments_and_fans() -> None:
    page = open_page(open_data("open_comment_list"))
    comments, totals = parse_open_comments(page.items, "@v", NOW)
    assert len(comments) == 2 and set(totals) == {c.id for c in comments}
    assert all(c.parent_id is None and c.author_id for c in comments)
    replies, none = parse_open_comments(page.items, "@v", NOW, parent_id="@c")
    assert {r.parent_id for r in replies} == {"@c"} and none == {}
    data = open_data("open_fans")
    fans = parse_open_fans(data, OFFICIAL, "大连网信", NOW, "official")
    latest = max(data["result_list"], key=lambda d: d["date"])
    assert fans is not None and fans.followers == latest["total_fans"]
    assert parse_open_fans({"result_list": []}, OFFICIAL, "", NOW, "official") is None


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (28001008, AuthExpired),
        (2190008, AuthExpired),
        (28001015, AuthExpired),
        (28003018, Blocked),
        (2190001, Blocked),
        (28001007, DouyinApiError),
    ],
)
def test_open_platform_error_codes(code: int, error: type[Exception]) -> None:
    for holder in ("data", "extra"):
        body = json.dumps({holder: {"error_code": code, "description": "x"}})
        with pytest.raises(error, match=str(code)):
            read_open_envelope(200, body, URL + "&open_id=o")


def test_open_platform_recorded_expiry_and_http_errors() -> None:
    body = json.dumps(fixture("open_expired_token"), ensure_ascii=False)
    with pytest.raises(AuthExpired, match="authorise the app again"):
        read_open_envelope(200, body, URL)
    with pytest.raises(AuthExpired):
        read_open_envelope(401, "", URL)
    with pytest.raises(ParseError, match="truncated"):
        read_open_envelope(200, '{"data": {', URL)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [("Signature Not Found", "signature"), ("Sign Invalid", "never sets"), ("Uifid", "HTTP 403")],
)
def test_the_signature_gateway_refusals_are_blocks_that_say_why(body: str, fragment: str) -> None:
    with pytest.raises(Blocked, match=fragment):
        read_envelope(403, body, "https://www.douyin.com/aweme/v1/web/aweme/post/")
