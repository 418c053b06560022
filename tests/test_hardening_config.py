"""Issue 8, config items: a bad config file or value is exit 2 and one line, never a traceback."""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import math
import tempfile
import tomllib
import typing
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.cli import main
from monitor.config import Config, config_from_dict, load_config, read_cookie
from monitor.errors import ConfigError
from tests.support.paths import REPO

# Looks like a cookie or a token; must never appear in anything pingfan prints.
SECRET = "SUB=_2A25sEcrEtVaLuE; SUBP=0033WrSXqPxfM725"
TOKEN = "123456:AAHsEcrEtToKeN"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run_cli(
    capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, str, str]:  # exit code, stdout, stderr
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_exit_2(code: int, out: str, err: str, *fragments: str) -> str:
    assert code == 2
    assert "Traceback" not in out + err
    line = err.strip()
    assert line and "\n" not in line, err
    assert line.startswith("pingfan: ")
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    return line


# --- 1. --config pointing at a directory, or at an unreadable file ----------------------------


def test_config_pointing_at_a_directory_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, "--config", str(tmp_path), "doctor")
    line = assert_one_line_exit_2(code, out, err, "is a directory", "pass the config file")
    assert str(tmp_path / "config.toml") in line


@pytest.mark.parametrize(
    ("failure", "fragment"),
    [
        (PermissionError(errno.EACCES, "Permission denied"), "permission denied"),
        (OSError(errno.EIO, "Input/output error"), "Input/output error"),
    ],
)
def test_config_that_cannot_be_read_is_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    failure: OSError,
    fragment: str,
) -> None:
    # chmod 000 does not stop root (the CI user), so the read itself is made to fail.
    path = write(tmp_path, "[ui]\nlanguage = 'en'\n")
    real_read_text = Path.read_text

    def read_text(self: Path, *args: Any, **kwargs: Any) -> str:
        if self == path:
            raise failure
        return real_read_text(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", read_text)
    code, out, err = run_cli(capsys, "--config", str(path), "status")
    assert_one_line_exit_2(code, out, err, str(path), fragment, "--config")


# --- 2. an empty config file ------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n   # and another\n"])
def test_empty_config_is_refused_and_points_at_the_shipped_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    path = write(tmp_path, text)
    code, out, err = run_cli(capsys, "--config", str(path), "status")
    line = assert_one_line_exit_2(code, out, err, str(path), "empty", "config.toml")
    assert str(REPO / "config.toml") in line  # the shipped file, to copy
    assert not (tmp_path / "data").exists()  # no database was created on defaults


def test_empty_dict_is_still_the_defaults_for_code(tmp_path: Path) -> None:
    config = config_from_dict({}, tmp_path / "x.toml")
    assert config.storage.path == tmp_path / "data" / "pingfan.db"


# --- 3. a KOL listed twice --------------------------------------------------------------------


def kol(platform: str, ident: str, name: str) -> str:
    return f'[[kols]]\nplatform = "{platform}"\nid = "{ident}"\nname = "{name}"\n'


def test_kol_listed_twice_names_both_entries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        kol("weibo", "1000000001", "a")
        + kol("weibo", "1000000002", "b")
        + kol("douyin", "1000000001", "same id, other platform: fine")
        + kol("weibo", "1000000002", "b again")
    )
    code, out, err = run_cli(capsys, "--config", str(write(tmp_path, text)), "doctor")
    assert_one_line_exit_2(code, out, err, "[[kols]] #2 and #4", "weibo", "remove one")


def test_same_kol_id_on_two_platforms_is_allowed(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, kol("weibo", "1", "a") + kol("douyin", "1", "b")))
    assert [k.platform for k in config.kols] == ["weibo", "douyin"]


# --- 4. requests_per_minute and burst ---------------------------------------------------------


@pytest.mark.parametrize("platform", ["weibo", "douyin"])
@pytest.mark.parametrize("value", [0, -5])
def test_requests_per_minute_zero_or_negative_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], platform: str, value: int
) -> None:
    path = write(tmp_path, f"[{platform}]\nrequests_per_minute = {value}\n")
    code, out, err = run_cli(capsys, "--config", str(path), "doctor")
    assert_one_line_exit_2(
        code, out, err, f"'{platform}.requests_per_minute' is {value}", "1 or more", "enabled"
    )


