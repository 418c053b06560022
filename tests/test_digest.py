"""The weekly digest on a small hand-built week (2019-W28): its figures against the store and
against `pingfan export`, weeks and schedule times, escaping and masking, the no-data digest,
and the `pingfan digest` command's answers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from alerts.digest import digest_command
from alerts.digest.build import build_digest
from alerts.digest.documents import md_escape, render_html, render_markdown
from alerts.digest.files import dedupe_key, digest_alert, write_digest
from alerts.digest.weeks import IsoWeek, last_due, next_due, parse_week, week_due_at
from alerts.i18n.digest_summary import summary_lines
from monitor.export import export_records
from monitor.models import to_utc_iso
from monitor.store import Store
from nlp.sentiment import default_model
from nlp.shares import comment_shares
from tests.support.digest import (
    SHANGHAI,
    THREAD,
    W28,
    at,
    fill_week,
    make_config,
    table_cells,
)


def in_week(record_time: str, week: IsoWeek = W28) -> bool:
    moment = datetime.fromisoformat(record_time)
    return week.start(SHANGHAI) <= moment < week.end(SHANGHAI)


def export_week(store: Store, kind: str, field: str = "created_at") -> list[dict]:
    """What `pingfan export KIND --since <week start>` gives, cut at the week's end."""
    since = to_utc_iso(W28.start(SHANGHAI))
    return [r for r in export_records(store, kind, since) if in_week(r[field])]


# --- weeks and the schedule -----------------------------------------------------------------


def test_weeks_parse_and_bound_in_the_zone() -> None:
    assert parse_week("2019-W28") == parse_week("2019w28") == W28
    assert str(parse_week(" 2020-W53 ")) == "2020-W53"
    assert W28.start(SHANGHAI) == datetime(2019, 7, 7, 16, 0, tzinfo=UTC)
    assert W28.end(SHANGHAI) - W28.start(SHANGHAI) == timedelta(days=7)
    assert IsoWeek.containing(datetime(2019, 7, 7, 16, 0, tzinfo=UTC), SHANGHAI) == W28
    assert IsoWeek.containing(datetime(2019, 7, 7, 15, 59, tzinfo=UTC), SHANGHAI) == W28.previous()
    assert IsoWeek(2020, 1).previous() == IsoWeek(2019, 52)
    assert IsoWeek(2020, 53).next() == IsoWeek(2021, 1)
    # A week with the spring change: its Sunday is 23 hours long, and the week too.
    berlin = ZoneInfo("Europe/Berlin")
    spring = IsoWeek(2019, 13)
    days = [(a.astimezone(UTC), b.astimezone(UTC)) for a, b in spring.day_bounds(berlin)]
    assert len(days) == 7 and days[-1][1] - days[-1][0] == timedelta(hours=23)
    assert days[0][1] - days[0][0] == timedelta(hours=24)
    length = spring.end(berlin).astimezone(UTC) - spring.start(berlin).astimezone(UTC)
    assert length == timedelta(days=7, hours=-1)


@pytest.mark.parametrize("text", ["2019-W54", "2019-W00", "2019-28", "W28", "", "2019-W28-1"])
def test_bad_weeks_are_refused_with_the_fix(text: str) -> None:
    with pytest.raises(ValueError, match=r"2019-W28|weeks 1 to 52"):
        parse_week(text)


def test_schedule_moments() -> None:
    monday_nine = at("2019-07-15T09:00")
    assert last_due(monday_nine, "monday", "09:00", SHANGHAI) == monday_nine
    assert last_due(monday_nine - timedelta(seconds=1), "monday", "09:00", SHANGHAI) == at(
        "2019-07-08T09:00"
    )
    assert next_due(monday_nine, "monday", "09:00", SHANGHAI) == at("2019-07-22T09:00")
    assert next_due(at("2019-07-14T12:00"), "monday", "09:00", SHANGHAI) == monday_nine
    assert week_due_at(monday_nine, SHANGHAI) == W28
    assert next_due(at("2019-07-15T09:00"), "friday", "18:30", SHANGHAI) == at("2019-07-19T18:30")


# --- figures ------------------------------------------------------------------------------------


