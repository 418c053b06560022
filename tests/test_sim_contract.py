"""The simulator answers on the real paths with the field lists of platforms.md."""

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from monitor.sim.app import SimServer
from tests.support.paths import REPO
from tests.support.sim import CH_ID, SIGNED, TOPIC, UA, bundled_world, running_sim

# A cleaned real capture (tests/fixtures/real/README.md); the test fails without it.
REAL_TIMELINE = REPO / "tests" / "fixtures" / "real" / "weibo_getindex_230413_timeline.json"
OFFICIAL_WEIBO = "1000000000"
OFFICIAL_DOUYIN = "MS4wLjABAAAAofficial0DalianWangxin00000000000000000"
MBLOG_FIELDS = {
    "visible", "created_at", "id", "mid", "text", "textLength", "source", "favorited", "pic_ids",
    "is_paid", "user", "reposts_count", "comments_count", "attitudes_count",
    "pending_approval_count", "isLongText", "mblogtype", "number_display_strategy", "pic_num",
    "region_name", "bid",
}  # fmt: skip
USER_FIELDS = {
    "id", "screen_name", "profile_image_url", "profile_url", "statuses_count", "verified",
    "verified_type", "verified_reason", "description", "gender", "mbtype", "urank", "mbrank",
    "follow_me", "following", "follow_count", "followers_count", "followers_count_str",
}  # fmt: skip
AWEME_FIELDS = {
    "aweme_id", "aweme_type", "desc", "create_time", "author", "statistics", "video",
    "text_extra", "cha_list", "status", "is_top", "ip_label",
}  # fmt: skip
STATISTICS_FIELDS = {
    "digg_count",
    "comment_count",
    "share_count",
    "collect_count",
    "admire_count",
    "play_count",
}
DOUYIN_COMMENT_FIELDS = {
    "cid", "aweme_id", "text", "create_time", "digg_count", "reply_comment_total", "reply_id",
    "reply_to_reply_id", "ip_label", "is_hot", "user", "image_list", "sticker",
}  # fmt: skip


async def get_json(session: aiohttp.ClientSession, url: str, **params: Any) -> Any:
    async with session.get(url, params=params, headers={"User-Agent": UA}) as response:
        assert response.status == 200, await response.text()
        return json.loads(await response.text())


def search_container(kind: str) -> str:
    return f"100103type={kind}&q=#{TOPIC}#"


@pytest.fixture
async def sim() -> Any:
    async with running_sim() as (server, _clock):
        yield server


async def test_weibo_timeline_matches_the_real_sample_shape(sim: SimServer) -> None:
    async with aiohttp.ClientSession() as session:
        payload = await get_json(
            session,
            f"{sim.weibo_url}/api/container/getIndex",
            containerid=f"107603{OFFICIAL_WEIBO}",
        )
    assert payload["ok"] == 1 and "cardlistInfo" in payload["data"]
    cards = payload["data"]["cards"]
    assert cards and all(str(c["card_type"]) == "9" for c in cards)
    for c in cards:
        assert set(c["mblog"]) >= MBLOG_FIELDS, MBLOG_FIELDS - set(c["mblog"])
        assert set(c["mblog"]["user"]) >= USER_FIELDS
    assert cards[0]["mblog"]["mblogtype"] == 2, "the pinned post comes first"
    real = json.loads(REAL_TIMELINE.read_text(encoding="utf-8"))
    assert set(real["data"]) >= {"cards", "cardlistInfo"}
    assert set(real["data"]["cards"][0]["mblog"]) >= MBLOG_FIELDS, "the fields we ask are real"
    real_types, our_types = json_types(real), json_types(payload)
    shared = real_types.keys() & our_types.keys()
    assert len(shared) > 60, "the two bodies share the timeline's fields"
    wrong = {
        path: (sorted(our_types[path]), sorted(real_types[path]))
        for path in sorted(shared)
        if not our_types[path] <= real_types[path]
    }
    assert wrong == {}, "field: (the simulator's JSON types, the real body's)"


def json_type(value: object) -> str:
    """The JSON type: bool is not an int, an int not a float."""
    for python, name in ((bool, "bool"), (int, "int"), (float, "float"), (str, "str"),
                         (list, "list"), (dict, "dict")):  # fmt: skip
        if isinstance(value, python):
            return name
    assert value is None, value
    return "null"


