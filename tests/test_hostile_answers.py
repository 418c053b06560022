"""Hostile answers (issue 26, items 1-5): a field, a page, a thread or a body that is crafted
or broken loses only itself. Every case is served by a small Weibo stand-in on 127.0.0.1 and
checks that the good records beside it are stored, that no traceback appears, and where it
matters that memory stays under 300 MB and text handling under 5 s."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import logging
import socket
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from monitor.cli import main
from monitor.collectors.due import due_threads, retry_delay
from monitor.collectors.walk import PAGE_SEEN, UNCHANGED, Trail
from monitor.config import ConfigError, ScheduleConfig, config_from_dict
from monitor.errors import ParseError
from monitor.parse.common import SHANGHAI, parse_count
from monitor.parse.douyin import comment_page, parse_aweme
from monitor.parse.douyin import read_envelope as douyin_envelope
from monitor.parse.edge import load_json
from monitor.parse.weibo import cards_to_mblogs, next_marker, parse_hotflow, parse_mblogs
from monitor.parse.weibo import read_envelope as weibo_envelope
from monitor.runtime.body import CappedBody, decode_body, text_codec
from monitor.runtime.http import server_date
from monitor.store import Store

TOPIC = "平凡大连人"
MB = 1024 * 1024
MEMORY_LIMIT_MB = 300
REPO = Path(__file__).resolve().parent.parent


# --- a Weibo stand-in, streaming what it sends --------------------------------------------


def weibo_time(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%a %b %d %H:%M:%S +0800 %Y")


def mblog(mid: str, text: str = "致敬平凡的大连人[心]", **fields: Any) -> dict[str, Any]:
    return {
        "mid": mid,
        "text": text,
        "created_at": weibo_time(datetime.now(SHANGHAI) - timedelta(hours=1)),
        "user": {"id": 2_000_000_000 + int(mid[-2:]), "screen_name": f"网友{mid[-2:]}"},
        "reposts_count": 1,
        "comments_count": 2,
        "attitudes_count": 3,
        **fields,
    }


def comment(cid: str, text: str = "辛苦了", **fields: Any) -> dict[str, Any]:
    return {
        "id": int(cid),
        "idstr": cid,
        "text": text,
        "created_at": weibo_time(datetime.now(SHANGHAI) - timedelta(minutes=30)),
        "user": {"id": 3_000_000_000},
        "like_count": 1,
        **fields,
    }


POSTS = ["4400000000000001", "4400000000000002", "4400000000000003"]


def listing(cards: list[dict[str, Any]], **data: Any) -> str:
    return json.dumps({"ok": 1, "data": {"cards": cards, "cardlistInfo": {"page": None}, **data}})


def hotflow(comments: list[dict[str, Any]], max_id: int = 0) -> str:
    # ASCII: a lone surrogate travels as the JSON escape "\ud800", as a platform sends it
    return json.dumps({"ok": 1, "data": {"data": comments, "max_id": max_id, "max_id_type": 0}})


Reply = str | bytes | Callable[[web.Request], Any]


@dataclass
class WeiboStandIn:
    """m.weibo.cn as far as a pass over one topic needs it: one listing page of POSTS, two
    comments per thread, topic counts. `replies` overrides an answer by path (and `mid`)."""

    replies: dict[str, Reply] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    url: str = ""

    def good_listing(self) -> str:
        return listing([{"card_type": 9, "mblog": mblog(mid)} for mid in POSTS])

    async def handle(self, request: web.Request) -> web.StreamResponse:
        query = request.rel_url.query
        self.requests.append(f"{request.path}?{request.query_string}")
        mid = query.get("mid", "")
        for key in (f"{request.path}?mid={mid}", request.path):
            if key in self.replies:
                reply = self.replies[key]
                if callable(reply):
                    return await reply(request)
                return self.answer(reply)
        if request.path == "/api/container/getIndex":
            return self.answer(self.good_listing())
        if request.path == "/comments/hotflow":
            return self.answer(hotflow([comment(f"{mid}1"), comment(f"{mid}2")]))
        if request.path == "/ajax_topic/detail":
            return self.answer(
                json.dumps({"ok": 1, "data": {"baseInfo": {"count": {"read": 9, "mention": 2}}}})
            )
        return self.answer(json.dumps({"ok": 0}))

    def answer(self, body: str | bytes) -> web.Response:
        raw = body.encode("utf-8") if isinstance(body, str) else body
        headers = {"Content-Type": "application/json; charset=utf-8", **self.headers}
        return web.Response(body=raw, headers=headers)


@contextlib.contextmanager
def serving(stand_in: WeiboStandIn) -> Iterator[WeiboStandIn]:
    """The stand-in on a free loopback port, in a thread of its own (so that the CLI's own
    event loop can run in the test's thread)."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    runner_box: list[web.AppRunner] = []

    async def start() -> None:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", stand_in.handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        site = web.SockSite(runner, sock)
        await site.start()
        stand_in.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        runner_box.append(runner)
        started.set()

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    started.wait(10)
    try:
        yield stand_in
    finally:
        asyncio.run_coroutine_threadsafe(runner_box[0].cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def write_config(tmp_path: Path, url: str, **weibo: object) -> Path:
    extra = "".join(f"{key} = {json.dumps(value)}\n" for key, value in weibo.items())
    path = tmp_path / "config.toml"
    path.write_text(
        '[storage]\npath = "pingfan.db"\ncomment_retention_days = 0\n'
        f'[[topics]]\nname = "{TOPIC}"\n'
        f'[weibo]\nbase_url = "{url}"\ntopic_base_url = "{url}"\n'
        'cookie_env = "PINGFAN_TEST_NO_COOKIE"\nrequests_per_minute = 100000\nburst = 50\n'
        f'timeout = "20s"\n{extra}'
        "[douyin]\nenabled = false\n",
        encoding="utf-8",
    )
    return path


def collect_in_process(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """`pingfan collect --once --platform weibo` through `monitor.cli.main`, in this process."""
    code = main(["--config", str(config), "collect", "--once", "--platform", "weibo"])
    out, err = capsys.readouterr()
    return code, out, err


def thread_state(tmp_path: Path, post_id: str) -> dict[str, Any]:
    (row,) = rows(
        tmp_path,
        f"SELECT value FROM cursors WHERE source = 'weibo:comments' AND key = '{post_id}'",
    )
    state: dict[str, Any] = json.loads(row["value"])
    return state


def rows(tmp_path: Path, sql: str) -> list[dict[str, Any]]:
    with Store.open(tmp_path / "pingfan.db") as store:
        return [dict(row) for row in store.query(sql)]


def stored_comment_threads(tmp_path: Path) -> set[str]:
    return {row["post_id"] for row in rows(tmp_path, "SELECT post_id FROM comments")}


def assert_clean(code: int, err: str) -> None:
    assert code == 0, err
    assert "Traceback" not in err, err


# --- item 2: sanitised at the edge, driven through `pingfan collect --once` ----------------

NESTED = "[" * 100_000 + "]" * 100_000


def test_nesting_in_one_thread_fails_that_thread_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    poisoned = POSTS[0]
    stand_in = WeiboStandIn(
        replies={
            f"/comments/hotflow?mid={poisoned}": (
                '{"ok": 1, "data": {"data": [], "max_id": 0, "x": ' + NESTED + "}}"
            )
        }
    )
    with serving(stand_in) as weibo:
        code, _out, err = collect_in_process(write_config(tmp_path, weibo.url), capsys)
    assert_clean(code, err)
    assert {row["id"] for row in rows(tmp_path, "SELECT id FROM posts")} == set(POSTS)
    assert stored_comment_threads(tmp_path) == set(POSTS[1:]), "the other threads are read"
    (cursor,) = rows(
        tmp_path,
        f"SELECT value FROM cursors WHERE source = 'weibo:comments' AND key = '{poisoned}'",
    )
    failed = json.loads(cursor["value"])["failed"]
    assert failed["count"] == 1 and "nested more than 100 deep" in failed["error"]


def test_hostile_fields_lose_only_themselves(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """5,000 digits, 2**70, a lone surrogate and a card that is not an object, on one page
    beside good posts; cardlistInfo sent as a list; comments with a surrogate and no id."""
    digits = "9" * 5000
    cards = [
        {"card_type": 9, "mblog": mblog(POSTS[0], attitudes_count="@DIGITS@")},
        {"card_type": 9, "mblog": mblog(POSTS[1], reposts_count=2**70, text="坏\ud800字")},
        {"card_type": 9, "mblog": mblog(POSTS[2], comments_count="1" + "0" * 30)},
        {"card_type": 9, "mblog": {"mid": "4400000000000099", "user": None}},
        "not a card",
    ]
    body = json.dumps(
        {"ok": 1, "data": {"cards": cards, "cardlistInfo": []}}, ensure_ascii=True
    ).replace('"@DIGITS@"', digits)
    comments = hotflow(
        [
            comment(f"{POSTS[1]}1", text="好\ud800"),
            {"text": "no id", "created_at": "刚刚"},
            comment(f"{POSTS[1]}2", like_count=2**70),
        ]
    )
    stand_in = WeiboStandIn(
        replies={
            "/api/container/getIndex": body,
            f"/comments/hotflow?mid={POSTS[1]}": comments,
        }
    )
    with serving(stand_in) as weibo:
        code, out, err = collect_in_process(write_config(tmp_path, weibo.url), capsys)
    assert_clean(code, err)
    posts = {row["id"]: row for row in rows(tmp_path, "SELECT * FROM posts")}
    assert set(posts) == set(POSTS), "the good posts are stored, the one without author is not"
    assert posts[POSTS[0]]["likes"] is None and posts[POSTS[0]]["reposts"] == 1
    assert posts[POSTS[1]]["reposts"] is None and posts[POSTS[1]]["text"] == "坏\ufffd字"
    assert posts[POSTS[2]]["comments"] is None
    stored = {row["id"]: row for row in rows(tmp_path, "SELECT * FROM comments")}
    assert stored[f"{POSTS[1]}1"]["text"] == "好\ufffd"
    assert stored[f"{POSTS[1]}2"]["likes"] is None
    logged = caplog.text  # each bad record is named with the field that was wrong
    assert "skipped post 4400000000000099, its neighbours kept: post 4400000000000099" in logged
    assert "author" in logged and "skipped comment ?, its neighbours kept: id is missing" in logged
    assert "failed: weibo:" not in out, out


@pytest.mark.parametrize(
    ("headers", "what"),
    [
        ({"Date": "Fri, 31 Dec 9999 23:59:59 GMT"}, "year 9999"),
        ({"Content-Type": "application/json; charset=rot13"}, "charset=rot13"),
        ({"Content-Type": "application/json; charset=no-such-charset"}, "unknown charset"),
    ],
)
def test_hostile_headers_are_unknown_not_fatal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], headers: dict[str, str], what: str
) -> None:
    with serving(WeiboStandIn(headers=headers)) as weibo:
        code, _out, err = collect_in_process(write_config(tmp_path, weibo.url), capsys)
    assert_clean(code, err)
    posts = rows(tmp_path, "SELECT id, text, created_at, observed_at FROM posts")
    assert {row["id"] for row in posts} == set(POSTS), what
    assert all(row["text"] == "致敬平凡的大连人[心]" for row in posts), "read as UTF-8"
    assert all(row["observed_at"] < "2200" for row in posts), "the server's 9999 is unknown"
    assert stored_comment_threads(tmp_path) == set(POSTS)


def test_json_edge_units() -> None:
    with pytest.raises(ParseError, match="nested more than 100 deep"):
        load_json(NESTED)
    with pytest.raises(ParseError, match="nested more than 100 deep"):
        load_json("[" * 150 + "]" * 150)  # under the recursion limit, over ours
    assert load_json('{"n": ' + "7" * 5000 + "}") == {"n": None}
    assert load_json(json.dumps({"n": 2**70, "m": -(2**63), "k": 2**63 - 1})) == {
        "n": None, "m": -(2**63), "k": 2**63 - 1,
    }  # fmt: skip
    assert load_json('{"\\ud800k": ["\\udfff", "a\\u0000b", "\\ud83d\\ude00"]}') == {
        "\ufffdk": ["\ufffd", "a\ufffdb", "😀"]
    }
    assert parse_count("9" * 5000).value is None and parse_count(2**70).value is None
    assert parse_count("9223372036854775807").value == 2**63 - 1
    assert parse_count("1" + "0" * 19).value is None
    assert next_marker({"cardlistInfo": []}, by_since_id=False) is None
    assert next_marker({"cardlistInfo": {"since_id": 42}}, by_since_id=True) == 42
    year_9999 = server_date("Fri, 31 Dec 9999 23:59:59 GMT")
    assert year_9999.year < 2200
    assert text_codec("rot13") == text_codec("base64") == text_codec("nope") == "utf-8"
    assert text_codec("GBK") == "gbk"
    assert decode_body("平凡".encode("gbk"), "gbk") == "平凡"
    assert decode_body(b"\xff{}", "idna") == "\ufffd{}"


# Any JSON at all, in the shapes the parsers are handed.
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
FIELDS = st.fixed_dictionaries(
    {},
    optional={
        key: JSON
        for key in ("mid", "id", "idstr", "text", "created_at", "user", "comments", "data",
                    "max_id", "cards", "aweme_id", "author", "create_time", "statistics", "cid",
                    "comments_count", "attitudes_count", "cardlistInfo", "aweme_list")
    },
)  # fmt: skip


@given(FIELDS)
def test_parsers_raise_only_parse_error(payload: dict[str, Any]) -> None:
    now = datetime.now(SHANGHAI)
    for parse in (
        lambda: parse_hotflow(payload, "1", now),
        lambda: parse_mblogs([payload], now, "https://m.weibo.cn"),
        lambda: cards_to_mblogs(payload.get("cards")),
        lambda: next_marker(payload, by_since_id=True),
        lambda: parse_aweme(payload, now, "https://www.douyin.com"),
        lambda: comment_page(payload, "1", now),
    ):
        with contextlib.suppress(ParseError):
            parse()


def test_envelopes_raise_only_parse_error() -> None:
    for body in (NESTED, '"\\ud800"', "[]", "{" * 1000):
        with pytest.raises(ParseError):
            weibo_envelope(200, body, "http://127.0.0.1/x")
        with pytest.raises(ParseError):
            douyin_envelope(200, body, "http://127.0.0.1/x")
    huge = '{"ok": 1, "status_code": 0, "data": ' + "1" * 5000 + "}"
    assert weibo_envelope(200, huge, "http://127.0.0.1/x").empty  # data unknown: nothing
    assert douyin_envelope(200, huge, "http://127.0.0.1/x")["data"] is None


# --- item 1: per-thread isolation, with backoff, behind the others ------------------------


def test_a_poison_thread_waits_with_backoff_behind_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    poisoned = POSTS[1]
    stand_in = WeiboStandIn(
        replies={f"/comments/hotflow?mid={poisoned}": '{"ok": 1, "data": {"data": "nope"}}'}
    )
    with serving(stand_in) as weibo:
        config = write_config(tmp_path, weibo.url)
        for _ in range(2):
            code, _out, err = collect_in_process(config, capsys)
            assert_clean(code, err)
    hotflow_asks = [r for r in stand_in.requests if r.startswith("/comments/hotflow")]
    assert stored_comment_threads(tmp_path) == {POSTS[0], POSTS[2]}, "others read in pass 1"
    assert sum(poisoned in r for r in hotflow_asks) == 1, "pass 2 leaves it to its backoff"
    assert caplog.text.count("the comments of 4400000000000002 could not be read") == 1
    (cursor,) = rows(
        tmp_path,
        f"SELECT value FROM cursors WHERE source = 'weibo:comments' AND key = '{poisoned}'",
    )
    state = json.loads(cursor["value"])
    assert (
        state["failed"]["count"] == 1
        and "hotflow page without data list" in (state["failed"]["error"])
    )


def test_failed_threads_are_due_after_their_backoff_and_last() -> None:
    schedule = ScheduleConfig()
    now = datetime(2019, 8, 25, 12, tzinfo=SHANGHAI)
    created = "2019-08-25T03:00:00+00:00"

    def row(post_id: str, state: dict[str, Any] | None) -> dict[str, Any]:
        value = json.dumps(state) if state is not None else None
        return {"id": post_id, "comments": 5, "created_at": created, "value": value}

    def failed(minutes_ago: float, count: int) -> dict[str, Any]:
        at = (now - timedelta(minutes=minutes_ago)).isoformat()
        return {"resume": {"max_id": 7}, "failed": {"at": at, "count": count, "error": "x"}}

    read = {"newest": 1, "count": 5, "read_at": (now - timedelta(hours=3)).isoformat()}
    threads = [
        row("failed-long-ago", failed(60, 1)),
        row("failed-just-now", failed(1, 1)),
        row("failed-often", failed(30, 4)),  # waits 8 × comments_hot: 40 min
        row("new", None),
        row("cold", read),
    ]
    order = [post_id for post_id, _ in due_threads(threads, now, now, schedule, set())]
    assert order == ["new", "cold", "failed-long-ago"]
    assert retry_delay(1, schedule) == schedule.comments_hot
    assert retry_delay(4, schedule) == 8 * schedule.comments_hot
    assert retry_delay(100, schedule) == 6 * 3600


# --- item 3: walks end at a repeated cursor or page -------------------------------------


def test_a_repeated_max_id_ends_the_walk_with_one_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    looping = POSTS[0]

    async def same_max_id(request: web.Request) -> web.Response:
        page = request.rel_url.query.get("max_id", "first")
        body = hotflow([comment(f"{looping}1"), comment(f"{looping}2")], max_id=777)
        if page == "first":
            body = hotflow([comment(f"{looping}3")], max_id=777)
        return stand_in.answer(body)

    stand_in = WeiboStandIn(replies={f"/comments/hotflow?mid={looping}": same_max_id})
    with serving(stand_in) as weibo, caplog.at_level(logging.WARNING):
        code, _out, err = collect_in_process(write_config(tmp_path, weibo.url), capsys)
    assert_clean(code, err)
    asks = [r for r in stand_in.requests if r.startswith("/comments/hotflow") and looping in r]
    assert len(asks) == 2, asks  # the first page, then 777, which answers 777: it did not move
    warnings = [r for r in caplog.records if "walk ended" in r.getMessage()]
    assert len(warnings) == 1 and UNCHANGED in warnings[0].getMessage()
    stored = {row["id"] for row in rows(tmp_path, "SELECT id FROM comments")}
    assert {f"{looping}1", f"{looping}2", f"{looping}3"} <= stored
    assert stored_comment_threads(tmp_path) == set(POSTS)


def test_the_trail_rule() -> None:
    trail = Trail()
    assert trail.loops(0, 10, ["a", "b"]) is None
    assert trail.loops(10, 10, ["c"]) == UNCHANGED
    trail = Trail()
    assert trail.loops(0, 10, ["a"]) is None
    assert trail.loops(10, 0, ["b"]) == "a cursor seen before"
    trail = Trail()
    assert trail.loops(0, 10, ["a", "b"]) is None
    assert trail.loops(10, 20, ["a", "b"]) == PAGE_SEEN
    assert Trail().loops(0, 10, []) is None  # an empty page is not a page "seen"


# --- item 4: bounded memory -------------------------------------------------------------


async def endless(request: web.Request) -> web.StreamResponse:
    """200 MB of JSON-ish bytes, streamed 1 MB at a time from one buffer."""
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    await response.prepare(request)
    chunk = b" " * MB
    with contextlib.suppress(ConnectionError, RuntimeError):
        await response.write(b'{"ok": 1, "data": {"pad": "')
        for _ in range(200):
            await response.write(chunk)
    return response


async def gzip_bomb(request: web.Request) -> web.StreamResponse:
    """1 GB of zeros as gzip (about 1 MB on the wire), compressed only as it is read."""
    response = web.StreamResponse(
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}
    )
    await response.prepare(request)
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = b"0" * MB
    with contextlib.suppress(ConnectionError, RuntimeError):
        for _ in range(1024):
            await response.write(packer.compress(zeros))
        await response.write(packer.flush())
    return response


# Runs pingfan's CLI and, at exit, writes the process's own peak resident memory (VmHWM, KB):
# the child's figure alone (wait4's ru_maxrss would also count the forking test process).
_MEASURED_CLI = """
import atexit, runpy, sys
from pathlib import Path

report = Path(sys.argv[1])


def peak() -> None:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            report.write_text(line.split()[1])


atexit.register(peak)
sys.argv = ["pingfan", *sys.argv[2:]]
runpy.run_module("monitor.cli", run_name="__main__", alter_sys=True)
"""


def run_collect_measured(config: Path, tmp_path: Path) -> tuple[int, str, str, int]:
    """`pingfan collect --once` in a child process: exit code, stdout, stderr and the
    child's peak resident memory in MB."""
    report = tmp_path / "vmhwm.txt"
    command = [sys.executable, "-c", _MEASURED_CLI, str(report), "--config", str(config),
               "collect", "--once", "--platform", "weibo"]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=300)
    return done.returncode, done.stdout, done.stderr, int(report.read_text()) // 1024


