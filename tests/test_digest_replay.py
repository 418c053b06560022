"""The weekly digest after a demo-like replay: the bundled simulator world, 2019-08-10 to
08-19 in six-hour steps, collected by the real Weibo collector into a store (as in
test_weibo_collector.py), Douyin read straight from the world as a collector would store it
(as in test_alert_sim.py), scored by the configured model, the alert rules run after every
step. Then `pingfan digest --week 2019-W33` (the week of the 星海广场 traffic thread).

- Its Markdown and HTML show the store's figures, and they equal `pingfan export` for the
  same week.
- The HTML renders in headless Chromium (Debian's /usr/bin/chromium) to a screenshot that is
  not blank, with its charts loaded, and with Chinese drawn in real glyphs: distinct
  characters look distinct, and the page differs from the same page rendered with no CJK
  font installed (tofu boxes); the charts' own glyphs all come from a CJK font, none is the
  font's missing-glyph box.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from matplotlib.ft2font import FT2Font
from PIL import Image

from alerts.digest import digest_command
from alerts.engine import evaluate
from monitor.config import Config, config_from_dict
from monitor.export import export_records
from monitor.models import Account, TopicStats, to_utc_iso
from monitor.runtime.scorer import Scorer, score_pending
from monitor.store import Store
from tests.support.alert_sim import TRAFFIC, feed_douyin, thread
from tests.support.digest import table_cells
from tests.support.sim import CH_ID, TOPIC
from tests.support.weibo import KOL, OFFICIAL, rig, sim_config

START = datetime.fromisoformat("2019-08-10T00:00:00+08:00")
UNTIL = datetime.fromisoformat("2019-08-19T09:00:00+08:00")  # Monday morning after the week
WEEK = "2019-W33"
WEEK_START = datetime.fromisoformat("2019-08-12T00:00:00+08:00")
WEEK_END = datetime.fromisoformat("2019-08-19T00:00:00+08:00")
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run"]


@dataclass(frozen=True)
class Replayed:
    config: Config
    out: Path
    printed: str
    traffic_post: str


def digest_config(db: Path, world_kols: list[tuple[str, str, str]], base: Path) -> Config:
    return config_from_dict(
        {
            "storage": {"path": str(db), "comment_retention_days": 0},
            "topics": [{"name": TOPIC, "douyin_ch_id": CH_ID}],
            "kols": [{"platform": p, "id": i, "name": n} for p, i, n in world_kols],
            "official": {"weibo": [OFFICIAL]},
            "alerts": {"milestones": {"views": [1_000_000, 2_000_000, 3_000_000]}},
            "digest": {"out_dir": "digests"},
        },
        base / "digest-config.toml",
    )


async def replay(base: Path) -> tuple[Path, list[tuple[str, str, str]], str]:
    scorer: Scorer | None = None
    async with rig(base, at=START) as r:
        config = sim_config(r.server, base)
        scorer = Scorer(config.nlp.model)
        world = r.world
        curve = world.topic("douyin", name=TOPIC)
        assert curve is not None
        partners = [
            a for a in world.accounts.values() if a.platform == "douyin" and a.kind != "user"
        ]
        try:
            while r.clock.now() <= UNTIL:
                now = r.clock.now()
                await r.run_pass()
                feed_douyin(r.store, world, now, since=START - timedelta(days=14))
                views, discussions = world.topic_counts_at(curve, now)
                r.store.metrics.save_topic_stats(
                    [TopicStats("douyin", TOPIC, now, views, discussions)]
                )
                r.store.metrics.save_accounts(
                    Account(
                        "douyin",
                        a.id,
                        a.name,
                        now,
                        followers=world.followers_at(a, now),
                        kind=a.kind,
                    )
                    for a in partners
                )
                await score_pending(r.store, config, scorer)
                evaluate(r.store, config, now)
                r.advance(hours=6)
        finally:
            scorer.close()
        kols = [("weibo", KOL, "大连身边事")] + [
            ("douyin", a.id, a.name) for a in partners if a.kind == "kol"
        ]
        return config.storage.path, kols, thread(world, TRAFFIC).id


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Replayed:
    base = tmp_path_factory.mktemp("digest-replay")
    db, kols, traffic = asyncio.run(replay(base))
    config = digest_config(db, kols, base)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = digest_command(config, week=WEEK, out=None, send=False, now=UNTIL)
    assert code == 0
    return Replayed(config, config.digest.out_dir, printed.getvalue(), traffic)


def export_week(store: Store, kind: str, field: str = "created_at") -> list[dict]:
    """`pingfan export KIND --since 2019-08-12` (Asia/Shanghai), cut at the week's end."""
    rows = export_records(store, kind, to_utc_iso(WEEK_START))
    return [r for r in rows if datetime.fromisoformat(r[field]) < WEEK_END]


def number(text: str) -> int:
    return int(text.replace(",", "").rstrip("*").strip())


