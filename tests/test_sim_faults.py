"""Every fault the simulator injects looks like what the real platforms send."""

import json
from datetime import datetime

import aiohttp
import pytest

from monitor.sim.faults import Fault
from tests.support.sim import CH_ID, SIGNED, TOPIC, UA, bundled_world, running_sim

SEARCH = {"containerid": f"100103type=61&q=#{TOPIC}#"}
GET_INDEX = "/api/container/getIndex"
CHALLENGE = "/aweme/v1/web/challenge/aweme/"


async def fetch(session: aiohttp.ClientSession, url: str, params: dict) -> tuple[int, str]:
    async with session.get(url, params=params, headers={"User-Agent": UA}) as response:
        return response.status, await response.text()


@pytest.mark.parametrize(
    ("kind", "status", "fragment"),
    [
        ("http432", 432, "<html>"),
        ("http418", 418, "teapot"),
        ("http403", 403, "Forbidden"),
        ("ok0", 200, '"ok":0'),
        ("captcha", 200, '"ok":-100'),
        ("visitor", 200, "Sina Visitor System"),
        ("no_permission", 200, "暂无查看权限"),
    ],
)
async def test_weibo_faults(kind: str, status: int, fragment: str) -> None:
    async with running_sim() as (sim, _), aiohttp.ClientSession() as session:
        sim.sim.faults.add(Fault("weibo", kind, path=GET_INDEX, count=1))
        got_status, body = await fetch(session, sim.weibo_url + GET_INDEX, SEARCH)
        assert got_status == status and fragment in body
        again_status, again = await fetch(session, sim.weibo_url + GET_INDEX, SEARCH)
        assert again_status == 200 and json.loads(again)["ok"] == 1, "a count=1 fault is used up"


async def test_weibo_captcha_names_the_url() -> None:
    async with running_sim() as (sim, _), aiohttp.ClientSession() as session:
        sim.sim.faults.add(Fault("weibo", "captcha"))
        _, body = await fetch(session, sim.weibo_url + GET_INDEX, SEARCH)
    assert json.loads(body)["url"].startswith("https://m.weibo.cn/captcha?")


async def test_truncated_json_does_not_parse() -> None:
    async with running_sim() as (sim, _), aiohttp.ClientSession() as session:
        sim.sim.faults.add(Fault("weibo", "truncated"))
        _, body = await fetch(session, sim.weibo_url + GET_INDEX, SEARCH)
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)


@pytest.mark.parametrize(
    ("kind", "check"),
    [
        ("empty", lambda body: body == ""),
        ("blocked", lambda body: body == "blocked"),
        ("no_list", lambda body: json.loads(body) == {"status_code": 0}),
        (
            "has_more_empty",
            lambda body: json.loads(body)["has_more"] == 1 and json.loads(body)["aweme_list"] == [],
        ),
        ("repeat_cursor", lambda body: json.loads(body)["cursor"] == 20),
    ],
)
async def test_douyin_faults(kind: str, check) -> None:  # type: ignore[no-untyped-def]
    params = {"ch_id": CH_ID, "cursor": "20", "count": "20", **SIGNED}
    async with running_sim() as (sim, _), aiohttp.ClientSession() as session:
        sim.sim.faults.add(Fault("douyin", kind))
        status, body = await fetch(session, sim.douyin_url + CHALLENGE, params)
    assert status == 200 and check(body)


async def test_duplicates_across_pages() -> None:
    async with running_sim() as (sim, _), aiohttp.ClientSession() as session:
        _, page1 = await fetch(session, sim.weibo_url + GET_INDEX, {**SEARCH, "page": "1"})
        sim.sim.faults.add(Fault("weibo", "duplicate"))
        _, page2 = await fetch(session, sim.weibo_url + GET_INDEX, {**SEARCH, "page": "2"})
    first = [c["mblog"]["id"] for c in json.loads(page1)["data"]["cards"]]
    second = [c["mblog"]["id"] for c in json.loads(page2)["data"]["cards"]]
    assert set(first) & set(second)


async def test_slow_responses_and_timeouts() -> None:
    async with running_sim() as (sim, _), aiohttp.ClientSession() as session:
        sim.sim.faults.add(Fault("weibo", "timeout"))
        with pytest.raises(TimeoutError):
            async with session.get(
                sim.weibo_url + GET_INDEX, params=SEARCH, timeout=aiohttp.ClientTimeout(total=0.3)
            ):
                pass
        sim.sim.faults.add(Fault("weibo", "slow", delay=0.2))
        status, _ = await fetch(session, sim.weibo_url + GET_INDEX, SEARCH)
        assert status == 200


async def test_scheduled_fault_from_the_scenario() -> None:
    during = datetime.fromisoformat("2019-08-01T04:00:00+08:00")
    async with running_sim(at=during) as (sim, clock), aiohttp.ClientSession() as session:
        status, _ = await fetch(session, sim.weibo_url + GET_INDEX, SEARCH)
        assert status == 432
        clock.advance(hours=3)
        status, _ = await fetch(session, sim.weibo_url + GET_INDEX, SEARCH)
        assert status == 200