@pytest.mark.parametrize(
    ("where", "hostile", "failed_step"),
    [
        ("/ajax_topic/detail", endless, f"topic_stats:{TOPIC}"),
        (f"/comments/hotflow?mid={POSTS[0]}", gzip_bomb, None),
    ],
    ids=["200MB-body", "gzip-bomb-1GB"],
)
def test_oversized_answers_fail_their_source_within_300_mb(
    tmp_path: Path, where: str, hostile: Callable[..., Any], failed_step: str | None
) -> None:
    with serving(WeiboStandIn(replies={where: hostile})) as weibo:
        code, out, err, peak_mb = run_collect_measured(write_config(tmp_path, weibo.url), tmp_path)
    assert code == 0 and "Traceback" not in err, err
    assert peak_mb < MEMORY_LIMIT_MB, f"peak {peak_mb} MB"
    print(f"peak resident memory of collect --once against {hostile.__name__}: {peak_mb} MB")
    assert {row["id"] for row in rows(tmp_path, "SELECT id FROM posts")} == set(POSTS)
    if failed_step:
        assert f"failed: weibo:{failed_step}" in out and "larger than 20 MB" in out
        assert stored_comment_threads(tmp_path) == set(POSTS)
    else:
        assert stored_comment_threads(tmp_path) == set(POSTS[1:])
        assert "once decompressed" in thread_state(tmp_path, POSTS[0])["failed"]["error"]


