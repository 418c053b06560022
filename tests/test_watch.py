"""Watch by link: link parsing (pure), the config, `pingfan watch`, short links on the
simulator, and watched posts collected whatever they are tagged with."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.cli import main
from monitor.collectors.weibo import WeiboCollector
from monitor.config import WatchConfig, config_from_dict, load_config
from monitor.errors import ConfigError, LinkError
from monitor.parse.links import BASE62, bid_to_mid, mid_to_bid, parse_link
from monitor.runtime.circuit import Circuit
from monitor.runtime.clock import VirtualClock
from monitor.runtime.platforms import open_douyin
from monitor.runtime.runner import PlatformRunner
from monitor.store import Store
from monitor.watch import resolve_short_link
from tests.support.douyin import douyin_config, expected_comments
from tests.support.sim import MID_CAMPAIGN, running_sim
from tests.support.weibo import sim_config, weibo_fetcher

# --- links, offline ------------------------------------------------------------------------


def test_a_known_bid_decodes_to_its_mid_in_groups_of_seven_digits() -> None:
    assert bid_to_mid("z0JH2lOMb") == "3501756485200075"
    assert mid_to_bid("3501756485200075") == "z0JH2lOMb"


@given(st.integers(min_value=1, max_value=10**18))
def test_bid_and_mid_round_trip(number: int) -> None:
    assert bid_to_mid(mid_to_bid(str(number))) == str(number)


@pytest.mark.parametrize(
    ("url", "platform", "post_id"),
    [
        ("https://weibo.com/1642591402/z0JH2lOMb", "weibo", "3501756485200075"),
        ("weibo.com/1642591402/3501756485200075", "weibo", "3501756485200075"),
        ("https://m.weibo.cn/detail/4404101091169383", "weibo", "4404101091169383"),
        ("https://m.weibo.cn/status/4404101091169383?from=x", "weibo", "4404101091169383"),
        ("https://m.weibo.cn/status/z0JH2lOMb", "weibo", "3501756485200075"),
        ("https://www.douyin.com/video/7381234567890123456", "douyin", "7381234567890123456"),
        (
            "https://www.iesdouyin.com/share/video/7381234567890123456/?region=CN",
            "douyin",
            "7381234567890123456",
        ),
        (
            "https://www.douyin.com/user/MS4wLjAB?modal_id=7381234567890123456",
            "douyin",
            "7381234567890123456",
        ),
        ("https://www.douyin.com/discover?modal_id=7381234567890123456", "douyin", None),
    ],
)
def test_links_name_their_platform_and_id_offline(
    url: str, platform: str, post_id: str | None
) -> None:
    link = parse_link(url)
    assert link.platform == platform
    assert link.id == (post_id or "7381234567890123456")
    assert link.short is None


def test_a_short_link_holds_no_id_and_says_so() -> None:
    link = parse_link("https://v.douyin.com/b2Y4WA/")
    assert (link.platform, link.id, link.short) == ("douyin", None, "b2Y4WA")


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "hello",
        "https://example.com/video/123",
        "https://www.douyin.com/video/abc",
        "https://weibo.com/u/1642591402",
        "https://m.weibo.cn/detail/z0JH2lOMb",  # a bid only under /status/ and weibo.com
        "ftp://weibo.com/1/2",
        "https://v.douyin.com/",
        "https://weibo.com/1642591402/z0JH2lOMb\nrm -rf",
    ],
)
def test_garbage_is_one_line_naming_the_forms(garbage: str) -> None:
    with pytest.raises(LinkError) as caught:
        parse_link(garbage)
    assert "\n" not in str(caught.value) and "v.douyin.com" in str(caught.value)


@given(st.text(alphabet=BASE62, min_size=1, max_size=9))
def test_any_weibo_status_bid_parses_to_digits(bid: str) -> None:
    link = parse_link(f"https://m.weibo.cn/status/{bid}")
    assert link.platform == "weibo" and link.id is not None and link.id.isdigit()


# --- config ----------------------------------------------------------------------------------


def test_config_watch_entries_are_validated_naming_the_key(tmp_path: Path) -> None:
    config = config_from_dict(
        {"watch": [{"url": "https://v.douyin.com/b2Y4WA", "note": "英雄视频 1"}]},
        tmp_path / "c.toml",
    )
    assert config.watch[0].note == "英雄视频 1"
    with pytest.raises(ConfigError, match=r"\[\[watch\]\] #1 'url'"):
        config_from_dict({"watch": [{"url": "not a link"}]}, tmp_path / "c.toml")
    with pytest.raises(ConfigError, match=r"unknown key 'watch\[0\]\.nots'"):
        config_from_dict({"watch": [{"url": "https://v.douyin.com/x", "nots": ""}]}, tmp_path)
    same = "https://www.douyin.com/video/7381234567890123456"
    with pytest.raises(ConfigError, match="#1 and #2 are the same douyin post"):
        config_from_dict({"watch": [{"url": same}, {"url": same + "?x=1"}]}, tmp_path / "c.toml")


def test_the_shipped_config_lists_the_seeds_share_links_commented_out(tmp_path: Path) -> None:
    shipped = (Path(__file__).resolve().parent.parent / "config.toml").read_text("utf-8")
    assert "\n[[watch]]" not in shipped, "examples only: commented out"
    uncommented = "\n".join(
        line[2:] if line.startswith(("# [[watch]]", "# url = ", "# note = ")) else line
        for line in shipped.splitlines()
    )
    path = tmp_path / "config.toml"
    path.write_text(uncommented, encoding="utf-8")
    config = load_config(path)
    links = [parse_link(item.url) for item in config.watch]
    assert len(links) == 4 and all(link.short for link in links)
    assert config.watch[0].url == "https://v.douyin.com/b2Y4WA"


# --- the commands ------------------------------------------------------------------------------


def _config_file(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[storage]\npath = "pingfan.db"\n{extra}', encoding="utf-8")
    return path


def test_resolve_prints_one_json_object_offline(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["watch", "resolve", "https://weibo.com/1642591402/z0JH2lOMb"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["platform"] == "weibo" and found["id"] == "3501756485200075"


def test_resolve_garbage_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["watch", "resolve", "https://example.com/nothing"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1


def test_add_list_remove(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = _config_file(
        tmp_path, '[[watch]]\nurl = "https://m.weibo.cn/detail/4404101091169383"\nnote = "官方"\n'
    )
    video = "https://www.douyin.com/video/7381234567890123456"
    assert main(["watch", "add", video, "--note", "英雄", "--config", str(config)]) == 0
    assert main(["watch", "add", video, "--config", str(config)]) == 0
    assert "already watched" in capsys.readouterr().out
    assert main(["watch", "list", "--config", str(config)]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 2
    assert any("7381234567890123456" in line and "[cli]" in line for line in listed)
    assert any("4404101091169383" in line and "[config]" in line for line in listed)
    # an item of the config file is removed there, not here
    assert main(["watch", "remove", "4404101091169383", "--config", str(config)]) == 2
    assert "[[watch]]" in capsys.readouterr().err
    assert main(["watch", "remove", "7381234567890123456", "--config", str(config)]) == 0
    assert capsys.readouterr().out.startswith("removed douyin 7381234567890123456")
    assert main(["watch", "list", "--config", str(config)]) == 0
    assert "7381234567890123456" not in capsys.readouterr().out
    assert main(["watch", "remove", video, "--config", str(config)]) == 2


# --- short links on the simulator --------------------------------------------------------------


async def test_a_short_link_costs_one_request_and_resolves_to_a_hero_video() -> None:
    async with running_sim() as (server, _):
        before = len(server.sim.request_log)
        link = await resolve_short_link(
            parse_link("https://v.douyin.com/b2Y4WA"), server.douyin_url + "/s"
        )
        assert len(server.sim.request_log) == before + 1
        assert link.platform == "douyin" and link.short == "b2Y4WA"
        assert server.sim.world.posts_by_id[link.id or ""].role == "hero"
        with pytest.raises(LinkError, match="does not lead to a video"):
            await resolve_short_link(
                parse_link("https://v.douyin.com/b2Y4WA"), server.douyin_url + "/nowhere"
            )


def test_resolve_a_short_link_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio
    import threading

    ready = threading.Event()
    holder: dict[str, str] = {}
    stop: asyncio.Event | None = None

    async def serve() -> None:
        nonlocal stop
        stop = asyncio.Event()
        async with running_sim() as (server, _):
            holder["url"] = server.douyin_url
            ready.set()
            await stop.wait()

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),))
    thread.start()
    try:
        assert ready.wait(30)
        config = _config_file(tmp_path, f'[douyin]\nshort_link_base_url = "{holder["url"]}/s"\n')
        assert (
            main(["watch", "resolve", "https://v.douyin.com/b2Y4WA", "--config", str(config)]) == 0
        )
        found = json.loads(capsys.readouterr().out)
        assert found["platform"] == "douyin" and found["id"].isdigit()
    finally:
        assert stop is not None
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        loop.close()


# --- collection --------------------------------------------------------------------------------


async def test_a_watched_short_link_is_collected_without_the_tag(tmp_path: Path) -> None:
    """No topic, no KOL: only the watched video. Its counts are read over time, its
    comments like any stored video's."""
    async with running_sim(at=MID_CAMPAIGN, requests_per_minute=100_000) as (server, clock):
        base = douyin_config(
            server, tmp_path, accounts=False, short_link_base_url=server.douyin_url + "/s"
        )
        config = dataclasses.replace(
            base,
            topics=(),
            watch=(WatchConfig("https://v.douyin.com/b2Y4WA", note="英雄视频"),),
        )
        runtime_clock = VirtualClock(MID_CAMPAIGN)
        with Store.open(config.storage.path) as store:
            async with open_douyin(config, store, runtime_clock, None) as runtime:
                report = await runtime.runner.run_all(list(runtime.sources))
                assert all(s.status == "ok" for s in report.steps), report.summary()
                (watched,) = store.watch.watched("douyin")
                assert watched.id is not None and watched.note == "英雄视频"
                posts = list(store.query("SELECT id FROM posts"))
                assert [p["id"] for p in posts] == [watched.id]
                expected = expected_comments(server.sim.world, {watched.id}, clock.now())
                stored = store.query("SELECT id, parent_id FROM comments")
                assert {row["id"]: row["parent_id"] for row in stored} == expected
                assert expected
                clock.advance(hours=2)
                runtime_clock.advance(7200)
                await runtime.runner.run_all(list(runtime.sources))
                # counts over time: read again (a point is stored when a count moved)
                details = [q for _, q in server.sim.request_log if "/aweme/detail/" in q]
                assert len(details) == 2 and all(watched.id in q for q in details)
                readings = store.query("SELECT post_id FROM post_metrics")
                assert {row["post_id"] for row in readings} == {watched.id}
                short = [q for _, q in server.sim.request_log if q.startswith("/s/")]
                assert len(short) == 1, "a short link is resolved once"