@pytest.mark.parametrize("platform", ["weibo", "douyin"])
def test_burst_defaults_to_two_and_must_be_at_least_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], platform: str
) -> None:
    assert getattr(load_config(REPO / "config.toml"), platform).burst == 2
    assert getattr(load_config(write(tmp_path, f"[{platform}]\nburst = 5\n")), platform).burst == 5
    path = write(tmp_path, f"[{platform}]\nburst = 0\n")
    code, out, err = run_cli(capsys, "--config", str(path), "doctor")
    assert_one_line_exit_2(code, out, err, f"'{platform}.burst' is 0", "1 or more")


def test_shipped_config_mentions_burst_and_fts_tokenizer() -> None:
    shipped = (REPO / "config.toml").read_text(encoding="utf-8")
    assert shipped.count("# burst = 2") == 2
    assert '# fts_tokenizer = "trigram"' in shipped


# --- 5. URLs ----------------------------------------------------------------------------------

TELEGRAM = '[[sinks]]\ntype = "telegram"\ntoken_env = "PF_TOKEN"\nchat_ids = [1]\n'


@pytest.mark.parametrize(
    ("template", "key"),
    [
        ('[weibo]\nbase_url = "{url}"\n', "'weibo.base_url'"),
        ('[weibo]\ntopic_base_url = "{url}"\n', "'weibo.topic_base_url'"),
        ('[douyin]\nbase_url = "{url}"\n', "'douyin.base_url'"),
        (TELEGRAM + 'base_url = "{url}"\n', "[[sinks]] #1 (telegram) 'base_url'"),
    ],
)
@pytest.mark.parametrize(
    "url",
    [
        "127.0.0.1:8700",
        "ftp://127.0.0.1/x",
        "http://",
        "https:///path",
        "http://h:port",
        "mailto:x",
    ],
)
def test_base_url_without_http_or_host_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], template: str, key: str, url: str
) -> None:
    path = write(tmp_path, template.format(url=url))
    code, out, err = run_cli(capsys, "--config", str(path), "doctor")
    assert_one_line_exit_2(code, out, err, key, "http://", "'http://127.0.0.1:8700'")


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8700", "HTTPS://m.weibo.cn", "http://[::1]:8700/base", "http://sim"]
)
def test_good_urls_are_accepted(tmp_path: Path, url: str) -> None:
    config = load_config(write(tmp_path, f'[weibo]\nbase_url = "{url}"\n'))
    assert config.weibo.base_url == url


# --- 6. a secret pasted where the variable name belongs ---------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "example"),
    [
        (f'[weibo]\ncookie_env = "{SECRET}"\n', "'weibo.cookie_env'", "PINGFAN_WEIBO_COOKIE"),
        (f'[douyin]\ncookie_env = "{SECRET}"\n', "'douyin.cookie_env'", "PINGFAN_DOUYIN_COOKIE"),
        (
            f'[[sinks]]\ntype = "telegram"\ntoken_env = "{TOKEN}"\nchat_ids = [1]\n',
            "'token_env'",
            "PINGFAN_TELEGRAM_TOKEN",
        ),
        (
            f'[[sinks]]\ntype = "wecom"\nurl_env = "https://qyapi.weixin.qq.com/x?key={TOKEN}"\n',
            "'url_env'",
            "PINGFAN_WECOM_WEBHOOK",
        ),
        (
            f'[[sinks]]\ntype = "dingtalk"\nurl_env = "PF_HOOK"\nsecret_env = "{TOKEN}"\n',
            "'secret_env'",
            "PINGFAN_DINGTALK_SECRET",
        ),
    ],
)
@pytest.mark.parametrize("command", [["doctor"], ["status"], ["export", "posts"]])
def test_secret_pasted_into_an_env_key_is_refused_and_never_echoed(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    text: str,
    key: str,
    example: str,
    command: list[str],
) -> None:
    path = write(tmp_path, text)
    code, out, err = run_cli(capsys, "--config", str(path), *command)
    assert_one_line_exit_2(code, out, err, key, "NAME of an environment variable", example)
    for fragment in ("_2A25sEcrEtVaLuE", "0033WrSXqPxfM725", "AAHsEcrEtToKeN", "qyapi"):
        assert fragment not in out + err


