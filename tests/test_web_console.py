"""The web console in headless Chromium (Debian's /usr/bin/chromium) through Playwright: a
person logs in through the form, reads the pages and acts; the store is the oracle.

Every request the browser makes is routed through `guard_hosts`: one to any host but
127.0.0.1 is aborted and fails the test. Screenshots of every page go to out/screenshots/.
"""

from __future__ import annotations

import io
import json
import os
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, redirect_stdout
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from alerts.bot.label_choice import next_label_candidate
from monitor.cli import main
from tests.support.alerts import alert
from tests.support.factories import comment, post
from tests.support.paths import REPO
from tests.support.web import (
    CHROMIUM,
    CHROMIUM_ARGS,
    FINDABLE,
    MARKUP,
    NOW,
    PASSWORDS,
    Running,
    running_console,
)

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason="Debian's chromium is not installed at /usr/bin/chromium (make test installs it)",
)
SHOTS = REPO / "out" / "screenshots"
PAGES = ("/", "/threads", "/threads/weibo/P5", "/alerts", "/ugc", "/kols", "/search?q=刘阿姨",
         "/label", "/digests")  # fmt: skip


@dataclass
class Visit:
    running: Running
    page: Any
    foreign: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.running.url + path

    async def login(self, name: str) -> None:
        await self.page.goto(self.url("/login"))
        await self.page.fill("input[name=username]", name)
        await self.page.fill("input[name=password]", PASSWORDS[name])
        await self.page.click("button[type=submit]")
        await self.page.wait_for_url(self.url("/"))


@asynccontextmanager
async def visit(tmp_path: Path, language: str = "zh", **web: Any) -> AsyncIterator[Visit]:
    from playwright.async_api import async_playwright

    async with (
        running_console(tmp_path, language, **web) as running,
        async_playwright() as playwright,
    ):
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            context = await browser.new_context(viewport={"width": 1200, "height": 900})
            seen = Visit(running, await context.new_page())

            async def guard_hosts(route: Any) -> None:
                host = urllib.parse.urlsplit(route.request.url).hostname
                if host == "127.0.0.1":
                    await route.continue_()
                else:
                    seen.foreign.append(route.request.url)
                    await route.abort()

            await context.route("**/*", guard_hosts)
            yield seen
            assert seen.foreign == [], f"requests left 127.0.0.1: {seen.foreign}"
        finally:
            await browser.close()


def export_count(running: Running, kind: str) -> int:
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["--config", str(running.config.source), "export", kind]) == 0
    return len(out.getvalue().splitlines())


async def test_without_a_session_pages_go_to_login_and_the_api_answers_401(
    tmp_path: Path,
) -> None:
    async with visit(tmp_path) as seen:
        await seen.page.goto(seen.url("/alerts?kind=trending"))
        assert seen.page.url.startswith(seen.url("/login?next="))
        answer = await seen.page.request.get(seen.url("/api/summary"))
        assert answer.status == 401
        # after logging in, the page asked for is the one shown
        await seen.page.fill("input[name=username]", "ed")
        await seen.page.fill("input[name=password]", PASSWORDS["ed"])
        await seen.page.click("button[type=submit]")
        await seen.page.wait_for_url(seen.url("/alerts?kind=trending"))


async def test_a_wrong_password_is_refused_and_the_cookie_is_httponly_and_lax(
    tmp_path: Path,
) -> None:
    async with visit(tmp_path) as seen:
        await seen.page.goto(seen.url("/login"))
        await seen.page.fill("input[name=username]", "ed")
        await seen.page.fill("input[name=password]", "not the password")
        await seen.page.click("button[type=submit]")
        await seen.page.wait_for_selector(".error")
        assert "/login" in seen.page.url
        await seen.login("ed")
        cookies = await seen.page.context.cookies()
        session = next(c for c in cookies if c["name"] == "pingfan_session")
        assert session["httpOnly"] and session["sameSite"] == "Lax" and not session["secure"]
        # logging out is a POST; the old cookie opens nothing afterwards
        await seen.page.click("form.logout button")
        await seen.page.wait_for_url(seen.url("/login"))
        await seen.page.context.add_cookies([{**session}])
        assert (await seen.page.request.get(seen.url("/api/summary"))).status == 401