def test_the_cap_is_applied_while_inflating() -> None:
    bomb = gzip.compress(b"\0" * (64 * MB))
    body = CappedBody(MB, "gzip", "http://127.0.0.1/x")
    with pytest.raises(ParseError, match="larger than 1 MB once decompressed"):
        for start in range(0, len(bomb), 4096):
            body.feed(bomb[start : start + 4096])
    assert len(body.data) <= MB + 1
    small = CappedBody(MB, "gzip", "http://127.0.0.1/x")
    small.feed(gzip.compress(b'{"ok": 1}'))
    assert bytes(small.finish()) == b'{"ok": 1}'
    raw = CappedBody(10, "", "http://127.0.0.1/x")
    with pytest.raises(ParseError, match="larger than"):
        raw.feed(b"x" * 11)
    with pytest.raises(ParseError, match="Content-Encoding"):
        CappedBody(10, "br", "http://127.0.0.1/x")


def test_max_response_mb_is_validated(tmp_path: Path) -> None:
    base = {"storage": {"path": "p.db"}, "douyin": {"enabled": False}}
    config = config_from_dict({**base, "weibo": {"max_response_mb": 5}}, tmp_path / "c.toml")
    assert config.weibo.max_response_mb == 5 and config.douyin.max_response_mb == 20
    for platform, value in (("weibo", 0), ("douyin", 5000)):
        with pytest.raises(ConfigError, match=rf"'{platform}\.max_response_mb' is {value}"):
            config_from_dict({**base, platform: {"max_response_mb": value}}, tmp_path / "c.toml")
    shipped = (REPO / "config.toml").read_text(encoding="utf-8")
    assert shipped.count("max_response_mb = 20") == 2
    assert "max_response_mb" in (REPO / "README.md").read_text(encoding="utf-8")