def test_empty_cookie_env_means_no_cookie(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[weibo]\ncookie_env = ""\n'))
    assert read_cookie(config.weibo.cookie_env, key="weibo.cookie_env") is None


# --- 7. reading the cookie itself -------------------------------------------------------------


def test_cookie_copied_on_windows_loses_its_line_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(write(tmp_path, '[weibo]\ncookie_env = "PF_TEST_COOKIE"\n'))
    monkeypatch.setenv("PF_TEST_COOKIE", "  SUB=abc; SUBP=xyz\r\n")
    assert read_cookie(config.weibo.cookie_env, key="weibo.cookie_env") == "SUB=abc; SUBP=xyz"


@pytest.mark.parametrize("value", [None, "", "  \r\n\t"])
def test_unset_or_blank_cookie_is_none(monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    if value is None:
        monkeypatch.delenv("PF_TEST_COOKIE", raising=False)
    else:
        monkeypatch.setenv("PF_TEST_COOKIE", value)
    assert read_cookie("PF_TEST_COOKIE", key="weibo.cookie_env") is None
    assert read_cookie(None, key="weibo.cookie_env") is None


@pytest.mark.parametrize(
    ("inner", "code_point"),
    [("\r", "U+000D"), ("\n", "U+000A"), ("\t", "U+0009"), ("\x7f", "U+007F"), ("登", "U+767B")],
)
def test_cookie_with_a_control_or_wide_character_is_refused_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch, inner: str, code_point: str
) -> None:
    monkeypatch.setenv("PF_TEST_COOKIE", f"SUB=_2A25sEcrEt{inner}VaLuE\r\n")
    with pytest.raises(ConfigError) as caught:
        read_cookie("PF_TEST_COOKIE", key="douyin.cookie_env")
    message = str(caught.value)
    assert "$PF_TEST_COOKIE" in message and "'douyin.cookie_env'" in message
    assert code_point in message and "HTTP header" in message
    assert "\n" not in message and "sEcrEt" not in message and "VaLuE" not in message


def test_latin1_cookie_is_kept_as_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PF_TEST_COOKIE", "a=é; b=\xa0c")
    assert read_cookie("PF_TEST_COOKIE", key="weibo.cookie_env") == "a=é; b=\xa0c"


# --- 8. [storage] fts_tokenizer ---------------------------------------------------------------


def test_fts_tokenizer_defaults_to_trigram_and_takes_jieba(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert load_config(REPO / "config.toml").storage.fts_tokenizer == "trigram"
    jieba = write(tmp_path, '[storage]\nfts_tokenizer = "jieba"\n')
    assert load_config(jieba).storage.fts_tokenizer == "jieba"
    path = write(tmp_path, '[storage]\nfts_tokenizer = "icu"\n')
    code, out, err = run_cli(capsys, "--config", str(path), "doctor")
    assert_one_line_exit_2(code, out, err, "'storage.fts_tokenizer' is 'icu'", "'trigram'")


# --- other values found while fuzzing ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('[ui]\ntimezone = "America"\n', "ui.timezone"),  # a directory of the zone database
        ("[schedule]\ntopic_posts = nan\n", "schedule.topic_posts"),
        ("[schedule]\ntopic_posts = inf\n", "schedule.topic_posts"),
        (f"[schedule]\ntopic_posts = {10**400}\n", "schedule.topic_posts"),
        (f"[nlp]\nneutral_low = {10**400}\n", "nlp.neutral_low"),
        ('"we\\nibo" = 1\n', "unknown key 'we\\nibo'"),
        ('[storage]\npath = "a\\u0000b.db"\n', "storage.path"),
        ("a = " + "[" * 2000 + "\n", "not valid TOML"),
    ],
)
def test_odd_values_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, fragment: str
) -> None:
    code, out, err = run_cli(capsys, "--config", str(write(tmp_path, text)), "doctor")
    assert_one_line_exit_2(code, out, err, fragment)


# --- property: whatever the file holds, ConfigError or a Config -----------------------------