async def test_the_overview_shows_what_export_counts(tmp_path: Path) -> None:
    async with visit(tmp_path) as seen:
        await seen.login("ed")
        expected = {
            kind: export_count(seen.running, kind) for kind in ("posts", "comments", "alerts")
        }
        assert expected == {"posts": 12, "comments": 102, "alerts": 3}
        for kind, count in expected.items():
            shown = await seen.page.inner_text(f"#total-{kind}")
            assert int(shown.replace(",", "")) == count
        summary = json.loads(await (await seen.page.request.get(seen.url("/api/summary"))).text())
        assert {kind: summary[kind] for kind in expected} == expected
        assert {t["platform"]: t["views"] for t in summary["topics"]} == {
            "douyin": 3_000_000,
            "weibo": 1_800_000,
        }
        campaign, week = summary["sentiment"], summary["sentiment_week"]
        assert campaign["n"] == summary["comments"] == 102  # the campaign's: every one scored
        assert week["n"] == summary["week"]["comments"] == 77  # the last 7 days
        for shares in (campaign, week):
            negative = shares["negative"]
            assert negative["low"] < negative["share"] < negative["high"]
        shown = await seen.page.inner_text("#shares-campaign .share-negative .share")
        assert shown == f"{campaign['negative']['share'] * 100:.1f}%"
        text = await seen.page.inner_text("main")
        assert "3,000,000" in text and "负面" in text and "活动全程" in text  # Chinese by default


async def test_search_finds_a_stored_comment(tmp_path: Path) -> None:
    async with visit(tmp_path) as seen:
        await seen.login("vic")
        await seen.page.goto(seen.url("/search"))
        await seen.page.fill("input[name=q]", "海豚")
        await seen.page.press("input[name=q]", "Enter")
        await seen.page.wait_for_selector(".hits-comments")
        assert await seen.page.inner_text(".hits-comments .hit-text") == FINDABLE
        # the platform filter: the comment is on Weibo (day 3), so Douyin finds nothing
        await seen.page.goto(seen.url("/search?q=海豚&platform=douyin"))
        assert await seen.page.locator(".hit").count() == 0


async def test_search_pages_the_newest_matches_and_links_comments_to_their_thread(
    tmp_path: Path,
) -> None:
    async with visit(tmp_path) as seen:
        store = seen.running.store
        # 75 matches on P2, a minute apart, stored as collected (the oldest first: search goes
        # by the order of storing); then a thread of 210 whose oldest is the one found
        store.content.save_comments(
            comment(f"page-{n}", post_id="P2", platform="douyin", text=f"翻页测试 第{n}条",
                    created_at=NOW - timedelta(days=2, minutes=n))
            for n in reversed(range(75))
        )  # fmt: skip
        store.content.save_comments(
            comment(f"long-{n}", post_id="P4", platform="douyin",
                    text="最早的那条评论" if n == 209 else f"长帖子的第{n}条",
                    created_at=NOW - timedelta(hours=1, minutes=n))
            for n in range(210)
        )  # fmt: skip
        await seen.login("vic")
        await seen.page.goto(seen.url("/search?q=翻页测试"))
        first = await seen.page.locator(".hits-comments .hit-text").all_inner_texts()
        assert first == [f"翻页测试 第{n}条" for n in range(50)]  # the newest first
        await seen.page.click("a.more-comments")
        await seen.page.wait_for_url("**before=*")
        second = await seen.page.locator(".hits-comments .hit-text").all_inner_texts()
        assert second == [f"翻页测试 第{n}条" for n in range(50, 75)]
        assert await seen.page.locator("a.more-comments").count() == 0
        # the date filter still holds: the day of the 75 matches, and the day before it
        day = (NOW - timedelta(days=2)).astimezone(ZoneInfo("Asia/Shanghai")).date()
        await seen.page.goto(seen.url(f"/search?q=翻页测试&from={day}&to={day}"))
        assert await seen.page.locator(".hits-comments .hit").count() == 50
        before = day - timedelta(days=1)
        await seen.page.goto(seen.url(f"/search?q=翻页测试&from={before}&to={before}"))
        assert await seen.page.locator(".hit").count() == 0
        # a comment found goes to its place in its thread, beyond the newest 200
        await seen.page.goto(seen.url("/search?q=最早的那条"))
        await seen.page.click(".hits-comments a.hit-text")
        await seen.page.wait_for_url("**/threads/douyin/P4?comment=long-209#comment-long-209")
        found = seen.page.locator("#comment-long-209")
        assert await found.get_attribute("class") == "comment label-none found"
        assert "最早的那条评论" in await found.inner_text()
        await seen.page.goto(seen.url("/threads/douyin/P4"))
        assert await seen.page.locator("#comment-long-209").count() == 0  # not among the newest
        await seen.page.click("a.older")
        assert await seen.page.locator("#comment-long-209").count() == 1