def test_the_replayed_week_shows_the_stores_figures(replayed: Replayed) -> None:
    out = replayed.out
    html_path, md_path = out / f"digest-{WEEK}.html", out / f"digest-{WEEK}.md"
    assert str(md_path) in replayed.printed and str(html_path) in replayed.printed
    html = html_path.read_text(encoding="utf-8")
    markdown = md_path.read_text(encoding="utf-8")
    cells = table_cells(html)
    with Store.open(replayed.config.storage.path) as store:
        posts = export_week(store, "posts")
        comments = export_week(store, "comments")
        topics = export_week(store, "topics", "observed_at")
        alerts = [a for a in export_week(store, "alerts") if a["kind"] != "digest"]
        kol_rows = list(
            store.query(
                "SELECT author_id, count(*) AS n, sum(coalesce(likes, 0)) AS likes FROM posts"
                " WHERE created_at >= ? AND created_at < ? GROUP BY author_id",
                (to_utc_iso(WEEK_START), to_utc_iso(WEEK_END)),
            )
        )
    assert len(posts) > 20 and len(comments) > 500, "the replay must have filled the week"

    # volume: per platform and in all, as the export gives them
    for platform in ("weibo", "douyin", "all"):
        mine = [p for p in posts if platform in ("all", p["platform"])]
        theirs = [c for c in comments if platform in ("all", c["platform"])]
        engagement = sum(
            (p["likes"] or 0) + (p["comments"] or 0) + (p["shares"] or 0) + (p["reposts"] or 0)
            for p in mine
        )
        assert number(cells[("posts", platform)]) == len(mine)
        assert number(cells[("comments", platform)]) == len(theirs)
        assert number(cells[("engagement", platform)]) == engagement
        assert number(cells[("authors", platform)]) == len(
            {(p["platform"], p["author_id"]) for p in mine}
        )
    # the same figures in the Markdown
    row = next(line for line in markdown.splitlines() if line.startswith("| 帖子 |"))
    assert [number(c) for c in row.split("|")[2:5]] == [
        number(cells[("posts", p)]) for p in ("weibo", "douyin", "all")
    ]

    # sentiment split
    for label in ("positive", "neutral", "negative"):
        shown = re.search(rf'<tr data-label="{label}"><td>[^<]*</td><td class="n">([\d,]+)', html)
        assert shown and number(shown.group(1)) == sum(c["label"] == label for c in comments)

    # reach: the week's last reading and its growth since the last reading before the week
    for platform in ("weibo", "douyin"):
        readings = [t for t in topics if t["platform"] == platform and t["views"] is not None]
        with Store.open(replayed.config.storage.path) as store:
            (before,) = store.query(
                "SELECT views FROM topic_metrics WHERE platform = ? AND observed_at < ?"
                " ORDER BY observed_at DESC, pk DESC LIMIT 1",
                (platform, to_utc_iso(WEEK_START)),
            )
        found = re.search(
            rf'<tr data-platform="{platform}">.*?data-field="views">([\d,]+)<.*?'
            r'data-field="gained">([\d,*]+)<',
            html,
            re.S,
        )
        assert found, platform
        assert number(found.group(1)) == readings[-1]["views"]
        assert number(found.group(2)) == readings[-1]["views"] - before["views"]

    # KOL leaderboard: uploads and likes of each partner's posts that week
    by_author = {r["author_id"]: r for r in kol_rows}
    for kol in replayed.config.kols:
        found = re.search(
            rf'<tr data-kol="{kol.platform}:{re.escape(kol.id)}"><td>{kol.name}</td><td>[^<]+'
            r'</td><td class="n">([\d,]+)</td><td class="n">[^<]*</td><td class="n">([\d,]+)<',
            html,
        )
        assert found, kol.name
        expected = by_author.get(kol.id, {"n": 0, "likes": 0})
        assert (number(found.group(1)), number(found.group(2))) == (
            expected["n"],
            expected["likes"],
        )

    # alerts, as the export lists them
    assert re.findall(r'<tr data-alert="(\d+)">', html) == [str(a["id"]) for a in alerts]

    # the traffic thread is the week's negative thread, with what became of it
    assert f'data-post="weibo:{replayed.traffic_post}"' in html
    assert re.search(r"结果：(已平息|降温|仍在发酵)", markdown)
    assert "星海广场活动散场堵了两个多小时" in markdown


def _pixels(png: bytes) -> tuple[float, int]:
    """(share of pixels that are not near-white, number of distinct colours)."""
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    inked = float((image.min(axis=2) < 200).mean())
    return inked, len(np.unique(image.reshape(-1, 3), axis=0))