def test_figures_equal_the_store_and_the_export(tmp_path: Path, store: Store) -> None:
    fill_week(store)
    config = make_config(tmp_path)
    digest = build_digest(store, config, W28, now=at("2019-07-15T09:00"))
    assert digest.has_data and not digest.partial

    posts = export_week(store, "posts")
    comments = export_week(store, "comments")
    assert {p["id"] for p in posts} == {"p-start", "p-kol", "p-ugc", THREAD, "d-1"}
    total = digest.total
    assert total is not None
    assert total.current.posts == len(posts) == 5
    assert total.current.authors == len({(p["platform"], p["author_id"]) for p in posts})
    assert total.current.engagement == sum(
        (p["likes"] or 0) + (p["comments"] or 0) + (p["shares"] or 0) + (p["reposts"] or 0)
        for p in posts
    )
    assert total.current.comments == len(comments) == 36
    assert total.current.commenters == len({(c["platform"], c["author_id"]) for c in comments})
    assert total.previous.posts == 1 and total.previous.comments == 1
    by_platform = {c.platform: c.current for c in digest.volume}
    assert by_platform["weibo"].posts == 4 and by_platform["douyin"].posts == 1
    assert by_platform["weibo"].kol_posts == 1 and by_platform["weibo"].ugc_posts == 3

    split = digest.sentiment.current
    labels = [c["label"] for c in comments]
    assert (split.positive, split.neutral, split.negative) == (
        labels.count("positive"),
        labels.count("neutral"),
        labels.count("negative"),
    )
    days = {d.day.isoformat(): d.split for d in digest.sentiment.days}
    assert days["2019-07-09"].positive == 5 and days["2019-07-13"].neutral >= 1
    assert sum(d.split.scored for d in digest.sentiment.days) == split.scored

    (reach,) = digest.reach
    readings = [r for r in export_week(store, "topics", "observed_at")]
    assert reach.views == readings[-1]["views"] == 12_000
    assert reach.gained == 12_000 - 1_000 and reach.gained_previous == 1_000 - 500
    assert reach.marks_passed == (10_000,) and reach.next_mark == 20_000
    assert reach.progress == pytest.approx(0.6)

    (kol,) = digest.kols
    assert (kol.name, kol.uploads, kol.likes, kol.comments, kol.shares) == (
        "大连身边事", 1, 100, 20, 5,
    )  # fmt: skip
    assert kol.followers == 1_100 and kol.growth == 100 and not kol.growth_from_first
    assert kol.rate == pytest.approx(125 / 1 / 1_100)

    alerts = [a for a in export_week(store, "alerts") if a["kind"] != "digest"]
    assert [a.id for a in digest.alerts] == [a["id"] for a in alerts]
    weibo = next(h for h in digest.health if h.platform == "weibo")
    assert weibo.outages == 2 and weibo.downtime == pytest.approx(4.5 * 3600)
    assert not weibo.down_at_end

    (thread,) = digest.threads
    assert thread.post_id == THREAD and (thread.scored, thread.negative) == (30, 24)
    assert thread.alert is not None and thread.author == "甘***"
    assert thread.outcome == "calmed"  # its last comment was two days before the week's end
    assert THREAD not in {u.post_id for u in digest.ugc}  # a complaint is not UGC to thank
    (ugc,) = [u for u in digest.ugc if u.post_id == "p-ugc"]
    assert ugc.author == "星***" and ugc.nomination == "环卫工人 刘阿姨"


def test_the_documents_show_the_model_figures(tmp_path: Path, store: Store) -> None:
    fill_week(store)
    config = make_config(tmp_path)
    digest = build_digest(store, config, W28, now=at("2019-07-15T09:00"))
    written = write_digest(digest, tmp_path / "out")
    html = written.html.read_text(encoding="utf-8")
    markdown = written.markdown.read_text(encoding="utf-8")
    cells = table_cells(html)
    assert cells[("posts", "weibo")] == "4" and cells[("posts", "all")] == "5"
    assert cells[("comments", "all")] == "36"
    assert cells[("engagement", "all")] == f"{digest.total.current.engagement:,}"  # type: ignore[union-attr]
    row = next(line for line in markdown.splitlines() if line.startswith("| 帖子 |"))
    assert [cell.strip() for cell in row.split("|")[2:5]] == ["4", "1", "5"]
    reach_row = next(line for line in markdown.splitlines() if line.startswith("| 微博 | #平凡"))
    assert "| 12,000 | 11,000 | 500 |" in reach_row
    assert "负面舆情" in html and "2019-07-08（周一）至 2019-07-14（周日）" in markdown
    for chart in written.charts:
        assert chart.exists() and chart.name in markdown


def test_charts_drawn_in_their_own_process_are_the_same_files(tmp_path: Path, store: Store) -> None:
    # The daemon and the demo draw charts apart so matplotlib never stays in them.
    fill_week(store)
    digest = build_digest(store, make_config(tmp_path), W28, now=at("2019-07-15T09:00"))
    here = write_digest(digest, tmp_path / "here")
    apart = write_digest(digest, tmp_path / "apart", charts_apart=True)
    assert [p.name for p in apart.charts] == [p.name for p in here.charts] and here.charts
    for mine, theirs in zip(here.charts, apart.charts, strict=True):
        assert mine.read_bytes() == theirs.read_bytes()
    assert apart.html.read_bytes() == here.html.read_bytes()


