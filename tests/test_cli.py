import argparse
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.cli import (
    EXIT_ALREADY_RUNNING,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    HANDLERS,
    build_parser,
    main,
)
from monitor.models import AlertRecord, TopicStats
from monitor.store import Store
from nlp.sentiment import default_model
from tests.support.factories import T0, comment, post
from tests.support.paths import REPO

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
    expected = {
        "run",
        "collect",
        "demo",
        "sim",
        "nlp",
        "digest",
        "export",
        "doctor",
        "status",
        "watch",
        "web",
    }
    assert set(helps) == expected | {"backup", "reindex"}
    assert all(text and len(text) > 10 for text in helps.values()), helps
    for name, sub in subcommands(parser).items():
        for option in sub._actions:
            if not isinstance(option, argparse._HelpAction | argparse._SubParsersAction):
                assert option.help, f"pingfan {name} {option.dest} has no help"


def test_console_script_help_lists_every_subcommand() -> None:
    result = subprocess.run([str(PINGFAN), "--help"], capture_output=True, text=True, check=True)
    for name in ("run", "collect", "demo", "sim", "nlp", "digest", "export", "doctor", "status"):
        assert name in result.stdout
    for name in ("backup", "reindex"):
        assert name in result.stdout


def test_exit_codes_are_documented_in_help_and_module() -> None:
    import monitor.cli

    codes = (EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_ALREADY_RUNNING, EXIT_INTERRUPTED)
    assert codes == (0, 1, 2, 3, 130)
    text = build_parser().format_help()
    for line in (
        "0    done",
        "1    failed",
        "2    bad config or arguments",
        "3    another pingfan",
    ):
        assert line in text and line in (monitor.cli.__doc__ or "")
    assert "130  interrupted" in text


def test_every_subcommand_has_a_handler() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(commands.choices) == set(HANDLERS)


