"""Shared fixtures: no test may reach past loopback; every test gets its own SQLite file.
Fixtures and hooks only: what tests import lives in tests/support/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from monitor.store import Store
from tests.support.network import refuse_the_outside
from tests.support.paths import REPO

# No per-example deadline: a first example that pays for a cache or an import on a busy CI
# machine must not turn into a flaky failure. Example counts stay at the default.
settings.register_profile("pingfan", deadline=None)
settings.load_profile("pingfan")


@pytest.fixture(autouse=True)
def block_network(monkeypatch: pytest.MonkeyPatch) -> None:
    refuse_the_outside(monkeypatch)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "pingfan.db") as opened:
        yield opened


@pytest.fixture
def shipped_config_text() -> str:
    return (REPO / "config.toml").read_text(encoding="utf-8")


# The longest files start first: with `make test`'s two workers taking a file at a time, a long
# file picked up last would leave the other worker idle at the end.
LONGEST_FIRST = (
    "test_demo.py",
    "test_douyin_browser.py",
    "test_digest_replay.py",
    "test_daemon.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the order within each file is kept