def _differ(a: bytes, b: bytes) -> float:
    """Share of pixels that differ between two screenshots (cut to the smaller)."""
    one = np.asarray(Image.open(io.BytesIO(a)).convert("L"), dtype=int)
    two = np.asarray(Image.open(io.BytesIO(b)).convert("L"), dtype=int)
    height, width = min(one.shape[0], two.shape[0]), min(one.shape[1], two.shape[1])
    diff = np.abs(one[:height, :width] - two[:height, :width])
    return float((diff > 40).mean())


PROBE = """() => {
  for (const [id, ch] of [["probe-1", "平"], ["probe-2", "连"]]) {
    const span = document.createElement("span");
    span.id = id; span.textContent = ch;
    span.style.cssText = "font-size:48px;display:inline-block;padding:4px;background:#fff";
    document.querySelector("h1").after(span);
  }
}"""


async def _render(html: Path, env: dict[str, str] | None) -> dict[str, object]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True, env=env
        )
        try:
            page = await browser.new_page(viewport={"width": 1100, "height": 900})
            await page.goto(html.as_uri())
            charts = await page.evaluate(
                "() => [...document.images].map(i => [i.id, i.complete && i.naturalWidth])"
            )
            chart_shots = [await page.locator(f"#{name}").screenshot() for name, _ in charts]
            title = await page.locator("h1").screenshot()
            text = await page.evaluate("() => document.body.innerText")
            await page.evaluate(PROBE)
            probes = [await page.locator(f"#probe-{n}").screenshot() for n in (1, 2)]
            full = await page.screenshot(full_page=True)
        finally:
            await browser.close()
    return {"charts": charts, "chart_shots": chart_shots, "title": title, "text": text,
            "probes": probes, "full": full}  # fmt: skip


# Skipped only outside CI: `make test` installs chromium, so in CI a missing browser fails.
@pytest.mark.skipif(
    not CHROMIUM.exists() and not os.environ.get("CI"),
    reason="Debian's chromium is not installed at /usr/bin/chromium (make test installs it)",
)
def test_the_page_renders_legibly_in_chromium(replayed: Replayed, tmp_path: Path) -> None:
    html = replayed.out / f"digest-{WEEK}.html"
    shown = asyncio.run(_render(html, None))
    (tmp_path / "digest.png").write_bytes(shown["full"])  # type: ignore[arg-type]

    inked, colours = _pixels(shown["full"])  # type: ignore[arg-type]
    assert inked > 0.03 and colours > 50, "the screenshot is blank"
    charts = dict(shown["charts"])  # type: ignore[arg-type]
    assert set(charts) == {"chart-reach", "chart-sentiment", "chart-kols"}
    assert all(width and width > 300 for width in charts.values()), charts
    for shot in shown["chart_shots"]:  # type: ignore[attr-defined]
        inked, colours = _pixels(shot)
        assert inked > 0.02 and colours > 10, "a chart is blank"

    # Chinese in real glyphs: two different characters look different (tofu boxes do not)...
    one, two = shown["probes"]  # type: ignore[misc]
    assert _differ(one, two) > 0.02
    # ...and the same page without any CJK font installed looks different, with identical
    # boxes for different characters: the check above would have caught tofu.
    conf = tmp_path / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        "<dir>/usr/share/fonts/truetype/dejavu</dir>"
        f"<cachedir>{tmp_path / 'fc-cache'}</cachedir></fontconfig>",
        encoding="utf-8",
    )
    bare = asyncio.run(_render(html, {**os.environ, "FONTCONFIG_FILE": str(conf)}))
    assert _differ(shown["title"], bare["title"]) > 0.02  # type: ignore[arg-type]
    bare_one, bare_two = bare["probes"]  # type: ignore[misc]
    assert _differ(bare_one, bare_two) < _differ(one, two) / 4

    # The font the page's text falls to covers every Chinese character on the page.
    if shutil.which("fc-match"):
        chosen = subprocess.run(
            ["fc-match", "-f", "%{file}:%{index}", "sans-serif:lang=zh-cn"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        path, index = chosen.rsplit(":", 1)
        charmap = FT2Font(path, face_index=int(index)).get_charmap()
        han = {ch for ch in str(shown["text"]) if "\u4e00" <= ch <= "\u9fff"}
        assert han and not [ch for ch in han if ord(ch) not in charmap]


def test_the_charts_draw_every_glyph_from_a_cjk_font(replayed: Replayed) -> None:
    for name in ("reach", "sentiment", "kols"):
        svg = (replayed.out / f"digest-{WEEK}-{name}.svg").read_text(encoding="utf-8")
        glyphs = set(re.findall(r'<path id="([A-Za-z][\w-]*?)-([0-9a-f]+)"', svg))
        fonts = {font for font, _ in glyphs}
        assert glyphs and all("CJK" in font for font in fonts), (
            f"{name} chart drawn with {sorted(fonts)}, not a CJK font: install fonts-noto-cjk"
        )
        assert not [g for g in glyphs if g[1] == "0"], "a glyph is the missing-glyph box"
        assert "<text" not in svg  # text is drawn as paths: the same in any viewer
