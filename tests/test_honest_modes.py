"""Douyin http mode without a signer is an extension point, not a way to reach the real site:
`doctor` fails and `run`/`collect` refuse to start, each in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config import is_loopback

README = Path(__file__).resolve().parent.parent / "README.md"


def _config(tmp_path: Path, base_url: str, signer: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        '[storage]\npath = "pingfan.db"\n[weibo]\nenabled = false\n'
        f'[douyin]\nmode = "http"\nbase_url = "{base_url}"\nsigner = "{signer}"\n',
        encoding="utf-8",
    )
    return path


def test_doctor_fails_on_unsigned_http_mode_against_the_real_site(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, "https://www.douyin.com")
    assert main(["doctor", "--config", str(config)]) == 2
    lines = [line for line in capsys.readouterr().out.splitlines() if "douyin mode" in line]
    assert len(lines) == 1 and "no signer" in lines[0]


@pytest.mark.parametrize("command", [["run"], ["collect", "--once"]])
def test_run_and_collect_refuse_to_start_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    config = _config(tmp_path, "https://www.douyin.com")
    assert main([*command, "--config", str(config)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no signer" in err[0] and 'mode = "browser"' in err[0]
    assert not (tmp_path / "pingfan.db").exists(), "refused before the database is touched"


def test_loopback_and_a_signer_are_fine(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["doctor", "--config", str(_config(tmp_path, "http://127.0.0.1:9"))])
    assert "douyin mode" not in capsys.readouterr().out
    signed = _config(tmp_path, "https://www.douyin.com", signer="monitor.sim.douyin:sign")
    main(["doctor", "--config", str(signed)])
    assert "douyin mode" not in capsys.readouterr().out


def test_loopback_hosts() -> None:
    assert is_loopback("http://127.0.0.1:8700") and is_loopback("http://localhost:1/x")
    assert is_loopback("http://[::1]:80/") and is_loopback("http://127.8.0.1/")
    assert not is_loopback("https://www.douyin.com") and not is_loopback("http://10.0.0.1/")


def test_the_readme_says_so() -> None:
    assert "Douyin http mode: an extension point; no signer ships" in README.read_text("utf-8")
