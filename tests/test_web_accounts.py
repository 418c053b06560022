"""The console's accounts and sessions without a browser: scrypt hashes, the CLI's
`pingfan web user add|list|remove`, the login brake, cookies, and the [web] config."""

from __future__ import annotations

import io
import itertools
import re
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from alerts.web import accounts
from alerts.web.app import CONSOLE, build_app
from monitor.cli import main
from monitor.config import config_from_dict
from monitor.errors import ConfigError
from monitor.store import Store
from nlp.search_tokens import jieba_search_tokens
from tests.support.web import NOW, PASSWORDS, add_accounts, console_config, fill


def test_a_password_matches_its_own_hash_only() -> None:
    stored = accounts.hash_password("correct horse")
    assert stored.startswith("scrypt$16384$8$1$")
    assert accounts.verify_password("correct horse", stored)
    assert not accounts.verify_password("correct horsf", stored)
    assert accounts.hash_password("correct horse") != stored  # a fresh salt each time
    for broken in ("", "scrypt$1$2", "bcrypt$x$y$z$a$b", "scrypt$16384$8$1$!!$??"):
        assert not accounts.verify_password("correct horse", broken)


def test_failed_logins_wait_longer_each_time_up_to_a_cap() -> None:
    delays = [accounts.login_delay(n) for n in range(0, 10)]
    assert delays[0] == 0 and delays[1] > 0
    assert all(a <= b for a, b in itertools.pairwise(delays))
    assert delays[-1] == accounts.MAX_DELAY


def _run(argv: list[str], stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = main(argv)
    finally:
        sys.stdin = old
    return code, out.getvalue(), err.getvalue()


def test_web_user_add_list_remove(tmp_path: Path) -> None:
    config = console_config(tmp_path)
    base = ["--config", str(config.source), "web", "user"]
    assert _run([*base, "add", "ed", "--role", "editor"], "a long password\n")[0] == 0
    assert _run([*base, "add", "vic", "--role", "viewer"], "another password\n")[0] == 0
    code, out, _ = _run([*base, "list"])
    assert code == 0 and re.search(r"^ed\teditor\t", out, re.M) and "vic\tviewer" in out
    with Store.for_config(config, search_tokens=jieba_search_tokens) as store:
        role, stored = store.console.credentials("ed") or ("", "")
        assert role == "editor" and accounts.verify_password("a long password", stored)
        assert "a long password" not in str(list(store.query("SELECT * FROM web_users")))
    code, _, err = _run([*base, "add", "ed", "--role", "viewer"], "a long password\n")
    assert code == 2 and "exists" in err
    code, _, err = _run([*base, "add", "short", "--role", "viewer"], "short\n")
    assert code == 2 and "too short" in err
    code, _, err = _run([*base, "add", "Bad Name", "--role", "viewer"], "a long password\n")
    assert code == 2 and "account name" in err
    with pytest.raises(SystemExit) as refused:  # argparse: one line, exit 2
        _run([*base, "add", "x", "--role", "admin"])
    assert refused.value.code == 2
    assert _run([*base, "remove", "vic"])[0] == 0
    code, _, err = _run([*base, "remove", "vic"])
    assert code == 2 and "no account" in err
    assert "vic" not in _run([*base, "list"])[1]


@pytest.mark.parametrize(
    ("web", "key"),
    [
        ({"port": 70000}, "web.port"),
        ({"base_url": "ftp://example.org"}, "web.base_url"),
        ({"host": " "}, "web.host"),
        ({"port": "eighty"}, "port"),
    ],
)
def test_bad_web_settings_are_one_clear_error(web: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(key)):
        config_from_dict({"web": web}, Path("config.toml"))


async def _logged_in(client: TestClient, name: str, password: str) -> int:
    page = await (await client.get("/login")).text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    answer = await client.post(
        "/login",
        data={"username": name, "password": password, "csrf_token": token.group(1)},
        allow_redirects=False,
    )
    return answer.status


async def test_the_session_cookie_is_secure_behind_https(tmp_path: Path) -> None:
    config = console_config(tmp_path, base_url="https://pingfan.example.org")
    with Store.for_config(config, search_tokens=jieba_search_tokens) as store:
        add_accounts(store)
        async with TestClient(TestServer(build_app(config, store, now=lambda: NOW))) as client:
            page = await client.get("/login")
            assert "Secure" in page.headers["Set-Cookie"]
            token = re.search(r'name="csrf_token" value="([^"]+)"', await page.text())
            assert token is not None
            answer = await client.post(
                "/login",
                data={"username": "ed", "password": PASSWORDS["ed"], "csrf_token": token[1]},
                # a client keeps a Secure cookie off plain http: send it as a proxy would
                headers={"Cookie": f"pingfan_login={token[1]}"},
                allow_redirects=False,
            )
            assert answer.status == 303
            cookie = next(v for v in answer.headers.getall("Set-Cookie") if "pingfan_session" in v)
            assert all(flag in cookie for flag in ("HttpOnly", "Secure", "SameSite=Lax"))


async def test_failed_logins_are_counted_and_a_login_without_the_form_token_fails(
    tmp_path: Path,
) -> None:
    config = console_config(tmp_path)
    with Store.for_config(config, search_tokens=jieba_search_tokens) as store:
        fill(store)
        add_accounts(store)
        app = build_app(config, store, now=lambda: NOW)
        async with TestClient(TestServer(app)) as client:
            assert await _logged_in(client, "ed", "wrong") == 401
            assert await _logged_in(client, "ed", "wrong again") == 401
            assert app[CONSOLE].failures == {"ed": 2}
            answer = await client.post(
                "/login", data={"username": "ed", "password": PASSWORDS["ed"]}
            )
            assert answer.status == 401 and "/login" in str(answer.url)
            assert await _logged_in(client, "ed", PASSWORDS["ed"]) == 303
            assert app[CONSOLE].failures == {}
            assert (await client.get("/logout")).status == 405  # logging out is a POST
            assert (await client.get("/api/summary")).status == 200


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_password_is_asked_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    from alerts.web import command

    answers = iter(["first password", "first password", "one", "two"])
    asked: list[str] = []

    def getpass(prompt: str) -> str:
        asked.append(prompt)
        return next(answers)

    monkeypatch.setattr(command.getpass, "getpass", getpass)
    assert command.read_password(Terminal(), "ed") == "first password"
    assert asked == ["password for ed: ", "again: "]
    assert command.read_password(Terminal(), "ed") is None  # they differ
    assert command.read_password(io.StringIO("from a pipe\nrest\n"), "ed") == "from a pipe"