def json_types(body: object, path: str = "") -> dict[str, set[str]]:
    """Path (list items as `[]`) → the JSON types found there, anywhere in `body`. A field
    the real capture holds only as null admits only null: the capture is our one witness of
    that field, and it never showed a value of another type."""
    found: dict[str, set[str]] = {}

    def walk(node: object, at: str) -> None:
        found.setdefault(at, set()).add(json_type(node))
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{at}.{key}")
        elif isinstance(node, list):
            for item in node:
                walk(item, f"{at}[]")

    walk(body, path)
    return found


async def test_weibo_timeline_pages_by_since_id_to_the_end() -> None:
    seen: list[str] = []
    since: str | None = None
    pages = 0
    end = bundled_world().end
    async with running_sim(at=end) as (sim, _clock), aiohttp.ClientSession() as session:
        for _ in range(20):
            params = {"containerid": f"107603{OFFICIAL_WEIBO}"}
            if since:
                params["since_id"] = since
            payload = await get_json(session, f"{sim.weibo_url}/api/container/getIndex", **params)
            if payload["ok"] != 1:
                break
            pages += 1
            seen += [c["mblog"]["id"] for c in payload["data"]["cards"]]
            since = payload["data"]["cardlistInfo"].get("since_id")
            if not since:
                break
    assert len(seen) == len(set(seen)) == 12  # the twelve hero videos, each once
    assert pages == 2


async def test_weibo_search_and_topic_container(sim: SimServer) -> None:
    async with aiohttp.ClientSession() as session:
        realtime = await get_json(
            session, f"{sim.weibo_url}/api/container/getIndex",
            containerid=search_container("61"), page_type="searchall", page=1,
        )  # fmt: skip
        comprehensive = await get_json(
            session, f"{sim.weibo_url}/api/container/getIndex", containerid=search_container("1")
        )
        topic = await get_json(
            session, f"{sim.weibo_url}/api/container/getIndex",
            containerid=f"231522type=1&t=10&q=#{TOPIC}#",
        )  # fmt: skip
        beyond = await get_json(
            session, f"{sim.weibo_url}/api/container/getIndex",
            containerid=search_container("61"), page=999,
        )  # fmt: skip
    assert len(realtime["data"]["cards"]) == 10
    assert comprehensive["data"]["cards"][0]["card_type"] == 11
    assert len(comprehensive["data"]["cards"][0]["card_group"]) == 3
    assert "阅读" in topic["data"]["pageInfo"]["desc"]
    assert beyond == {"ok": 0, "msg": "这里还没有内容", "data": {"cards": []}}
    texts = " ".join(c["mblog"]["text"] for c in realtime["data"]["cards"])
    assert 'class="surl-text">#平凡大连人#' in texts


async def test_weibo_profile_and_config(sim: SimServer) -> None:
    async with aiohttp.ClientSession() as session:
        profile = await get_json(
            session,
            f"{sim.weibo_url}/api/container/getIndex",
            containerid=f"100505{OFFICIAL_WEIBO}",
        )
        by_uid = await get_json(
            session, f"{sim.weibo_url}/api/container/getIndex", type="uid", value=OFFICIAL_WEIBO
        )
        config = await get_json(session, f"{sim.weibo_url}/api/config")
    user = profile["data"]["userInfo"]
    assert set(user) >= USER_FIELDS
    assert isinstance(user["followers_count"], str), "a display string, as the real body has"
    tabs = by_uid["data"]["tabsInfo"]["tabs"]
    assert {"tab_type": "weibo"}.items() <= next(
        t for t in tabs if t["tab_type"] == "weibo"
    ).items()
    assert config["data"]["login"] is False


async def test_weibo_hotflow_fields(sim: SimServer) -> None:
    world = bundled_world()
    hero = next(p for p in world.posts if p.platform == "weibo" and p.role == "hero")
    async with aiohttp.ClientSession() as session:
        payload = await get_json(
            session, f"{sim.weibo_url}/comments/hotflow", id=hero.id, mid=hero.id, max_id_type=0
        )
    data = payload["data"]
    assert {"data", "total_number", "max_id", "max_id_type"} <= set(data)
    comment = data["data"][0]
    assert {"id", "rootid", "created_at", "text", "like_count", "total_number", "source", "user",
            "comments"} <= set(comment)  # fmt: skip
    assert {"id", "screen_name", "gender", "profile_image_url", "verified"} <= set(comment["user"])
    assert comment["comments"] is False or isinstance(comment["comments"], list)