def test_english_digest(tmp_path: Path, store: Store) -> None:
    fill_week(store)
    config = make_config(tmp_path, ui={"language": "en"})
    digest = build_digest(store, config, W28, now=at("2019-07-15T09:00"))
    markdown = render_markdown(digest)
    assert markdown.startswith("# #平凡大连人 weekly digest · 2019-W28")
    assert "| Posts | 4 | 1 | 5 | 1 | +400% |" in markdown
    assert "Negative threads this week" in markdown and "周报" not in markdown


def test_acknowledgements_show(tmp_path: Path, store: Store) -> None:
    fill_week(store)
    alert_id = store.weekly.alert_by_key(f"negative:weibo:{THREAD}:x")[0]  # type: ignore[index]
    store.team.ack_alert(alert_id, by="小李", by_id="42", at=at("2019-07-11T21:00"))
    digest = build_digest(store, make_config(tmp_path), W28, now=at("2019-07-15T09:00"))
    (acked,) = [a for a in digest.alerts if a.acked_at is not None]
    assert acked.id == alert_id and acked.acked_by == "小李"
    assert digest.facts()["alerts_acked"] == 1
    assert "小李（2019-07-11 21:00）" in render_markdown(digest)


# --- people and their words ----------------------------------------------------------------------


def test_user_text_is_inert_and_authors_are_masked(tmp_path: Path, store: Store) -> None:
    fill_week(store)
    digest = build_digest(store, make_config(tmp_path), W28, now=at("2019-07-15T09:00"))
    assert any("<script>" in q.text for t in digest.threads for q in t.samples)
    written = write_digest(digest, tmp_path / "out")
    html = written.html.read_text(encoding="utf-8")
    markdown = written.markdown.read_text(encoding="utf-8")
    assert "<script" not in html and "<img src=x" not in html
    assert not re.search(r"(?<!\\)<", markdown)  # every < in Markdown is escaped: no HTML
    for document in (html, markdown):
        assert "http://evil.example" not in document
        assert "evil[.]example" in document or "evil\\[.\\]example" in document
        for name in ("星海的阿杰", "甘井子老刘", "3000000001", "3000000002"):
            assert name not in document  # authors masked
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "\\<script\\>" in markdown
    # The page loads nothing from anywhere and runs no script.
    assert "default-src 'none'" in html and "<script" not in html
    assert all(src.startswith("data:") for src in re.findall(r'src="([^"]*)"', html))
    assert md_escape("a|b*c_d[e](f)<g>") == "a\\|b\\*c\\_d\\[e\\](f)\\<g\\>"


def test_sentiment_shares_are_mean_probabilities_with_an_interval(
    tmp_path: Path, store: Store
) -> None:
    fill_week(store)
    digest = build_digest(store, make_config(tmp_path), W28, now=at("2019-07-15T09:00"))
    comments = [c for c in export_week(store, "comments") if c["p_negative"] is not None]
    rows = [(c["sentiment"], c["p_neutral"], c["p_negative"]) for c in comments]
    expected = comment_shares(rows, default_model().metrics)  # the config's model: "default"
    shares = digest.sentiment.current.shares
    assert expected is not None and shares is not None
    for got, want in zip(shares, expected, strict=True):
        assert abs(got.estimate - want.estimate) < 1e-9 and got.low <= got.estimate <= got.high
    line = next(line for line in summary_lines(digest.facts(), "zh") if "评论情绪" in line)
    for share, name in zip(shares, ("正面", "中性", "负面"), strict=True):
        shown = f"{name} {share.estimate:.0%}（{share.low:.0%}–{share.high:.0%}）"
        assert shown in line


def test_the_footer_names_the_sentiment_model_and_its_f1_on_real_text(
    tmp_path: Path, store: Store
) -> None:
    fill_week(store)
    digest = build_digest(store, make_config(tmp_path), W28, now=at("2019-07-15T09:00"))
    model = default_model()  # the config's [nlp] model is "default"
    assert digest.model_version == model.version
    f1 = model.metrics["real_test_macro_f1"]
    for document in (render_markdown(digest), render_html(digest, [])):
        assert f"情绪模型 {model.version}" in document
        assert f"三分类 macro-F1 {f1:.2f}" in document


