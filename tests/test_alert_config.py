"""The [alerts.*] and [[sinks]] sections: the shipped file states the defaults, bad values stop
pingfan with one line naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.config import AlertsConfig, config_from_dict, load_config
from monitor.errors import ConfigError
from tests.support.paths import REPO


def test_the_shipped_file_states_every_alert_default() -> None:
    assert load_config(REPO / "config.toml").alerts == AlertsConfig()


def test_alert_keys_are_checked_like_every_other(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[alerts.negative_thread]\nnegative_shar = 0.4\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="did you mean 'negative_share'"):
        load_config(path)
    path.write_text('[alerts.trending]\ncooldown = "soon"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"alerts\.trending\.cooldown"):
        load_config(path)


@pytest.mark.parametrize("value", ["23:00", "25:00-07:00", "23:00-7:30", "night"])
def test_quiet_hours_must_be_a_range(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError, match=r"alerts\.quiet_hours"):
        config_from_dict({"alerts": {"quiet_hours": value}}, tmp_path / "config.toml")


def test_quiet_hours_and_sink_options(tmp_path: Path) -> None:
    config = config_from_dict(
        {
            "alerts": {"quiet_hours": "23:00-07:30"},
            "sinks": [
                {"type": "webhook", "url_env": "HOOK", "secret_env": "HOOK_KEY"},
                {"type": "dingtalk", "url_env": "DING", "min_severity": "critical"},
            ],
        },
        tmp_path / "config.toml",
    )
    assert config.alerts.quiet_hours == "23:00-07:30"
    assert config.sinks[0].secret_envs() == ("HOOK", "HOOK_KEY")
    assert config.sinks[1].min_severity == "critical"