async def test_acknowledging_and_muting_shows_in_alerts_and_in_the_store(tmp_path: Path) -> None:
    async with visit(tmp_path) as seen:
        await seen.login("ed")
        store = seen.running.store
        await seen.page.goto(seen.url("/alerts"))
        await seen.page.click("#alert-2 button.ack")
        await seen.page.wait_for_selector("#alert-2 .acked")
        assert "ed" in await seen.page.inner_text("#alert-2 .acked")
        ack = store.team.alert_ack(2)
        assert ack is not None and ack.by == "ed" and ack.at == NOW
        assert store.team.alert_ack(1) is None
        await seen.page.click("#alert-2 button.mute")
        await seen.page.wait_for_selector("#alert-2 .muted")
        assert ("weibo", "P3") in store.outbox.active_mutes(NOW)
        await seen.page.goto(seen.url("/alerts?acked=no"))
        assert await seen.page.locator("#alert-2").count() == 0
        assert await seen.page.locator("#alert-1").count() == 1


async def test_a_label_lands_in_the_labels_table_and_0_skips(tmp_path: Path) -> None:
    async with visit(tmp_path) as seen:
        await seen.login("ed")
        store = seen.running.store
        first = next_label_candidate(store)
        assert first is not None
        await seen.page.goto(seen.url("/label"))
        assert await seen.page.inner_text("#label-card .comment-text") == first.text
        await seen.page.keyboard.press("3")
        await seen.page.wait_for_selector(".done")
        rows = list(store.query("SELECT platform, comment_id, label, given_by FROM labels"))
        assert rows == [
            {"platform": first.platform, "comment_id": first.id, "label": "negative",
             "given_by": "web:ed"}
        ]  # fmt: skip
        second = next_label_candidate(store)
        assert second is not None and second.id != first.id
        await seen.page.keyboard.press("0")
        await seen.page.wait_for_selector(".done")
        skipped = list(store.query("SELECT comment_id, skipped_by FROM label_skips"))
        assert skipped == [{"comment_id": second.id, "skipped_by": "web:ed"}]
        assert store.team.team_label_count() == 1


async def test_a_viewer_cannot_write(tmp_path: Path) -> None:
    async with visit(tmp_path) as seen:
        await seen.login("vic")
        await seen.page.goto(seen.url("/alerts"))
        assert await seen.page.locator("button.ack").count() == 0
        csrf = await seen.page.get_attribute("form.logout input[name=csrf_token]", "value")
        answer = await seen.page.request.post(
            seen.url("/alerts/1/ack"), form={"csrf_token": csrf or ""}
        )
        assert answer.status == 403
        answer = await seen.page.request.post(
            seen.url("/label"), form={"csrf_token": csrf or "", "pk": "1", "key": "1"}
        )
        assert answer.status == 403
        assert seen.running.store.team.alert_ack(1) is None
        assert seen.running.store.team.team_label_count() == 0


async def test_a_post_without_the_csrf_token_is_refused(tmp_path: Path) -> None:
    async with visit(tmp_path) as seen:
        await seen.login("ed")
        answer = await seen.page.request.post(seen.url("/alerts/1/ack"), form={"x": "1"})
        assert answer.status == 403
        answer = await seen.page.request.post(
            seen.url("/alerts/1/ack"), form={"csrf_token": "forged"}
        )
        assert answer.status == 403
        assert seen.running.store.team.alert_ack(1) is None


async def test_a_comment_with_markup_is_shown_escaped(tmp_path: Path) -> None:
    async with visit(tmp_path) as seen:
        await seen.login("ed")
        await seen.page.goto(seen.url("/threads/weibo/P5"))
        texts = await seen.page.locator(".comment-text").all_inner_texts()
        assert MARKUP in texts
        assert await seen.page.locator(".comments img, .comments b").count() == 0
        assert await seen.page.evaluate("() => window.pwned") is None
        await seen.page.goto(seen.url("/search?q=粗体"))
        assert await seen.page.inner_text(".hits-comments .hit-text") == MARKUP


