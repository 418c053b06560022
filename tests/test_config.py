import contextlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.cli import main
from monitor.config import load_config, missing_secrets, parse_duration, require_secrets
from monitor.errors import ConfigError
from tests.support.paths import REPO


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_config_loads_with_the_campaign() -> None:
    config = load_config(REPO / "config.toml")
    assert [t.name for t in config.topics] == ["平凡大连人"]
    assert {k.platform for k in config.kols} == {"weibo", "douyin"}
    assert config.ui.language == "zh"
    assert config.schedule.topic_posts == 300.0
    assert config.storage.path == REPO / "data" / "pingfan.db"
    assert [s.type for s in config.enabled_sinks()] == ["console", "jsonl"]


def test_config_is_frozen() -> None:
    config = load_config(REPO / "config.toml")
    with pytest.raises(AttributeError):
        config.weibo.base_url = "http://elsewhere"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30s", 30),
        ("5m", 300),
        ("1h", 3600),
        ("1h30m", 5400),
        ("2d", 172800),
        (45, 45),
        ("1.5h", 5400),
        ("500ms", 0.5),
        ("1w", 604800),
    ],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "5 minutes", "m5", "-5s", "0s", True, "5x", [5], "1h junk"])
def test_bad_durations_are_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


@given(st.text(max_size=20))
def test_duration_parser_never_crashes(text: str) -> None:
    with contextlib.suppress(ValueError):
        assert parse_duration(text) > 0


def test_typo_key_names_key_and_suggests_fix(tmp_path: Path) -> None:
    path = write(tmp_path, '[weibo]\nbase_ulr = "http://127.0.0.1:1"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert str(path) in message and "weibo.base_ulr" in message and "base_url" in message


def test_bad_duration_names_key(tmp_path: Path) -> None:
    path = write(tmp_path, '[schedule]\ntopic_posts = "five minutes"\n')
    with pytest.raises(ConfigError, match=r"schedule\.topic_posts"):
        load_config(path)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[weibo]\nrequests_per_minute = "fast"\n', "weibo.requests_per_minute"),
        ("[weibo]\nenabled = 1\n", "weibo.enabled"),
        ('[douyin]\nmode = "magic"\n', "douyin.mode"),
        ('[[kols]]\nplatform = "weibo"\nname = "x"\n', "kols[0].id"),
        ('[[kols]]\nplatform = "tiktok"\nid = "1"\nname = "x"\n', "kols[0].platform"),
        ('[[topics]]\nname = "#平凡大连人#"\n', "without '#'"),
        ('[[sinks]]\ntype = "jsonl"\n', "needs 'path'"),
        ('[[sinks]]\ntype = "console"\ntoken_env = "X"\n', "does not take 'token_env'"),
        ('[digest]\ntime = "9am"\n', "HH:MM"),
        ('[ui]\ntimezone = "Mars/Base"\n', "ui.timezone"),
        ("[nlp]\nneutral_low = 0.7\nneutral_high = 0.2\n", "neutral_low"),
        ("weibo = 3\n", "[weibo] must be a table"),
        ("[weibo\n", "not valid TOML"),
    ],
)
def test_bad_config_names_the_problem(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)


def test_missing_file_says_how_to_point_at_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--config"):
        load_config(tmp_path / "nope.toml")


def test_enabled_sink_without_its_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PF_TEST_TOKEN", raising=False)
    path = write(
        tmp_path,
        '[[sinks]]\ntype = "telegram"\ntoken_env = "PF_TEST_TOKEN"\nchat_ids = [1]\n',
    )
    config = load_config(path)
    assert missing_secrets(config)
    with pytest.raises(ConfigError, match=r"\$PF_TEST_TOKEN"):
        require_secrets(config)
    monkeypatch.setenv("PF_TEST_TOKEN", "123:abc")
    assert missing_secrets(config) == []


def test_disabled_sink_needs_no_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PF_TEST_HOOK", raising=False)
    path = write(tmp_path, '[[sinks]]\ntype = "wecom"\nenabled = false\nurl_env = "PF_TEST_HOOK"\n')
    assert missing_secrets(load_config(path)) == []


def test_config_path_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, '[storage]\npath = "x.db"\n[douyin]\nenabled = false\n')
    monkeypatch.setenv("PINGFAN_CONFIG", str(path))
    assert main(["doctor"]) == 0
    assert str(tmp_path / "x.db") in capsys.readouterr().out


def test_cli_bad_config_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, '[schedule]\nkol_posts = "10 mins"\n')
    assert main(["--config", str(path), "doctor"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "schedule.kol_posts" in err and "Traceback" not in err


def test_model_path_is_relative_to_the_config_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[nlp]\nmodel = "models/team.json.gz"\n'))
    assert config.nlp.model == str(tmp_path / "models" / "team.json.gz")
    assert load_config(write(tmp_path, '[nlp]\nmodel = "snownlp"\n')).nlp.model == "snownlp"


def test_the_digest_follows_the_ui_timezone_unless_it_names_its_own(tmp_path: Path) -> None:
    ui_only = load_config(write(tmp_path, '[ui]\ntimezone = "Europe/Berlin"\n'))
    assert ui_only.digest.timezone == "Europe/Berlin"
    both = '[ui]\ntimezone = "Europe/Berlin"\n[digest]\ntimezone = "Asia/Tokyo"\n'
    assert load_config(write(tmp_path, both)).digest.timezone == "Asia/Tokyo"
    assert load_config(write(tmp_path, "[digest]\n")).digest.timezone == "Asia/Shanghai"
