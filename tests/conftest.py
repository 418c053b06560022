"""Shared fixtures: no test may reach past loopback; every test gets its own SQLite file.
Fixtures and hooks only: what tests import lives in tests/support/."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from monitor.store import Store
from tests.support.daemon import kill_left_behind
from tests.support.network import refuse_the_outside
from tests.support.paths import REPO
from tests.support.postgres import TEMPLATE, Cluster, NoServer, required_or_skip, start_cluster
from tests.support.workers import workers_database

# No per-example deadline: a first example that pays for a cache or an import on a busy CI
# machine must not turn into a flaky failure. Example counts stay at the default.
settings.register_profile("pingfan", deadline=None)
settings.load_profile("pingfan")


@pytest.fixture(autouse=True)
def block_network(monkeypatch: pytest.MonkeyPatch) -> None:
    refuse_the_outside(monkeypatch)


@pytest.fixture
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A new store: SQLite by default; a test marked `both_backends` runs on SQLite and on a
    new database of the session's throwaway PostgreSQL cluster."""
    if getattr(request, "param", "sqlite") == "postgresql":
        cluster: Cluster = request.getfixturevalue("postgres_cluster")
        with cluster.temporary_url(TEMPLATE) as url, Store.open_postgres(url) as opened:
            yield opened
        return
    with Store.open(tmp_path / "pingfan.db") as opened:
        yield opened


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """One throwaway PostgreSQL cluster per pytest process (per xdist worker), started when a
    test first asks for it, stopped and deleted at the end of the session."""
    try:
        cluster = start_cluster()
    except NoServer as err:
        required_or_skip(err)
        raise  # not reached: required_or_skip fails or skips
    try:
        cluster.psql(f'CREATE DATABASE "{TEMPLATE}"')
        Store.open_postgres(cluster.url(TEMPLATE)).close()
        yield cluster
    finally:
        cluster.stop()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "both_backends: run the test's `store` on SQLite and on PostgreSQL"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store" in metafunc.fixturenames and metafunc.definition.get_closest_marker("both_backends"):
        metafunc.parametrize("store", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def shipped_config_text() -> str:
    return (REPO / "config.toml").read_text(encoding="utf-8")


# The longest files start first: with `make test`'s workers taking a file at a time, a long
# file picked up last would leave the others idle at the end (the Makefile's
# --no-loadscope-reorder keeps this order; xdist's default sorts by the number of tests).
# Longest by `pytest -n 3 --dist loadfile --durations`, summed per file (1,496 tests).
LONGEST_FIRST = (
    "test_demo.py",
    "test_douyin_collector.py",
    "test_digest_replay.py",
    "test_weibo_collector.py",
    "test_growth_synthesis.py",
    "test_douyin_browser.py",
    "test_daemon.py",
    "test_campaign_workers.py",
    "test_workers.py",
    "test_web_console.py",
    "test_hostile_answers.py",
    "test_shares.py",
    "test_hostile_ops.py",
    "test_nlp_cli.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the order within each file is kept


@pytest.fixture
def workers_db_url(postgres_cluster: Cluster) -> Iterator[str]:
    """A migrated database of the session's cluster for `pingfan run` workers, dropped after
    the test."""
    with workers_database(postgres_cluster) as url:
        yield url


@pytest.fixture
def started_processes() -> Iterator[list[asyncio.subprocess.Process]]:
    """The processes a test starts: those still running at its end are killed, pass or fail
    (a daemon left behind would hold its run lock or its leases)."""
    started: list[asyncio.subprocess.Process] = []
    yield started
    kill_left_behind(started)