# --- item 5: crafted markup does not hold a pass ------------------------------------------


def test_crafted_markup_does_not_hold_the_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    crafted = ("<a href='/n/" * 1500 + "<img alt=" * 1500)[:36_000]
    cards = [{"card_type": 9, "mblog": mblog(POSTS[0], text=crafted)}] + [
        {"card_type": 9, "mblog": mblog(mid)} for mid in POSTS[1:]
    ]
    comments = hotflow([comment(f"{POSTS[1]}1", text=crafted), comment(f"{POSTS[1]}2")])
    stand_in = WeiboStandIn(
        replies={
            "/api/container/getIndex": listing(cards),
            f"/comments/hotflow?mid={POSTS[1]}": comments,
        }
    )
    now = datetime.now(SHANGHAI)
    started = time.perf_counter()
    parse_mblogs([card["mblog"] for card in cards], now, "https://m.weibo.cn")
    parse_hotflow(json.loads(comments)["data"], POSTS[1], now)
    assert time.perf_counter() - started < 5.0, "text handling held the pass"
    with serving(stand_in) as weibo:
        code, _out, err = collect_in_process(write_config(tmp_path, weibo.url), capsys)
    assert_clean(code, err)
    assert {row["id"] for row in rows(tmp_path, "SELECT id FROM posts")} == set(POSTS)
    assert stored_comment_threads(tmp_path) == set(POSTS)