async def test_a_new_alert_appears_without_a_reload(tmp_path: Path) -> None:
    async with visit(tmp_path) as seen:
        await seen.login("ed")
        await seen.page.goto(seen.url("/alerts"))
        seen.running.store.outbox.enqueue_alert(alert(9, at=NOW, title="新的负面舆情 <i>九</i>"))
        await seen.page.wait_for_selector("#live-list li", timeout=20_000)
        assert "新的负面舆情 <i>九</i>" in await seen.page.inner_text("#live-list")
        await seen.page.wait_for_selector("#alert-4", timeout=20_000)  # the table refreshed


async def test_ugc_marks_are_stored_and_in_the_csv(tmp_path: Path) -> None:
    async with visit(tmp_path) as seen:
        await seen.login("ed")
        store = seen.running.store
        store.content.save_posts(
            [post("PLAIN", text="今天天气不错", created_at=NOW, observed_at=NOW)]
        )
        store.content.set_ugc_scores([("weibo", "PLAIN", 0.1)])
        await seen.page.goto(seen.url("/ugc"))
        # below the rule's bar (0.7): only a nomination is on the board
        assert await seen.page.locator("#ugc-weibo-PLAIN").count() == 0
        assert "环卫工人" in await seen.page.inner_text("#ugc-douyin-P0 .tag")
        await seen.page.click("#ugc-weibo-P11 button[value=featured]")
        await seen.page.wait_for_selector("#ugc-weibo-P11.mark-featured")
        queries = store.console
        assert queries.ugc_mark("weibo", "P11") == "featured"
        csv_text = (await (await seen.page.request.get(seen.url("/ugc.csv"))).body()).decode()
        line = next(line for line in csv_text.splitlines() if ",P11," in line)
        assert "featured" in line and "刘阿姨" in line
        assert "网友11" not in csv_text  # authors are masked


async def test_the_ugc_board_goes_page_by_page_and_a_mark_keeps_the_page(
    tmp_path: Path,
) -> None:
    async with visit(tmp_path) as seen:
        store = seen.running.store
        store.content.save_posts(
            post(f"U{n}", text=f"我拍的第{n}个视频", created_at=NOW, observed_at=NOW)
            for n in range(60)
        )
        store.content.set_ugc_scores([("weibo", f"U{n}", 1.5 - n / 1000) for n in range(60)])
        await seen.login("ed")
        await seen.page.goto(seen.url("/ugc"))
        rows = seen.page.locator("table.ugc tbody tr")
        assert await rows.count() == 50
        first = [await rows.nth(n).get_attribute("id") for n in range(50)]
        assert first == [f"ugc-weibo-U{n}" for n in range(50)]  # the best score first
        await seen.page.click("a.next")
        await seen.page.wait_for_url("**/ugc?page=2")
        second = [await rows.nth(n).get_attribute("id") for n in range(await rows.count())]
        # the other ten, then the fill's posts above the bar (0.7)
        assert second[:10] == [f"ugc-weibo-U{n}" for n in range(50, 60)]
        assert not set(first) & set(second) and "ugc-weibo-P11" in second
        await seen.page.click("#ugc-weibo-U55 button[value=thanked]")
        await seen.page.wait_for_selector("#ugc-weibo-U55.mark-thanked")
        assert "page=2" in seen.page.url
        assert store.console.ugc_mark("weibo", "U55") == "thanked"


async def test_every_page_renders_and_is_screenshotted(tmp_path: Path) -> None:
    (tmp_path / "digests").mkdir()
    (tmp_path / "digests" / "digest-2019-W28.html").write_text("<h1>W28</h1>", encoding="utf-8")
    SHOTS.mkdir(parents=True, exist_ok=True)
    async with visit(tmp_path) as seen:
        await seen.page.goto(seen.url("/login"))
        await seen.page.screenshot(path=str(SHOTS / "login.png"))
        await seen.login("ed")
        for path in PAGES:
            answer = await seen.page.goto(seen.url(path))
            assert answer is not None and answer.status == 200, path
            name = path.strip("/").split("?")[0].replace("/", "-") or "overview"
            await seen.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
        await seen.page.goto(seen.url("/kols"))
        assert "大连身边事" in await seen.page.inner_text("table.kols")
        await seen.page.goto(seen.url("/digests"))
        await seen.page.click("text=2019-W28")
        assert await seen.page.inner_text("h1") == "W28"


async def test_english_with_ui_language_en(tmp_path: Path) -> None:
    async with visit(tmp_path, language="en") as seen:
        await seen.page.goto(seen.url("/login"))
        assert await seen.page.inner_text("button[type=submit]") == "Log in"
        await seen.login("vic")
        text = await seen.page.inner_text("main")
        assert "Sentiment of the last 7 days" in text and "情感" not in text
