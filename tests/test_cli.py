import argparse
import csv
import io
import json
import subprocess
from pathlib import Path

import pytest

from monitor.cli import NOT_BUILT, build_parser, main
from monitor.models import AlertRecord, TopicStats
from monitor.store import Store
from tests.conftest import REPO
from tests.factories import T0, comment, post

PINGFAN = Path(REPO / ".venv" / "bin" / "pingfan")


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def test_every_subcommand_has_help_text() -> None:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {choice.dest: choice.help for choice in action._choices_actions}
    expected = {"run", "collect", "demo", "sim", "nlp", "digest", "export", "doctor", "status"}
    assert set(helps) == expected
    assert all(text and len(text) > 10 for text in helps.values()), helps
    for name, sub in subcommands(parser).items():
        for option in sub._actions:
            if not isinstance(option, argparse._HelpAction | argparse._SubParsersAction):
                assert option.help, f"pingfan {name} {option.dest} has no help"


def test_console_script_help_lists_every_subcommand() -> None:
    result = subprocess.run([str(PINGFAN), "--help"], capture_output=True, text=True, check=True)
    for name in ("run", "collect", "demo", "sim", "nlp", "digest", "export", "doctor", "status"):
        assert name in result.stdout


@pytest.mark.parametrize("command", sorted(NOT_BUILT))
def test_unbuilt_subcommands_say_so_and_exit_2(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(REPO / "config.toml"), command]) == 2
    assert "not built yet" in capsys.readouterr().err


def test_doctor_on_shipped_config_through_console_script(tmp_path: Path) -> None:
    config = (REPO / "config.toml").read_text(encoding="utf-8")
    local = tmp_path / "config.toml"
    local.write_text(config, encoding="utf-8")
    result = subprocess.run(
        [str(PINGFAN), "--config", str(local), "doctor"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ready" in result.stdout
    assert (tmp_path / "data" / "pingfan.db").exists()


def test_doctor_typo_exits_2_with_one_line(tmp_path: Path) -> None:
    local = tmp_path / "config.toml"
    local.write_text("[weibo]\nrequests_per_minit = 5\n", encoding="utf-8")
    result = subprocess.run(
        [str(PINGFAN), "--config", str(local), "doctor"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "weibo.requests_per_minit" in result.stderr and "requests_per_minute" in result.stderr


@pytest.fixture
def config_with_data(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text('[storage]\npath = "p.db"\n', encoding="utf-8")
    with Store.open(tmp_path / "p.db") as store:
        store.save_posts([post("1", plays=None), post("2", created_at=T0.replace(month=8))])
        store.save_comments([comment("c1", post_id="1")])
        store.set_comment_scores([("weibo", "c1", 0.9, "positive", "test-1")])
        store.save_topic_stats([TopicStats("weibo", "平凡大连人", T0, 1_856_000, 12_000)])
        store.enqueue_alert(AlertRecord("milestone", "info", "里程碑", "185.6万阅读", "m:1", T0))
    return path


def test_export_posts_jsonl(config_with_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(config_with_data), "export", "posts"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["id"] for r in records] == ["1", "2"]
    first = records[0]
    assert list(first) == [
        "platform",
        "id",
        "author_id",
        "author_name",
        "author_kind",
        "text",
        "created_at",
        "url",
        "topics",
        "is_original",
        "plays",
        "likes",
        "comments",
        "shares",
        "reposts",
        "sentiment",
        "ugc_score",
    ]
    assert first["plays"] is None and first["likes"] == 10 and first["topics"] == ["平凡大连人"]
    assert first["sentiment"] == 0.9 and records[1]["sentiment"] is None
    assert first["created_at"] == "2019-07-06T02:00:00+00:00"


def test_export_since_is_shanghai_time_without_offset(
    config_with_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 2019-07-06 10:00 in Shanghai is 02:00 UTC: the first post is included at 10:00, not 10:01.
    main(["--config", str(config_with_data), "export", "posts", "--since", "2019-07-06T10:00"])
    assert len(capsys.readouterr().out.splitlines()) == 2
    main(["--config", str(config_with_data), "export", "posts", "--since", "2019-07-06T10:01"])
    assert len(capsys.readouterr().out.splitlines()) == 1


def test_export_bad_since_exits_2(
    config_with_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(config_with_data), "export", "posts", "--since", "July"]) == 2
    assert "ISO" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["posts", "comments", "topics", "accounts", "alerts"])
def test_export_csv_has_stable_header(
    kind: str, config_with_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from monitor.export import FIELDS

    assert main(["--config", str(config_with_data), "export", kind, "--format", "csv"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert tuple(rows[0]) == FIELDS[kind]


def test_status_shows_counts_and_topics(
    config_with_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(config_with_data), "status"]) == 0
    out = capsys.readouterr().out
    assert "posts" in out and "#平凡大连人" in out and "1,856,000" in out and "pending=1" in out


def test_demo_replays_the_campaign(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "话题阅读 1,856,000" in summary, "the replay reaches the campaign's published reads"
    assert "星海广场活动散场" in summary.split("UGC")[0], "the traffic thread is the most negative"
    assert "8 个账号" in summary, "the copy-paste ring is found"
    assert printed.count("微博 +") >= 30
    assert main(["--config", str(out / "demo-config.toml"), "export", "topics"]) == 0
    exported = capsys.readouterr().out.splitlines()
    assert json.loads(exported[-1])["views"] == 1_856_000
    assert main(["demo", "--out", str(out)]) == 0, "a second demo in the same place starts fresh"


def test_sim_command_prints_base_urls(tmp_path: Path) -> None:
    import signal
    import time
    import urllib.request

    process = subprocess.Popen(
        [str(PINGFAN), "sim", "--speed", "86400"], stdout=subprocess.PIPE, text=True
    )
    try:
        lines = [process.stdout.readline() for _ in range(4)]  # type: ignore[union-attr]
        weibo = next(line for line in lines if "topic_base_url" not in line and "weibo" in line)
        url = weibo.split("=")[-1].strip()
        assert url.startswith("http://127.0.0.1:")
        query = (
            "containerid=100103type%3D61%26q%3D%23%E5%B9%B3%E5%87%A1%E5%A4%A7%E8%BF%9E%E4%BA%BA%23"
        )
        time.sleep(0.2)
        with urllib.request.urlopen(f"{url}/api/container/getIndex?{query}", timeout=5) as r:
            assert json.loads(r.read())["ok"] in (0, 1)
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