_HINTS = typing.get_type_hints(Config)
SECTIONS = {name: hint for name, hint in _HINTS.items() if name != "source"}
TRICKY = st.sampled_from(
    [
        "http://127.0.0.1:8700",
        "127.0.0.1:8700",
        "ftp://x",
        "https://",
        "Asia/Shanghai",
        "America",
        "PINGFAN_X",
        "SUB=a; b",
        "5m",
        "0s",
        "-1h",
        "09:00",
        "25:00",
        "trigram",
        "jieba",
        "weibo",
        "douyin",
        "console",
        "jsonl",
        "telegram",
        "wecom",
        "dingtalk",
        "webhook",
        "default",
        "snownlp",
        "#平凡大连人#",
        "",
        "\x00",
        "a\nb",
    ]
)
SCALARS = st.one_of(
    TRICKY,
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(),
    st.text(max_size=10),
    st.dates(min_value=dt.date(1, 1, 1)),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


def _section_class(hint: Any) -> Any:
    """The dataclass behind a section's hint (`WeiboConfig`, `tuple[KolConfig, ...]`), or None."""
    if typing.get_origin(hint) is tuple:
        hint = typing.get_args(hint)[0]
    return hint if dataclasses.is_dataclass(hint) else None


def _fields_of(hint: Any) -> list[str]:
    cls = _section_class(hint)
    return [f.name for f in dataclasses.fields(cls)] if cls else []


def _table(hint: Any) -> st.SearchStrategy[dict[str, Any]]:
    cls = _section_class(hint)
    names = _fields_of(hint)
    keys = st.sampled_from(names) | st.text(max_size=6)
    nested = [h for h in typing.get_type_hints(cls).values() if dataclasses.is_dataclass(h)]
    return st.dictionaries(keys, st.one_of(VALUES, *(_table(h) for h in nested)), max_size=4)


@st.composite
def raw_configs(draw: st.DrawFn) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for name in draw(st.lists(st.sampled_from(sorted(SECTIONS)), max_size=4, unique=True)):
        hint = SECTIONS[name]
        if typing.get_origin(hint) is tuple and _fields_of(hint):
            raw[name] = draw(st.lists(_table(hint), max_size=3))
        elif _fields_of(hint):
            raw[name] = draw(_table(hint))
        else:
            raw[name] = draw(VALUES)
    if draw(st.booleans()):
        raw[draw(st.text(max_size=6))] = draw(VALUES)
    return raw


def toml_value(value: Any) -> str:
    """A tiny TOML writer: inline tables and arrays, enough for any value tomllib returns."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{" + ", ".join(f"{toml_string(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
        )
    raise TypeError(type(value))


def toml_string(text: str) -> str:
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def to_toml(raw: dict[str, Any]) -> str:
    return "".join(f"{toml_string(key)} = {toml_value(value)}\n" for key, value in raw.items())


def outcome(build: typing.Callable[[], Config]) -> str:
    try:
        return "config " + repr(build())
    except ConfigError as err:
        message = str(err)
        assert message and "\n" not in message, message
        return "error " + message


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(raw_configs())
def test_random_config_values_only_ever_raise_config_error(raw: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.toml"
        direct = outcome(lambda: config_from_dict(raw, path))
        text = to_toml(raw)
        # The writer is right (nan aside, which never equals itself) ...
        if "nan" not in text:
            assert tomllib.loads(text) == raw
        path.write_text(text, encoding="utf-8")
        # ... and the file says what the dict says, except that an empty file is refused.
        through_file = outcome(lambda: load_config(path))
        if raw:
            assert through_file == direct
        else:
            assert through_file.startswith("error ") and "empty" in through_file


@settings(max_examples=150)
@given(st.binary(max_size=200) | st.text(max_size=80).map(lambda t: t.encode("utf-8")))
def test_random_bytes_as_config_file_only_raise_config_error(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.toml"
        path.write_bytes(data)
        outcome(lambda: load_config(path))


def test_random_bytes_config_through_the_cli_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import random

    path = tmp_path / "config.toml"
    path.write_bytes(random.Random(8).randbytes(400))
    code, out, err = run_cli(capsys, "--config", str(path), "doctor")
    assert_one_line_exit_2(code, out, err, str(path))