async def test_a_scheduled_block_holds_until_it_has_met_a_request() -> None:
    """The compressed demo on a busy machine may not ask during a 3 h block: the block waits
    for the first request after it began, then ends as scheduled."""
    before = datetime.fromisoformat("2019-08-01T02:00:00+08:00")  # the block is 03:00-06:00
    async with running_sim(at=before) as (sim, clock), aiohttp.ClientSession() as session:
        status, _ = await fetch(session, sim.weibo_url + GET_INDEX, SEARCH)
        assert status == 200
        clock.advance(hours=7)  # 09:00: the client slept through the block's hours
        status, _ = await fetch(session, sim.weibo_url + GET_INDEX, SEARCH)
        assert status == 432, "the client's first request since it began meets it"
        status, _ = await fetch(session, sim.weibo_url + GET_INDEX, SEARCH)
        assert status == 200, "met once, it is over"
        status, _ = await fetch(session, sim.douyin_url + CHALLENGE, {"ch_id": CH_ID, **SIGNED})
        assert status == 200, "Weibo's block is Weibo's only"


async def test_a_client_that_came_after_a_block_never_meets_it() -> None:
    after = datetime.fromisoformat("2019-08-01T09:00:00+08:00")
    async with running_sim(at=after) as (sim, _), aiohttp.ClientSession() as session:
        status, _ = await fetch(session, sim.weibo_url + GET_INDEX, SEARCH)
        assert status == 200


async def test_rate_limit_per_client() -> None:
    async with running_sim(requests_per_minute=3) as (sim, _), aiohttp.ClientSession() as session:
        statuses = [(await fetch(session, sim.weibo_url + GET_INDEX, SEARCH))[0] for _ in range(5)]
        _, body = await fetch(session, sim.douyin_url + CHALLENGE, {"ch_id": CH_ID, **SIGNED})
    assert statuses[:3] == [200, 200, 200] and statuses[3:] == [418, 418]
    assert body.startswith("{"), "limits are per platform"


async def test_login_cookie_required_when_configured() -> None:
    async with running_sim(weibo_cookie="good") as (sim, _):
        async with aiohttp.ClientSession() as anonymous:
            status, _ = await fetch(anonymous, sim.weibo_url + GET_INDEX, SEARCH)
            _, config = await fetch(anonymous, sim.weibo_url + "/api/config", {})
            assert status == 432 and json.loads(config)["data"]["login"] is False
        async with aiohttp.ClientSession(cookies={"SUB": "good"}) as logged_in:
            status, _ = await fetch(logged_in, sim.weibo_url + GET_INDEX, SEARCH)
            _, config = await fetch(logged_in, sim.weibo_url + "/api/config", {})
            assert status == 200 and json.loads(config)["data"]["login"] is True


async def test_control_endpoint_injects_faults() -> None:
    async with running_sim() as (sim, _), aiohttp.ClientSession() as session:
        async with session.post(
            sim.douyin_url + "/__sim/faults", json={"platform": "douyin", "kind": "empty"}
        ) as response:
            assert response.status == 200
        async with session.post(
            sim.douyin_url + "/__sim/faults", json={"platform": "douyin", "kind": "nonsense"}
        ) as response:
            assert response.status == 400
        _, body = await fetch(session, sim.douyin_url + CHALLENGE, {"ch_id": CH_ID, **SIGNED})
        assert body == ""


async def test_hotflow_type_flip_must_be_passed_back() -> None:
    world = bundled_world()
    hero = max(
        (p for p in world.posts_until(datetime.fromisoformat("2019-08-25T12:00:00+08:00"))
         if p.platform == "weibo"),
        key=lambda p: len(world.comments.get(p.id, [])),
    )  # fmt: skip
    async with running_sim() as (sim, _), aiohttp.ClientSession() as session:

        async def walk(pass_type_back: bool) -> list[str]:
            ids: list[str] = []
            max_id, max_id_type = 0, 0
            for _ in range(100):
                params = {"id": hero.id, "mid": hero.id, "max_id_type": str(max_id_type)}
                if max_id:
                    params["max_id"] = str(max_id)
                payload = json.loads(
                    (await fetch(session, sim.weibo_url + "/comments/hotflow", params))[1]
                )
                if payload["ok"] != 1:
                    break
                ids += [c["id"] for c in payload["data"]["data"]]
                max_id = payload["data"]["max_id"]
                if pass_type_back:
                    max_id_type = payload["data"]["max_id_type"]
                if max_id == 0:
                    break
            return ids

        complete = await walk(True)
        naive = await walk(False)
    top_level = [c for c in world.comments_until(hero.id, sim.sim.clock.now()) if not c.parent_id]
    assert sorted(complete) == sorted(c.id for c in top_level)
    assert len(naive) < len(complete)
