"""The simulated Douyin pages sign and fetch the web API with their own JavaScript, in real
headless Chromium (Debian's), as the browser collection mode will meet them."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support.sim import CH_ID, running_sim

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
OFFICIAL = "MS4wLjABAAAAofficial0DalianWangxin00000000000000000"

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
    (logged,) = [q for p, q in server.sim.request_log if q.startswith("/aweme/")]
    assert "msToken=" in logged and "a_bogus=" in logged
