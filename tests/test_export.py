"""`pingfan export` through the CLI: fields, --since, CSV safety, --excel, --out."""

import csv
import io
import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.cli import main
from monitor.export import FIELDS, parse_since
from monitor.models import AlertRecord, TopicStats
from monitor.store import Store
from tests.support.factories import T0, comment, post
from tests.support.paths import REPO


def one_line(err: str) -> str:
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


@pytest.fixture
def config_with_data(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text('[storage]\npath = "p.db"\n', encoding="utf-8")
    with Store.open(tmp_path / "p.db") as store:
        store.content.save_posts([post("1", plays=None), post("2", created_at=T0.replace(month=8))])
        store.content.save_comments([comment("c1", post_id="1")])
        store.content.set_comment_scores([("weibo", "c1", 0.9, "positive", "test-1")])
        store.metrics.save_topic_stats([TopicStats("weibo", "平凡大连人", T0, 1_856_000, 12_000)])
        store.outbox.enqueue_alert(
            AlertRecord("milestone", "info", "里程碑", "185.6万阅读", "m:1", T0)
        )
    return path


def export(config: Path, *args: str) -> int:
    return main(["--config", str(config), "export", *args])


def test_export_posts_jsonl(config_with_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert export(config_with_data, "posts") == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["id"] for r in records] == ["1", "2"]
    first = records[0]
    assert tuple(first) == FIELDS["posts"]
    assert first["plays"] is None and first["likes"] == 10 and first["topics"] == ["平凡大连人"]
    assert first["sentiment"] == 0.9 and records[1]["sentiment"] is None
    assert first["created_at"] == "2019-07-06T02:00:00+00:00"


def test_export_since_is_shanghai_time_without_offset(
    config_with_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # 2019-07-06 10:00 in Shanghai is 02:00 UTC: the first post is included at 10:00, not 10:01.
    export(config_with_data, "posts", "--since", "2019-07-06T10:00")
    assert len(capsys.readouterr().out.splitlines()) == 2
    export(config_with_data, "posts", "--since", "2019-07-06T10:01")
    assert len(capsys.readouterr().out.splitlines()) == 1


def test_export_bad_since_exits_2(
    config_with_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert export(config_with_data, "posts", "--since", "July") == 2
    err = one_line(capsys.readouterr().err)
    assert "--since 'July'" in err and "2019-07-01" in err


@pytest.mark.parametrize(
    "since",
    ["0001-01-01", "0001-01-01T07:59", "1900-01-01", "1969-12-31T23:59", "1970-01-01"],
)
def test_export_since_year_one_and_before_1970_exports_everything(
    since: str, config_with_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 8.6: `--since 0001-01-01` was an OverflowError traceback."""
    assert export(config_with_data, "posts", "--since", since) == 0
    captured = capsys.readouterr()
    assert [json.loads(line)["id"] for line in captured.out.splitlines()] == ["1", "2"]
    assert "Traceback" not in captured.err


@pytest.mark.parametrize("since", ["9999-12-31", "9999-12-31T23:59-12:00"])
def test_export_since_the_last_day_of_the_calendar_exports_nothing(
    since: str, config_with_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert export(config_with_data, "posts", "--since", since) == 0
    assert capsys.readouterr().out == ""


def test_parse_since_clamps_to_the_calendar() -> None:
    assert parse_since("0001-01-01") == "0001-01-01T00:00:00+00:00"
    assert parse_since("9999-12-31T23:59-12:00") == "9999-12-31T23:59:59+00:00"
    assert parse_since("1900-01-01T00:00+00:00") == "1900-01-01T00:00:00+00:00"


@given(st.text(max_size=40))
def test_any_since_text_is_a_utc_time_or_a_value_error(text: str) -> None:
    try:
        parsed = parse_since(text)
    except ValueError as err:
        assert "--since" in str(err) and "\n" not in str(err)
    else:
        assert parsed.endswith("+00:00") and len(parsed) == 25


@given(st.datetimes(timezones=st.none() | st.timezones()))
def test_any_aware_or_naive_datetime_is_accepted_as_since(moment: datetime) -> None:
    assert parse_since(moment.isoformat()).endswith("+00:00")


@pytest.mark.parametrize("kind", sorted(FIELDS))
def test_export_csv_has_stable_header(
    kind: str, config_with_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert export(config_with_data, kind, "--format", "csv") == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert tuple(rows[0]) == FIELDS[kind]


@pytest.fixture
def config_with_formulas(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text('[storage]\npath = "p.db"\n', encoding="utf-8")
    texts = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "平凡-大连"]
    with Store.open(tmp_path / "p.db") as store:
        store.content.save_posts(
            [
                post(str(i), text=text, author_name=text, likes=-5 if i == 0 else 10)
                for i, text in enumerate(texts)
            ]
        )
    return path


def test_csv_formula_cells_get_a_quote_and_numbers_stay_numbers(
    config_with_formulas: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 8.7: OWASP CSV injection: = + - @ tab CR at the start of a text cell."""
    assert export(config_with_formulas, "posts", "--format", "csv") == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    texts = {row["id"]: row["text"] for row in rows}
    assert texts == {
        "0": '\'=HYPERLINK("http://x")',
        "1": "'+1+1",
        "2": "'-2+3",
        "3": "'@SUM(A1)",
        "4": "'\tx",
        "5": "'\rx",
        "6": "平凡-大连",
    }
    assert all(row["author_name"] == row["text"] for row in rows)
    assert rows[0]["likes"] == "-5", "a negative number is a number, not a formula"
    assert rows[0]["topics"] == '["平凡大连人"]'


def test_jsonl_keeps_formula_text_as_it_is(
    config_with_formulas: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert export(config_with_formulas, "posts") == 0
    first = json.loads(capsys.readouterr().out.splitlines()[0])
    assert first["text"] == '=HYPERLINK("http://x")' and first["likes"] == -5


def test_excel_writes_a_utf8_bom_and_csv(
    config_with_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert export(config_with_data, "posts", "--excel") == 0
    out = capsys.readouterr().out
    assert out.startswith("\ufeffplatform,id,")
    assert "海边的小王" in out
    assert export(config_with_data, "posts", "--format", "csv") == 0
    assert capsys.readouterr().out.startswith("platform,id,"), "no BOM without --excel"


def test_excel_with_jsonl_is_one_line_exit_2(
    config_with_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert export(config_with_data, "posts", "--excel", "--format", "jsonl") == 2
    assert "--excel writes CSV" in one_line(capsys.readouterr().err)


def test_export_out_writes_the_file(
    config_with_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "posts.csv"
    target.write_text("an older export\n", encoding="utf-8")
    assert export(config_with_data, "posts", "--excel", "--out", str(target)) == 0
    assert capsys.readouterr().out == ""
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfplatform,id,")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [row["id"] for row in rows] == ["1", "2"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".posts")] == []


def test_export_out_into_a_missing_directory_is_one_line_exit_2(
    config_with_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere" / "posts.jsonl"
    assert export(config_with_data, "posts", "--out", str(missing)) == 2
    err = one_line(capsys.readouterr().err)
    assert f"--out {missing}: directory {missing.parent} does not exist; create it first" in err
    assert export(config_with_data, "posts", "--out", str(tmp_path)) == 2
    assert "is a directory" in one_line(capsys.readouterr().err)


def test_export_on_a_missing_database_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 8.8: export must not create an empty database and print nothing."""
    config = tmp_path / "config.toml"
    config.write_text('[storage]\npath = "data/p.db"\n', encoding="utf-8")
    assert export(config, "posts") == 2
    err = one_line(capsys.readouterr().err)
    assert f"no database at {tmp_path / 'data' / 'p.db'}" in err and str(config) in err
    assert not (tmp_path / "data").exists()


def test_export_into_a_closed_pipe_is_quiet(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[storage]\npath = "p.db"\n', encoding="utf-8")
    with Store.open(tmp_path / "p.db") as store:
        store.content.save_posts(post(str(i), text="平凡大连人" * 50) for i in range(3000))
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor.cli", "--config", str(config), "export", "posts"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline().startswith(b"{")
    process.stdout.close()  # like `| head -1`
    err = process.stderr.read().decode()
    assert process.wait(timeout=60) == 0, err
    assert err == "", err