# --- Douyin: the same isolation and the same walk rule -----------------------------------

DOUYIN_NOW = datetime(2019, 8, 25, 12, tzinfo=SHANGHAI)


def douyin_comment(cid: str, **fields: Any) -> dict[str, Any]:
    return {"cid": cid, "text": "赞", "create_time": 1566700000, "user": {"sec_uid": "u"},
            "digg_count": 1, "reply_comment_total": 0, **fields}  # fmt: skip


def test_a_bad_douyin_comment_is_skipped_and_its_neighbours_kept() -> None:
    payload = load_json(
        json.dumps(
            {
                "status_code": 0,
                "cursor": 20,
                "has_more": 0,
                "comments": [
                    douyin_comment("1"),
                    douyin_comment("2", create_time="9" * 5000),
                    "nope",
                    douyin_comment("3", digg_count=2**70, text="\ud800"),
                ],
            }
        )
    )
    page = comment_page(payload, "v", DOUYIN_NOW)
    assert [c.id for c in page.comments] == ["1", "3"]
    assert page.comments[1].likes is None and page.comments[1].text == "\ufffd"
    assert [(s.id, "create_time" in s.reason) for s in page.skipped] == [("2", True), ("?", False)]


async def test_douyin_threads_fail_alone_and_a_page_seen_before_ends_the_walk(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    from monitor.collectors.douyin_comments import CommentWalker
    from monitor.parse.douyin import CommentPage, DouyinApiError
    from monitor.runtime.clock import VirtualClock

    def page(ids: list[str], cursor: int) -> CommentPage:
        comments = comment_page(
            {"comments": [douyin_comment(i) for i in ids], "cursor": cursor, "has_more": 1},
            "v", DOUYIN_NOW,
        )  # fmt: skip
        return comments

    asked: list[tuple[str, int]] = []

    async def top(post_id: str, cursor: int) -> CommentPage:
        asked.append((post_id, cursor))
        if post_id == "poison":
            raise ParseError("comments is not a list")
        if post_id == "removed":
            raise DouyinApiError("status_code 5")
        # "looping": the same page whatever the cursor, the cursor always moving on
        return page(["a", "b"], cursor + 20)

    async def replies(post_id: str, comment_id: str, cursor: int) -> CommentPage:
        raise AssertionError("no replies here")

    walker = CommentWalker(store, VirtualClock(DOUYIN_NOW), "douyin:comments", top, replies)
    with caplog.at_level(logging.WARNING):
        found = await walker.collect_due(lambda: [("poison", 5), ("removed", 5), ("looping", 9)])
    assert found == 2, "the looping thread's comments are kept"
    assert [cursor for post_id, cursor in asked if post_id == "looping"] == [0, 20]
    assert PAGE_SEEN in caplog.text
    for post_id in ("poison", "removed"):
        state = json.loads(store.content.cursor("douyin:comments", post_id) or "{}")
        assert state["failed"]["count"] == 1