async def test_weibo_topic_detail(sim: SimServer) -> None:
    async with aiohttp.ClientSession() as session:
        payload = await get_json(
            session, f"{sim.weibo_topic_url}/ajax_topic/detail", q=f"#{TOPIC}#"
        )
    count = payload["data"]["baseInfo"]["count"]
    assert {"read", "mention", "ori_uv", "star"} <= set(count)
    assert all(isinstance(count[k], int) for k in ("read", "mention"))
    assert {"val", "unit"} <= set(payload["data"]["baseData"]["r"])


async def test_douyin_requires_signing_like_the_real_site(sim: SimServer) -> None:
    url = f"{sim.douyin_url}/aweme/v1/web/challenge/detail/"
    async with aiohttp.ClientSession() as session:
        async with session.get(url, params={"ch_id": CH_ID}, headers={"User-Agent": UA}) as r:
            assert r.status == 200 and await r.read() == b""
        mismatched = {**SIGNED, "browser_version": "99.0.0.0", "ch_id": CH_ID}
        async with session.get(url, params=mismatched, headers={"User-Agent": UA}) as r:
            assert await r.read() == b""
        payload = await get_json(session, url, ch_id=CH_ID, **SIGNED)
    info = payload["ch_info"]
    assert {"cid", "cha_name", "desc", "view_count", "user_count", "hashtag_profile", "type",
            "share_info"} <= set(info)  # fmt: skip
    assert info["cha_name"] == TOPIC and info["view_count"] > 0


async def test_douyin_lists(sim: SimServer) -> None:
    async with aiohttp.ClientSession() as session:
        challenge = await get_json(
            session, f"{sim.douyin_url}/aweme/v1/web/challenge/aweme/",
            ch_id=CH_ID, cursor=0, count=20, **SIGNED,
        )  # fmt: skip
        posts = await get_json(
            session, f"{sim.douyin_url}/aweme/v1/web/aweme/post/",
            sec_user_id=OFFICIAL_DOUYIN, max_cursor=0, count=18, **SIGNED,
        )  # fmt: skip
        aweme_id = posts["aweme_list"][1]["aweme_id"]
        comments = await get_json(
            session, f"{sim.douyin_url}/aweme/v1/web/comment/list/",
            aweme_id=aweme_id, cursor=0, count=20, **SIGNED,
        )  # fmt: skip
        profile = await get_json(
            session, f"{sim.douyin_url}/aweme/v1/web/user/profile/other/",
            sec_user_id=OFFICIAL_DOUYIN, **SIGNED,
        )  # fmt: skip
    assert {"status_code", "aweme_list", "cursor", "has_more"} <= set(challenge)
    aweme = challenge["aweme_list"][0]
    assert set(aweme) >= AWEME_FIELDS
    assert set(aweme["statistics"]) >= STATISTICS_FIELDS and aweme["statistics"]["play_count"] == 0
    assert {"uid", "sec_uid", "nickname", "unique_id"} <= set(aweme["author"])
    assert isinstance(aweme["create_time"], int)
    assert {"status_code", "aweme_list", "has_more", "max_cursor", "min_cursor"} <= set(posts)
    assert posts["aweme_list"][0]["is_top"] == 1
    assert posts["max_cursor"] > 10**12, "max_cursor is in milliseconds"
    assert {"status_code", "comments", "cursor", "has_more", "total"} <= set(comments)
    assert set(comments["comments"][0]) >= DOUYIN_COMMENT_FIELDS
    assert {"follower_count", "max_follower_count", "aweme_count", "ip_location"} <= set(
        profile["user"]
    )


async def test_douyin_removed_video_gives_filter_detail() -> None:
    world = bundled_world()
    removed = next(p for p in world.posts if p.removed)
    async with running_sim(at=world.end) as (sim, _), aiohttp.ClientSession() as session:
        detail = await get_json(
            session, f"{sim.douyin_url}/aweme/v1/web/aweme/detail/", aweme_id=removed.id, **SIGNED
        )
        listed = await get_json(
            session, f"{sim.douyin_url}/aweme/v1/web/challenge/aweme/",
            ch_id=CH_ID, cursor=0, count=50, sort_type=1, **SIGNED,
        )  # fmt: skip
    assert detail["aweme_detail"] is None and detail["filter_detail"]["aweme_id"] == removed.id
    assert removed.id not in {a["aweme_id"] for a in listed["aweme_list"]}


