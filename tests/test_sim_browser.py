"""The simulated Douyin pages sign and fetch the web API with their own JavaScript, in real
headless Chromium (Debian's), as the browser collection mode will meet them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import aiohttp
import pytest

from tests.support.sim import CH_ID, running_sim

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
OFFICIAL = "MS4wLjABAAAAofficial0DalianWangxin00000000000000000"
CHALLENGE = "/aweme/v1/web/challenge/detail/"

# Skipped only outside CI: `make test` installs chromium, so in CI a missing browser fails.
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason="Debian's chromium is not installed (make test installs it)",
)


async def open_page(url: str, api_path: str) -> tuple[str, list[dict], list[str]]:
    from playwright.async_api import async_playwright

    captured: list[dict] = []
    requested: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = await browser.new_page()

            async def on_response(response) -> None:  # type: ignore[no-untyped-def]
                if api_path in response.url:
                    requested.append(response.url)
                    body = await response.text()
                    captured.append(json.loads(body) if body else {})

            page.on("response", on_response)
            await page.goto(url)
            await page.wait_for_selector("body[data-loaded='1']", timeout=15_000)
            views = await page.inner_text("#views")
        finally:
            await browser.close()
    return views, captured, requested


async def test_hashtag_page_signs_and_fetches_the_challenge() -> None:
    async with running_sim() as (server, _):
        views, captured, requested = await open_page(
            f"{server.douyin_url}/hashtag/{CH_ID}", "/aweme/v1/web/challenge/aweme/"
        )
    assert views.endswith("次播放") and int(views.split()[0]) > 0
    assert captured and captured[0]["aweme_list"], "the signed request got data, not an empty body"
    assert "msToken=" in requested[0] and "a_bogus=" in requested[0]


async def test_user_page_fetches_uploads() -> None:
    async with running_sim() as (server, _):
        views, captured, _ = await open_page(
            f"{server.douyin_url}/user/{OFFICIAL}", "/aweme/v1/web/aweme/post/"
        )
    assert views.endswith("粉丝")
    assert captured[0]["aweme_list"][0]["is_top"] == 1


async def test_the_sdk_signs_any_fetch_made_from_a_douyin_page() -> None:
    """What browser mode relies on: a fetch() made from the home page, by anyone, leaves
    with msToken and a_bogus, as the real site's SDK adds them."""
    from playwright.async_api import async_playwright

    async with running_sim() as (server, _), async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = await browser.new_page()
            await page.goto(f"{server.douyin_url}/")
            agent = await page.evaluate("navigator.userAgent")
            version = agent.split("Chrome/")[1].split()[0]
            body = await page.evaluate(
                "(q) => fetch('/aweme/v1/web/challenge/detail/?' + q).then(r => r.text())",
                f"ch_id={CH_ID}&browser_name=Chrome&browser_version={version}",
            )
            unsigned = await page.evaluate("() => fetch('/__sim/now').then(r => r.url)")
        finally:
            await browser.close()
    assert json.loads(body)["ch_info"]["cid"] == CH_ID
    assert "msToken" not in unsigned, "only the web API is signed"
    (logged,) = [q for p, q in server.sim.request_log if q.startswith("/aweme/v1/web/challenge")]
    assert "msToken=" in logged and "a_bogus=" in logged


POSTS = "/aweme/v1/web/aweme/post/"


async def test_the_gateway_lets_only_the_page_signature_through() -> None:
    """Behind the gateway, a copy of the page's own signed query, sent without the page's
    header, is refused; a security parameter added by the caller is a duplicate (the SDK adds
    its own) and refused too; the page's own fetch goes through."""
    from playwright.async_api import async_playwright

    async with running_sim(douyin_test_signer=False) as (server, _), async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = await browser.new_page()
            await page.goto(f"{server.douyin_url}/")
            agent = await page.evaluate("navigator.userAgent")
            version = agent.split("Chrome/")[1].split()[0]
            query = f"sec_user_id={OFFICIAL}&browser_name=Chrome&browser_version={version}"
            get = "(u) => fetch(u).then(async r => ({status: r.status, body: await r.text()}))"
            own = await page.evaluate(get, f"{POSTS}?{query}")
            forged = await page.evaluate(get, f"{POSTS}?{query}&msToken=forged")
        finally:
            await browser.close()
        signed = next(q for p, q in server.sim.request_log if q.startswith(POSTS))
        async with aiohttp.ClientSession() as session:
            headers = {"User-Agent": agent}
            async with session.get(server.douyin_url + signed, headers=headers) as response:
                copied = (response.status, await response.text())
            path = CHALLENGE + signed.removeprefix(POSTS).replace("sec_user_id", "ch_id")
            async with session.get(server.douyin_url + path, headers=headers) as response:
                elsewhere = (response.status, await response.text())
    assert own["status"] == 200 and json.loads(own["body"])["aweme_list"]
    assert (forged["status"], forged["body"]) == (403, "Sign Invalid")
    assert copied == (403, "Signature Not Found")
    assert elsewhere == (200, ""), "outside the gateway an unsigned query gets an empty body"


async def test_a_pending_captcha_holds_the_request_under_the_slider() -> None:
    from playwright.async_api import async_playwright

    async with running_sim() as (server, _), async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = await browser.new_page()
            await page.goto(f"{server.douyin_url}/")
            await page.wait_for_function(
                "() => performance.getEntriesByType('resource').some("
                "e => e.name.includes('/aweme/v1/web/query/user/'))"
            )
            assert await page.query_selector("#captcha_container") is None
            server.sim.douyin_wall = "captcha_overlay"
            await page.evaluate(
                "(q) => { window.answer = null; fetch('/aweme/v1/web/challenge/detail/?' + q)"
                ".then(r => r.text()).then(t => { window.answer = t; }); }",
                f"ch_id={CH_ID}",
            )
            await page.wait_for_selector(
                "#captcha_container .captcha-verify-image", state="attached"
            )
            assert await page.evaluate("window.answer") is None, "held while pending"
            server.sim.douyin_wall = None  # lifted: the held request ends, refused
            await page.wait_for_function("window.answer !== null")
            assert await page.evaluate("window.answer") == ""
        finally:
            await browser.close()