async def test_a_watched_weibo_post_is_read_through_statuses_show(tmp_path: Path) -> None:
    async with running_sim(at=MID_CAMPAIGN, requests_per_minute=100_000) as (server, clock):
        world = server.sim.world
        target = next(
            p for p in world.posts_until(clock.now()) if p.platform == "weibo" and p.role == "hero"
        )
        base = sim_config(server, tmp_path)
        config = dataclasses.replace(
            base,
            topics=(),
            kols=(),
            official=dataclasses.replace(base.official, weibo=()),
            watch=(WatchConfig(f"https://weibo.com/1000000000/{target.id}"),),
        )
        runtime_clock = VirtualClock(MID_CAMPAIGN)
        with Store.open(config.storage.path) as store:
            circuit = Circuit("weibo", store, runtime_clock, cooldown=600)
            async with weibo_fetcher(runtime_clock, circuit) as http:
                collector = WeiboCollector(config, store, http, runtime_clock)
                runner = PlatformRunner("weibo", store, runtime_clock, circuit)
                report = await runner.run_all(collector.sources(logged_in=False))
        assert all(s.status == "ok" for s in report.steps), report.summary()
        with Store.open(config.storage.path) as store:
            assert [p["id"] for p in list(store.query("SELECT id FROM posts"))] == [target.id]
            assert list(store.query("SELECT id FROM comments"))