async def test_same_requests_at_same_time_give_same_bytes() -> None:
    urls = [
        ("weibo", "/api/container/getIndex", {"containerid": search_container("61"), "page": "2"}),
        ("weibo", "/api/container/getIndex", {"containerid": f"107603{OFFICIAL_WEIBO}"}),
        ("weibo_topic", "/ajax_topic/detail", {"q": f"#{TOPIC}#"}),
        ("douyin", "/aweme/v1/web/challenge/aweme/", {"ch_id": CH_ID, **SIGNED}),
    ]
    bodies = []
    for _ in range(2):
        async with running_sim() as (server, _clock), aiohttp.ClientSession() as session:
            run = []
            for site, path, params in urls:
                async with session.get(
                    server.urls[site] + path, params=params, headers={"User-Agent": UA}
                ) as response:
                    run.append(await response.read())
            bodies.append(run)
    assert bodies[0] == bodies[1]
    assert all(len(b) > 50 for b in bodies[0])


async def test_counts_grow_with_simulated_time() -> None:
    async with running_sim() as (server, clock), aiohttp.ClientSession() as session:
        url = f"{server.douyin_url}/aweme/v1/web/challenge/detail/"
        first = (await get_json(session, url, ch_id=CH_ID, **SIGNED))["ch_info"]["view_count"]
        clock.advance(days=3)
        later = (await get_json(session, url, ch_id=CH_ID, **SIGNED))["ch_info"]["view_count"]
        async with session.get(
            url, params={"ch_id": CH_ID, **SIGNED}, headers={"User-Agent": UA}
        ) as r:
            assert "2019" in r.headers["Date"]
    assert later > first


def test_campaign_ends_near_the_published_figures() -> None:
    world = bundled_world()
    weibo, douyin = (world.topic(p, name=TOPIC) for p in ("weibo", "douyin"))
    assert world.topic_counts_at(douyin, world.end)[0] == 3_183_000
    assert world.topic_counts_at(weibo, world.end)[0] == 1_856_000
    heroes = [p for p in world.posts if p.role == "hero" and p.platform == "douyin"]
    assert len(heroes) == 12 and all(40_000 <= p.duration_ms <= 50_000 for p in heroes)
    kols = {p.author_id for p in world.posts if p.role == "kol" and p.platform == "douyin"}
    assert len(kols) >= 4
    ugc = [p for p in world.posts if p.role == "ugc"]
    assert len(ugc) >= 200


def test_scenario_files_are_checked(tmp_path: Path) -> None:
    from monitor.sim.world import ScenarioError, load_world

    bad = tmp_path / "s.toml"
    bad.write_text(
        '[scenario]\nname = "x"\nstart = "2019-07-01T00:00:00"\nend = "2019-07-02T00:00:00+08:00"\n'
    )
    with pytest.raises(ScenarioError, match="UTC offset"):
        load_world(bad)
    with pytest.raises(ScenarioError, match="cannot read"):
        load_world(tmp_path / "missing.toml")


async def test_weibo_detail_status_old_comments_and_profile_info(sim: SimServer) -> None:
    import re

    world = bundled_world()
    hero = next(p for p in world.posts if p.platform == "weibo" and p.role == "hero")
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{sim.weibo_url}/detail/{hero.id}") as response:
            page = await response.text()
        shown = await get_json(session, f"{sim.weibo_url}/statuses/show", id=hero.id)
        old = await get_json(session, f"{sim.weibo_url}/api/comments/show", id=hero.id, page=1)
        info = await get_json(
            session, f"{sim.weibo_url}/api/container/getIndex",
            containerid=f"230283{OFFICIAL_WEIBO}_-_INFO",
        )  # fmt: skip
    match = re.search(r"var \$render_data = (\[.*\])\[0\]", page)
    assert match, "the detail page carries $render_data"
    assert json.loads(match.group(1))[0]["status"]["id"] == hero.id
    assert set(shown["data"]) >= MBLOG_FIELDS
    assert {"data", "total_number", "max"} <= set(old["data"]) and old["data"]["max"] <= 5
    items = info["data"]["cards"][0]["card_group"]
    assert {"item_name", "item_content"} <= set(items[0])