def test_doctor_on_shipped_config_through_console_script(tmp_path: Path) -> None:
    config = (REPO / "config.toml").read_text(encoding="utf-8")
    local = tmp_path / "config.toml"
    local.write_text(config, encoding="utf-8")
    result = subprocess.run(
        [str(PINGFAN), "doctor", "--config", str(local)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "ready" in result.stdout
    db = tmp_path / "data" / "pingfan.db"
    assert f"[warn] database: no database yet at {db}" in result.stdout
    assert not (tmp_path / "data").exists(), "doctor only looks, it creates nothing"
    model = default_model()  # the shipped config scores with it: doctor names it and its F1
    f1, lines = model.metrics["real_test_macro_f1"], model.metrics["real_test_lines"]
    assert (
        f"sentiment model: {model.version}: three-way macro-F1 {f1:.2f} on {lines:,} real Weibo"
        in result.stdout
    )


@pytest.mark.parametrize("before", [True, False], ids=["config-first", "command-first"])
def test_doctor_typo_exits_2_with_one_line(before: bool, tmp_path: Path) -> None:
    local = tmp_path / "config.toml"
    local.write_text("[weibo]\nrequests_per_minit = 5\n", encoding="utf-8")
    argv = ["--config", str(local), "doctor"] if before else ["doctor", "--config", str(local)]
    result = subprocess.run(
        [sys.executable, "-m", "monitor.cli", *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "weibo.requests_per_minit" in result.stderr and "requests_per_minute" in result.stderr
    assert str(local) in result.stderr


def write_config(tmp_path: Path, text: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        '[storage]\npath = "p.db"\n[weibo]\nenabled = false\n[douyin]\nenabled = false\n' + text,
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    "argv",
    [
        ["--config", "{c}", "status"],
        ["status", "--config", "{c}"],
        ["--log-level", "DEBUG", "status", "--config", "{c}"],
        ["--config", "{c}", "status", "--log-level", "WARNING"],
        ["--config", "{elsewhere}", "status", "--config", "{c}"],
    ],
    ids=["before", "after", "level-before-config-after", "level-after", "after-wins"],
)
def test_config_option_before_or_after_the_subcommand(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 8.1: `pingfan status --config x.toml` is what people type."""
    config = write_config(tmp_path)
    with Store.open(tmp_path / "p.db") as store:
        store.content.save_posts([post("1")])
    values = {"c": str(config), "elsewhere": str(tmp_path / "missing.toml")}
    assert main([part.format(**values) for part in argv]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith(f"database: {tmp_path / 'p.db'}\n"), captured.err


@pytest.mark.parametrize(
    ("argv", "config", "level"),
    [
        (["status"], None, "INFO"),
        (["--config", "a", "status"], "a", "INFO"),
        (["status", "--config", "b"], "b", "INFO"),
        (["--config", "a", "--log-level", "ERROR", "doctor"], "a", "ERROR"),
        (["doctor", "--log-level", "DEBUG"], None, "DEBUG"),
        (["--log-level", "ERROR", "export", "posts", "--config", "c"], "c", "ERROR"),
        (["nlp", "score", "--config", "d"], "d", "INFO"),
        (["nlp", "--config", "e", "score", "--log-level", "WARNING"], "e", "WARNING"),
        (["--config", "f", "nlp", "train", "--out", "m"], "f", "INFO"),
        (["backup", "x.db", "--config", "g"], "g", "INFO"),
    ],
)
def test_config_and_log_level_parse_in_every_position(
    argv: list[str], config: str | None, level: str
) -> None:
    args = build_parser().parse_args(argv)
    assert (args.config, args.log_level) == (config, level)


def test_nested_nlp_score_reads_the_config_given_after_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[nlp]\nneutral_lo = 0.4\n", encoding="utf-8")
    assert main(["nlp", "score", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(bad) in err and "nlp.neutral_lo" in err


def test_nlp_score_with_config_after_the_action_through_a_subprocess(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, '[nlp]\nmodel = "snownlp"\nneutral_low = 0.0\nneutral_high = 1.0\n'
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "monitor.cli",
            "nlp",
            "score",
            "--jobs",
            "1",
            "--config",
            str(config),
        ],
        cwd=REPO,
        input="致敬平凡的大连人[心]\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["text"] == "致敬平凡的大连人[心]"
    assert record["label"] == "neutral", "the config's neutral band [0, 1] was applied"


def test_status_on_a_missing_database_says_so_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 8.8: status used to create an empty data/pingfan.db as a side effect."""
    config = tmp_path / "config.toml"
    config.write_text('[storage]\npath = "data/pingfan.db"\n', encoding="utf-8")
    assert main(["status", "--config", str(config)]) == 0
    db = tmp_path / "data" / "pingfan.db"
    assert capsys.readouterr().out == (
        f"no database yet at {db}; run `pingfan collect --once` or `pingfan run`\n"
    )
    assert not (tmp_path / "data").exists()


def test_doctor_on_a_missing_database_warns_and_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[storage]\npath = "data/pingfan.db"\n', encoding="utf-8")
    assert main(["doctor", "--config", str(config)]) == 0
    db = tmp_path / "data" / "pingfan.db"
    out = capsys.readouterr().out
    assert (
        f"[warn] database: no database yet at {db}; `pingfan collect --once` or `pingfan run` "
        "creates it"
    ) in out.splitlines()
    assert not (tmp_path / "data").exists()


def test_doctor_on_a_database_that_cannot_be_created_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "data").write_text("a file where the directory should be")
    config = tmp_path / "config.toml"
    config.write_text('[storage]\npath = "data/db/p.db"\n', encoding="utf-8")
    assert main(["doctor", "--config", str(config)]) == 2
    out = capsys.readouterr().out
    assert f"[FAIL] database: no database at {tmp_path / 'data' / 'db' / 'p.db'}, and " in out
    assert f"{tmp_path / 'data'} is a file, not a directory; check [storage] path" in out


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


def test_status_shows_counts_and_topics(
    config_with_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--config", str(config_with_data), "status"]) == 0
    out = capsys.readouterr().out
    assert "posts" in out and "#平凡大连人" in out and "1,856,000" in out and "pending=1" in out


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


# -- 9. no argument list raises ---------------------------------------------------------------

# Subcommands that serve, replay, train or read stdin stay out of the vocabulary: they run for
# long, not wrongly. "--once" too (a real collection pass), with what argparse abbreviates to it.
LONG_RUNNING = {"run", "sim", "demo", "digest", "score", "train", "--once"}


@pytest.fixture(scope="module")
def cli_playground(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    root = tmp_path_factory.mktemp("cli-playground")
    good = write_config(root)
    with Store.open(root / "p.db") as store:
        store.content.save_posts([post("1", text="=cmd|' /C calc'!A0"), post("2")])
        store.content.save_comments([comment("c1", post_id="1")])
    broken_dir = root / "broken"
    broken_dir.mkdir()
    broken = write_config(broken_dir)
    (broken_dir / "p.db").write_bytes(os.urandom(8192))
    typo = root / "typo.toml"
    typo.write_text("[storage]\npaht = 'x.db'\n", encoding="utf-8")
    (root / "out").mkdir()
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)  # relative junk paths (backup, --out) land here
        patch.setenv("PINGFAN_CONFIG", str(good))
        yield {
            "good": str(good),
            "broken": str(broken),
            "typo": str(typo),
            "missing": str(root / "missing.toml"),
            "out": str(root / "out"),
            "out_file": str(root / "out" / "x.csv"),
            "nowhere": str(root / "no" / "where.db"),
        }


JUNK = st.text(max_size=6).filter(
    lambda t: t not in LONG_RUNNING and not (t.startswith("--o") and "--once".startswith(t))
)


@st.composite
def argument_lists(draw: st.DrawFn, paths: dict[str, str]) -> list[str]:
    """Mostly well-formed commands with odd values (dates, paths, formats, configs), some
    junk tokens anywhere: argparse turns pure junk away, the handlers must cope with the rest."""
    value = {
        "--config": st.sampled_from(
            [paths["good"], paths["broken"], paths["typo"], paths["missing"], ""]
        ),
        "--log-level": st.sampled_from(["DEBUG", "ERROR", "loud"]),
        "--format": st.sampled_from(["csv", "jsonl", "xml"]),
        "--since": st.sampled_from(
            ["0001-01-01", "9999-12-31T23:59-12:00", "1969-07-20", "2019-07-06T10:00", "July", ""]
        ),
        "--out": st.sampled_from([paths["out"], paths["out_file"], paths["nowhere"], "o.csv"]),
        "--platform": st.sampled_from(["weibo", "douyin", "x"]),
    }
    common = ["--config", "--log-level"]
    options = {
        "status": [],
        "doctor": [],
        "reindex": [],
        "export": ["--format", "--excel", "--since", "--out"],
        "backup": ["--force"],
        "collect": ["--platform"],
        "nlp": [],
    }
    positional = {
        "export": st.sampled_from(["posts", "comments", "topics", "accounts", "alerts", "x"]),
        "backup": st.sampled_from([paths["out"], paths["out_file"], paths["nowhere"], "b.db"]),
    }

    def with_values(names: list[str]) -> list[str]:
        words = []
        for name in names:
            words.append(name)
            if name in value:
                words.append(draw(value[name]))
        return words

    command = draw(st.sampled_from([*sorted(options), "status", "export", "backup", ""]))
    command = command or draw(JUNK)
    argv = with_values(draw(st.lists(st.sampled_from(common), max_size=2)))
    argv.append(command)
    rest = with_values(
        draw(st.lists(st.sampled_from(options.get(command, []) + common), max_size=4))
    )
    if command in positional:
        rest.insert(draw(st.integers(0, len(rest))), draw(positional[command]))
    argv += rest
    for _ in range(draw(st.integers(0, 2)) if draw(st.integers(0, 4)) == 0 else 0):
        argv.insert(draw(st.integers(0, len(argv))), draw(JUNK | st.sampled_from(["-h", "--"])))
    return argv


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_random_argument_lists_never_raise(
    data: st.DataObject,
    cli_playground: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 8.9: only exit codes, one line on stderr for a failure, never a traceback."""
    argv = data.draw(argument_lists(cli_playground))
    try:
        code = main(argv)
    except SystemExit as exit:  # argparse: --help (0) or a usage error (2)
        assert exit.code in (0, 2), argv
        code = None
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err, (argv, captured.err)
    if code is not None:
        assert code in (EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_ALREADY_RUNNING), argv
        assert captured.err.count("\n") <= 1, (argv, captured.err)
        if code == EXIT_OK:
            assert captured.err == "", (argv, captured.err)


def test_ctrl_c_before_a_command_handles_it_says_so_and_exits_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import monitor.cli

    def interrupted(args: argparse.Namespace) -> int:
        raise KeyboardInterrupt

    monkeypatch.setitem(monitor.cli.HANDLERS, "status", interrupted)
    assert main(["status"]) == EXIT_INTERRUPTED
    err = capsys.readouterr().err
    assert err.strip() == "pingfan: interrupted"
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "meant"),
    [
        (["colect", "--once"], "collect"),
        (["nlp", "scre"], "score"),
        (["collect", "--platform", "weibbo"], "weibo"),
    ],
)
def test_a_mistyped_choice_names_the_closest_one(
    argv: list[str], meant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(argv)
    assert stopped.value.code == 2
    assert f"did you mean '{meant}'?" in capsys.readouterr().err


def test_a_choice_like_none_is_not_guessed(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["xyzzy"])
    err = capsys.readouterr().err
    assert "invalid choice: 'xyzzy'" in err and "did you mean" not in err