def test_the_alert_text_is_a_plain_summary(tmp_path: Path, store: Store) -> None:
    fill_week(store)
    digest = build_digest(store, make_config(tmp_path), W28, now=at("2019-07-15T09:00"))
    written = write_digest(digest, tmp_path / "out")
    alert, evidence = digest_alert(digest, written, at=at("2019-07-15T09:00"))
    assert alert.kind == "digest" and alert.dedupe_key == dedupe_key(W28) == "digest:2019-W28"
    assert alert.title == "#平凡大连人 周报 · 2019-W28"
    assert "帖子 5" in alert.text and "digest-2019-W28.html" in alert.text
    assert len(alert.text.encode()) <= 1800
    assert evidence["files"]["html"] == str(written.html)
    assert evidence["facts"]["posts"] == 5 and evidence["facts"]["downtime"]["weibo"] == 16200


# --- no data -------------------------------------------------------------------------------------


def test_a_week_without_data_says_so(tmp_path: Path, store: Store) -> None:
    fill_week(store)
    config = make_config(tmp_path)
    empty = IsoWeek(2019, 40)
    digest = build_digest(store, config, empty, now=at("2019-10-08T09:00"))
    assert not digest.has_data and not digest.threads and not digest.ugc
    (reach,) = digest.reach  # the last reading is known; how much it grew that week is not
    assert reach.readings == 0 and reach.gained is None and reach.views == 20_000
    written = write_digest(digest, tmp_path / "out")
    markdown = written.markdown.read_text(encoding="utf-8")
    html = written.html.read_text(encoding="utf-8")
    assert "本周（2019-W40）没有采集到任何数据" in markdown
    assert "数据库中的数据从 2019-07-07 到 2019-07-15" in markdown
    assert 'id="no-data"' in html and written.charts == ()
    assert "采集健康" in markdown and "本周提醒" in markdown


def test_an_empty_store_gives_an_honest_digest(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    Store.open(config.storage.path).close()
    code = digest_command(config, week="2019-W28", out=None, send=False, now=at("2019-07-15T09:00"))
    assert code == 0
    markdown = (config.digest.out_dir / "digest-2019-W28.md").read_text(encoding="utf-8")
    assert "数据库里还没有任何帖子或评论" in markdown


def test_render_html_needs_no_charts(tmp_path: Path, store: Store) -> None:
    fill_week(store)
    digest = build_digest(store, make_config(tmp_path), W28, now=at("2019-07-15T09:00"))
    html = render_html(digest, [])
    assert "<img" not in html and "帖子" in html


# --- the command -------------------------------------------------------------------------------


def test_command_writes_last_week_by_default(
    tmp_path: Path, store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    fill_week(store)
    config = make_config(tmp_path)
    code = digest_command(config, week=None, out=None, send=False, now=at("2019-07-16T10:00"))
    out = capsys.readouterr().out
    assert code == 0
    assert str(config.digest.out_dir / "digest-2019-W28.md") in out
    assert str(config.digest.out_dir / "digest-2019-W28.html") in out
    assert (config.digest.out_dir / "digest-2019-W28-sentiment.svg").exists()


@pytest.mark.parametrize(
    ("week", "needle"),
    [
        ("2019-W60", "does not exist"),
        ("last week", "not an ISO week"),
        ("2031-W02", "has not begun yet"),
    ],
)
def test_command_refuses_bad_weeks_with_one_line(
    tmp_path: Path, store: Store, capsys: pytest.CaptureFixture[str], week: str, needle: str
) -> None:
    config = make_config(tmp_path)
    code = digest_command(config, week=week, out=None, send=False, now=at("2019-07-16T10:00"))
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("pingfan digest: ") and needle in err
    assert not config.digest.out_dir.exists()


def test_command_without_a_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = make_config(tmp_path)
    code = digest_command(config, week="2019-W28", out=None, send=False, now=at("2019-07-16T10:00"))
    err = capsys.readouterr().err
    assert code == 2 and "no database at" in err and err.count("\n") == 1


def test_command_refuses_a_file_as_out(
    tmp_path: Path, store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "taken"
    target.write_text("x")
    code = digest_command(
        make_config(tmp_path), week="2019-W28", out=target, send=False, now=at("2019-07-16T10:00")
    )
    assert code == 2 and "is a file" in capsys.readouterr().err


def test_current_week_is_marked_partial(tmp_path: Path, store: Store) -> None:
    fill_week(store)
    digest = build_digest(store, make_config(tmp_path), W28, now=at("2019-07-12T12:00"))
    assert digest.partial
    assert "本周尚未结束：数据截至 2019-07-12 12:00" in render_markdown(digest)


# --- helpers ---------------------------------------------------------------------------------