def test_douyin_comment_count_agrees_with_the_comment_list() -> None:
    """The count holds every visible comment and reply plus a few folded ones: the list may
    hold fewer than the count, never none when the count is positive."""
    from monitor.sim import douyin

    world = bundled_world()
    videos = [p for p in world.posts if p.platform == "douyin"]
    for days in range(0, 100, 9):
        now = world.start + timedelta(days=days, hours=20)
        for post in (p for p in videos if p.created_at <= now):
            count = douyin.render_aweme(world, post, now)["statistics"]["comment_count"]
            listed = douyin.comment_list(world, post.id, now, 0, 50)
            if count:
                assert listed["comments"], f"{post.id} counts {count} but lists none"
            visible = len(world.comments_until(post.id, now))  # top level and replies
            assert listed["total"] <= visible <= count <= visible + visible // 20


async def test_douyin_simulator_signer_and_walls() -> None:
    from monitor.sim import douyin

    async with running_sim(douyin_wall="captcha") as (sim, _), aiohttp.ClientSession() as session:
        url = f"{sim.douyin_url}/aweme/v1/web/challenge/detail/"
        query = f"ch_id={CH_ID}&browser_name=Chrome&browser_version=125.0.0.0"
        signed = f"{url}?{query}&" + "&".join(f"{k}={v}" for k, v in douyin.sign(query, UA).items())
        async with session.get(signed, headers={"User-Agent": UA}) as response:
            assert response.status == 200 and await response.read() == b"", "walled: empty"
        async with session.get(f"{sim.douyin_url}/hashtag/{CH_ID}") as response:
            assert "captcha_container" in await response.text()
        sim.sim.douyin_wall = None
        async with session.get(signed, headers={"User-Agent": UA}) as response:
            assert json.loads(await response.text())["ch_info"]["cid"] == CH_ID
        sim.sim.douyin_wall = "login"
        async with session.get(f"{sim.douyin_url}/") as response:
            assert "扫码登录" in await response.text()


async def test_douyin_open_platform_endpoints() -> None:
    from monitor.sim import douyin

    async with running_sim() as (sim, _), aiohttp.ClientSession() as session:
        base = sim.douyin_open_url
        token = douyin.access_token_for(OFFICIAL_DOUYIN)
        open_id = douyin.open_id_for(OFFICIAL_DOUYIN)

        async def get(path: str, token: str = token, **params: Any) -> Any:
            async with session.get(
                base + path, params={"open_id": open_id, **params}, headers={"access-token": token}
            ) as response:
                assert response.status == 200
                return json.loads(await response.text())

        videos = await get("/video/list/", cursor=0, count=10)
        assert videos["extra"]["error_code"] == 0 and videos["data"]["error_code"] == 0
        first = videos["data"]["list"][0]
        assert {"item_id", "title", "create_time", "cover", "share_url", "is_top", "is_reviewed",
                "video_status", "media_type", "statistics"} <= set(first)  # fmt: skip
        assert {"play_count", "digg_count", "comment_count", "share_count", "forward_count",
                "download_count"} <= set(first["statistics"])  # fmt: skip
        assert first["is_top"]
        now = videos["extra"]["now"] / 1000
        for video in videos["data"]["list"]:  # item data covers the last 30 days only
            figures = set(video["statistics"].values())
            young = now - video["create_time"] <= 30 * 86400
            assert (video["statistics"]["play_count"] > 0) if young else (figures == {0})
        assert first["item_id"].startswith("@") and isinstance(videos["data"]["has_more"], bool)
        comments = await get(
            "/item/comment/list/", item_id=first["item_id"], cursor=0, count=20, sort_type="time"
        )
        item = comments["data"]["list"][0]
        assert {"comment_id", "comment_user_id", "content", "create_time", "digg_count",
                "reply_comment_total", "top"} <= set(item)  # fmt: skip
        parent = next(c for c in comments["data"]["list"] if c["reply_comment_total"])
        replies = await get(
            "/item/comment/reply/list/", item_id=first["item_id"], comment_id=parent["comment_id"],
            cursor=0, count=20,
        )  # fmt: skip
        assert len(replies["data"]["list"]) == parent["reply_comment_total"]
        fans = await get("/data/external/user/fans/", date_type=7)
        assert len(fans["data"]["result_list"]) == 7
        assert {"date", "new_fans", "total_fans"} <= set(fans["data"]["result_list"][0])
        wrong = await get("/video/list/", token=douyin.access_token_for("someone else"))
        assert wrong["extra"]["error_code"] == 28001015
        sim.sim.expired_open_tokens.add(token)
        expired = await get("/video/list/")
        assert expired["data"]["error_code"] == 28001008
