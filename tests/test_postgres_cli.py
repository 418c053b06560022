"""`[storage] url` end to end: the config accepts a PostgreSQL address (never a password in
it), `collect --once` stores there what it stores in a SQLite file, `doctor` checks the
server and the schema, `backup` gives the `pg_dump` command, and no run lock keeps a second
process off a PostgreSQL database. The servers are real: tests/support/postgres.py's cluster,
a database per test."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from alerts.digest import digest_command
from monitor.app.collect import collect_once
from monitor.app.run import build_daemon
from monitor.cli import main
from monitor.config import Config, config_from_dict, load_config
from monitor.errors import ConfigError
from monitor.runlock import AlreadyRunning, run_lock
from monitor.runtime.clock import VirtualClock
from monitor.runtime.daemon import Daemon, DaemonOptions
from monitor.runtime.leases import NoIdentity, PostgresWorker, identities
from monitor.store import POSTGRES_READY, Store
from monitor.store.errors import DatabaseUnavailable
from monitor.store.postgres import connect
from monitor.store.postgres_schema import MIGRATIONS
from nlp.search_tokens import jieba_search_tokens
from tests.support.daemon import daemon_config_dict, eventually, in_process_daemon
from tests.support.digest import at, fill_week, make_config
from tests.support.factories import post
from tests.support.postgres import Cluster, free_port
from tests.support.sim import TOPIC, running_sim

# A role that logs in with a password (the cluster's own superuser is trusted without one),
# the way the README sets pingfan up: `createuser --pwprompt`, `createdb --owner`.
ROLE = "pingfan_pw"
PASSWORD = "Pw-7f3c9e-secret"
WRONG = "Pw-wrong-0a1b2c"
ENV = "PINGFAN_TEST_PG_PASSWORD"


@pytest.fixture
def database(postgres_cluster: Cluster) -> Iterator[str]:
    """A new, empty database (not migrated) of the session's cluster."""
    name = postgres_cluster.database()
    try:
        yield name
    finally:
        postgres_cluster.drop(name)


@pytest.fixture
def password_role(postgres_cluster: Cluster) -> Cluster:
    """ROLE logs in with PASSWORD over TCP: a scram-sha-256 rule for it alone goes first in
    the cluster's pg_hba.conf (every other role stays trusted), then the server reloads."""
    hba = postgres_cluster.data / "pg_hba.conf"
    rule = f"host all {ROLE} 127.0.0.1/32 scram-sha-256\n"
    if rule not in hba.read_text():
        postgres_cluster.psql(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'")
        hba.write_text(rule + hba.read_text())
        postgres_cluster.psql("SELECT pg_reload_conf()")
        _wait_for_the_password_rule(role_url(postgres_cluster, "postgres"))
    return postgres_cluster


def _wait_for_the_password_rule(url: str) -> None:
    """The server applies a reload soon after it is asked: until it has, a wrong password
    still gets in (trust)."""
    for _ in range(100):
        with pytest.MonkeyPatch.context() as env:
            env.setenv(ENV, WRONG)
            try:
                connect(url, ENV, migrate_schema=False).close()
            except DatabaseUnavailable:
                return
        time.sleep(0.1)
    raise AssertionError("the server did not apply the password rule")


@pytest.fixture
def owned_database(password_role: Cluster) -> Iterator[str]:
    """A new database owned by ROLE (it creates pg_trgm there itself: a trusted extension)."""
    name = password_role.database()
    password_role.psql(f'ALTER DATABASE "{name}" OWNER TO {ROLE}')
    try:
        yield name
    finally:
        password_role.drop(name)


def role_url(cluster: Cluster, name: str, port: int | None = None) -> str:
    return f"postgresql://{ROLE}@127.0.0.1:{port or cluster.port}/{name}"


def write_config(tmp_path: Path, storage: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[storage]\n{storage}\n[[topics]]\nname = "{TOPIC}"\n'
        '[weibo]\ncookie_env = "PINGFAN_TEST_NO_COOKIE"\n[douyin]\nenabled = false\n',
        encoding="utf-8",
    )
    return path


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --- the config ---------------------------------------------------------------------------


def storage_error(tmp_path: Path, storage: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as raised:
        config_from_dict({"storage": storage}, tmp_path / "config.toml")
    message = str(raised.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    "url",
    ["postgresql://pingfan@db:5432/pingfan", "postgres://pingfan@10.0.0.5/pf", "postgresql:///pf"],
)
def test_a_postgresql_address_selects_postgresql(tmp_path: Path, url: str) -> None:
    config = config_from_dict(
        {"storage": {"url": url, "password_env": ENV}}, tmp_path / "config.toml"
    )
    assert config.storage.is_postgres and config.storage.where == url
    assert config.storage.password_env == ENV
    default = config_from_dict({}, tmp_path / "config.toml")
    assert not default.storage.is_postgres  # SQLite stays the default
    assert default.storage.where == str(tmp_path / "data" / "pingfan.db")


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("mysql://u:hunter2-xyz@h/db", "does not start with postgresql://"),
        ("sqlite:///data/pingfan.db", "does not start with postgresql://"),
        ("postgresql://u@h:99999/db", "is not a valid URL"),
        ("postgresql://u@h/db#x", "'#'"),
        ("postgresql://u@h /db", "spaces"),
    ],
)
def test_anything_but_a_postgresql_address_is_one_line(
    tmp_path: Path, url: str, problem: str
) -> None:
    message = storage_error(tmp_path, {"url": url})
    assert problem in message and "'storage.url'" in message
    assert url not in message and "hunter2" not in message  # never repeated


@pytest.mark.parametrize(
    "url",
    ["postgresql://pingfan:hunter2-xyz@db/pf", "postgresql://pingfan@db/pf?password=hunter2-xyz"],
)
def test_a_password_in_the_address_is_refused_without_repeating_it(
    tmp_path: Path, url: str
) -> None:
    message = storage_error(tmp_path, {"url": url})
    assert "holds a password" in message and "password_env" in message
    assert "PGPASSWORD" in message and "hunter2" not in message


def test_password_env_needs_a_url_and_a_variable_name(tmp_path: Path) -> None:
    assert "'storage.url' is not set" in storage_error(tmp_path, {"password_env": ENV})
    message = storage_error(
        tmp_path, {"url": "postgresql://pf@db/pf", "password_env": "hunter2 xyz"}
    )
    assert "NAME of an environment variable" in message and "hunter2" not in message


def test_the_jieba_index_is_sqlite_only(tmp_path: Path) -> None:
    message = storage_error(tmp_path, {"url": "postgresql://pf@db/pf", "fts_tokenizer": "jieba"})
    assert "pg_trgm" in message


# --- the run lock -------------------------------------------------------------------------


def test_several_processes_may_hold_the_run_lock_on_postgresql(tmp_path: Path) -> None:
    on_postgres = config_from_dict(
        {"storage": {"url": "postgresql://pf@db/pf"}}, tmp_path / "config.toml"
    )
    with run_lock(on_postgres), run_lock(on_postgres):
        pass  # a second `pingfan run` is not refused
    assert not list(tmp_path.rglob("*.lock"))  # and no lock file beside an unused path
    on_sqlite = config_from_dict({"storage": {"path": "p.db"}}, tmp_path / "config.toml")
    with run_lock(on_sqlite), pytest.raises(AlreadyRunning), run_lock(on_sqlite):
        pass


# --- commands that differ on PostgreSQL (no server needed) -----------------------------------


def test_backup_prints_the_pg_dump_command_and_copies_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "postgresql://pingfan@db.example:5432/pingfan"
    config = write_config(tmp_path, f'url = "{url}"\npassword_env = "{ENV}"')
    out_dir = tmp_path / "backups"
    out_dir.mkdir()
    code, out, err = run_cli(capsys, "--config", str(config), "backup", str(out_dir))
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert f'PGPASSWORD="${ENV}" pg_dump --format=custom --file={out_dir}/pingfan-' in err
    assert f".dump {url}`" in err and "pg_restore" in err
    assert list(out_dir.iterdir()) == []


def test_reindex_says_the_server_keeps_the_index(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, 'url = "postgresql://pingfan@127.0.0.1:1/pf"')
    code, out, err = run_cli(capsys, "--config", str(config), "reindex")
    assert code == 0 and err == ""
    assert out.count("\n") == 1 and "pg_trgm" in out and "nothing to do" in out


# --- doctor on a real server ----------------------------------------------------------------


def doctor_lines(
    capsys: pytest.CaptureFixture[str], config: Path
) -> tuple[int, dict[str, str], str]:
    code, out, err = run_cli(capsys, "--config", str(config), "doctor")
    lines = {}
    for line in out.splitlines():
        if line.startswith("["):
            name, _, detail = line[7:].partition(": ")
            lines[name] = line[:6] + " " + detail
    return code, lines, out + err


def test_doctor_checks_the_server_the_extension_and_the_schema(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    owned_database: str,
    password_role: Cluster,
) -> None:
    monkeypatch.setenv(ENV, PASSWORD)
    url = role_url(password_role, owned_database)
    config = write_config(tmp_path, f'url = "{url}"\npassword_env = "{ENV}"')

    code, checks, text = doctor_lines(capsys, config)
    assert code == 0, text  # nothing created yet is not a problem
    assert checks["database"].startswith(f"[ok  ] {url} (PostgreSQL ")
    assert checks["pg_trgm"].startswith("[ok  ] available")
    assert checks["schema"].startswith("[warn] none yet")
    with Store.open_postgres(url, password_env=ENV) as store:  # as `pingfan run` opens it
        assert store.reports.table_counts()["posts"] == 0

    code, checks, text = doctor_lines(capsys, config)
    assert code == 0, text
    assert re.fullmatch(
        rf"\[ok  \] {re.escape(url)} \(PostgreSQL [\d.]+, 0 posts\)", checks["database"]
    )
    assert checks["pg_trgm"].startswith("[ok  ] version ")
    assert checks["schema"] == f"[ok  ] {MIGRATIONS[-1][0]} (current)"
    assert PASSWORD not in text


def test_doctor_reports_a_newer_schema(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], postgres_cluster: Cluster, database: str
) -> None:
    url = postgres_cluster.url(database)
    Store.open_postgres(url).close()
    postgres_cluster.psql(
        "INSERT INTO pingfan_schema (name) VALUES ('p999_from_the_future')", database
    )
    code, checks, text = doctor_lines(capsys, write_config(tmp_path, f'url = "{url}"'))
    assert code == 2, text
    assert checks["schema"].startswith("[FAIL] p999_from_the_future, newer than")
    assert "upgrade pingfan" in checks["schema"]


@pytest.mark.parametrize("fault", ["wrong password", "unreachable port", "unset variable"])
def test_doctor_fails_in_one_line_and_never_shows_the_password(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    owned_database: str,
    password_role: Cluster,
    fault: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv(ENV, WRONG if fault == "wrong password" else PASSWORD)
    if fault == "unset variable":
        monkeypatch.delenv(ENV)
    port = free_port() if fault == "unreachable port" else None
    url = role_url(password_role, owned_database, port)
    config = write_config(tmp_path, f'url = "{url}"\npassword_env = "{ENV}"')
    code, checks, text = doctor_lines(capsys, config)
    assert code == 2
    (failed,) = [line for line in text.splitlines() if line.startswith("[FAIL]")]
    assert failed.startswith("[FAIL] database: ") and checks["database"].startswith("[FAIL]")
    assert "pg_trgm" not in checks and "schema" not in checks
    expected = {
        "wrong password": "password authentication failed",
        "unreachable port": f"cannot connect to {url}",
        "unset variable": f"names {ENV}, which is not set",
    }[fault]
    assert expected in checks["database"]
    for secret in (PASSWORD, WRONG):
        assert secret not in text and secret not in caplog.text
    assert "Traceback" not in text


def test_a_role_that_cannot_create_the_tables_is_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    password_role: Cluster,
    database: str,
) -> None:
    """A database the role does not own (PostgreSQL 15: no CREATE in its public schema)."""
    monkeypatch.setenv(ENV, PASSWORD)
    url = role_url(password_role, database)
    config = write_config(tmp_path, f'url = "{url}"\npassword_env = "{ENV}"')
    code, out, err = run_cli(capsys, "--config", str(config), "status")
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"cannot create pingfan's tables in {url}: permission denied" in err
    assert "OWNER TO" in err and PASSWORD not in err


def test_the_right_password_from_password_env_gets_in(
    monkeypatch: pytest.MonkeyPatch, owned_database: str, password_role: Cluster
) -> None:
    """The fault test above is not passing for want of a working login."""
    url = role_url(password_role, owned_database)
    monkeypatch.setenv(ENV, WRONG)
    with pytest.raises(DatabaseUnavailable):
        Store.open_postgres(url, password_env=ENV)
    monkeypatch.setenv(ENV, PASSWORD)
    with Store.open_postgres(url, password_env=ENV) as store:
        assert store.reports.table_counts()["posts"] == 0


# --- collect --once on both back-ends ---------------------------------------------------------

# The night the bundled scenario's Weibo thread turns against its post: a pass 2.5 h later
# reads it in the negative-thread rule's window, so the pass also raises alerts.
AFTER_THE_NEGATIVE_THREAD = datetime.fromisoformat("2019-08-17T00:00:00+08:00")


def sim_config(weibo_url: str, topic_url: str, tmp_path: Path, storage: dict[str, Any]) -> Config:
    return config_from_dict(
        {
            "storage": {"comment_retention_days": 0, **storage},
            "topics": [{"name": TOPIC}],
            "weibo": {
                "base_url": weibo_url,
                "topic_base_url": topic_url,
                "requests_per_minute": 100_000,
                "cookie_env": "PINGFAN_TEST_NO_COOKIE",
                "timeout": "5s",
            },
            "douyin": {"enabled": False},
        },
        tmp_path / "config.toml",
    )


def stored(config: Config) -> dict[str, Any]:
    """What a pass stored, in a form both back-ends give alike."""
    with Store.for_config(config, search_tokens=jieba_search_tokens) as store:
        return {
            "posts": [
                tuple(row.values())
                for row in store.query(
                    "SELECT platform, id, author_id FROM posts ORDER BY platform, id"
                )
            ],
            "comments": [
                tuple(row.values())
                for row in store.query(
                    "SELECT platform, id, post_id, label FROM comments ORDER BY platform, id"
                )
            ],
            "alerts": [
                tuple(row.values())
                for row in store.query(
                    "SELECT kind, platform, subject_id, dedupe_key, severity FROM alerts"
                    " ORDER BY dedupe_key"
                )
            ],
        }


async def test_collect_once_stores_on_postgresql_what_it_stores_in_sqlite(
    tmp_path: Path, postgres_cluster: Cluster, database: str
) -> None:
    configs = {
        "sqlite": {"path": "p.db"},
        "postgresql": {"url": postgres_cluster.url(database)},
    }
    results = {}
    async with running_sim(at=AFTER_THE_NEGATIVE_THREAD, requests_per_minute=100_000) as (
        server,
        _,
    ):
        for name, storage in configs.items():
            (tmp_path / name).mkdir()
            config = sim_config(server.weibo_url, server.weibo_topic_url, tmp_path / name, storage)
            outcome = await collect_once(config, "weibo", VirtualClock(AFTER_THE_NEGATIVE_THREAD))
            assert not outcome.blocked, outcome.lines
            results[name] = stored(config)
    assert not (tmp_path / "postgresql" / "p.db").exists()
    on_sqlite, on_postgres = results["sqlite"], results["postgresql"]
    assert len(on_sqlite["comments"]) > 1000 and len(on_sqlite["posts"]) > 10
    assert any(kind == "negative_thread" for kind, *_ in on_sqlite["alerts"])
    assert on_postgres["posts"] == on_sqlite["posts"]
    assert on_postgres["comments"] == on_sqlite["comments"]
    assert on_postgres["alerts"] == on_sqlite["alerts"]


async def test_collect_once_beside_a_worker_leaves_it_its_identity_and_its_sources(
    tmp_path: Path, postgres_cluster: Cluster, database: str
) -> None:
    """On PostgreSQL `collect --once` is one more worker: it never sends a cookie (here: the
    anonymous identity) a running worker uses, and leaves a source a worker runs to it."""
    storage = {"url": postgres_cluster.url(database)}
    async with running_sim(at=AFTER_THE_NEGATIVE_THREAD, requests_per_minute=100_000) as (
        server,
        _,
    ):
        config = sim_config(server.weibo_url, server.weibo_topic_url, tmp_path, storage)
        clock = VirtualClock(AFTER_THE_NEGATIVE_THREAD)
        with Store.for_config(config, search_tokens=jieba_search_tokens) as store:
            holder = PostgresWorker(store, clock, lease_seconds=60)
            try:
                await holder.identity(identities("weibo", [None]))
                with pytest.raises(NoIdentity, match="every identity is in use by a running"):
                    await collect_once(config, "weibo", clock)
            finally:
                await holder.close()
            assert store.reports.table_counts()["posts"] == 0  # not one request went out
            running = PostgresWorker(store, clock, lease_seconds=60)
            try:
                assert await running.claim_source("weibo:watched") is not None
                outcome = await collect_once(config, "weibo", clock)
            finally:
                await running.close()
            assert store.reports.table_counts()["posts"] > 10  # the topic, read by the pass
            assert store.runtime.source("weibo:watched") is None  # the worker's, not run
            assert store.runtime.source("weibo:comments") is not None
    assert "  held 1 sources that another worker runs now" in outcome.lines
    assert any("1 held" in line for line in outcome.lines)


def test_status_and_export_read_postgresql(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], postgres_cluster: Cluster, database: str
) -> None:
    url = postgres_cluster.url(database)
    config = write_config(tmp_path, f'url = "{url}"')
    with Store.for_config(load_config(config), search_tokens=jieba_search_tokens) as store:
        store.content.save_posts([post("p1", text="平凡大连人 第一条")])
    code, out, err = run_cli(capsys, "--config", str(config), "status")
    assert code == 0, err
    assert out.startswith(f"database: {url}\n")
    assert any(line.split() == ["posts", "1"] for line in out.splitlines())
    code, out, err = run_cli(capsys, "--config", str(config), "export", "posts")
    assert code == 0, err
    (record,) = [json.loads(line) for line in out.splitlines()]
    assert record["id"] == "p1" and record["text"] == "平凡大连人 第一条"
    assert not (tmp_path / "data").exists()  # no SQLite file made on the side


def test_the_shipped_configs_storage_example_is_valid(
    tmp_path: Path, shipped_config_text: str
) -> None:
    storage_part = shipped_config_text.split("[[topics]]")[0]  # `# url` is in [[watch]] too
    uncommented = shipped_config_text.replace(
        storage_part, re.sub(r"^# (url|password_env) = ", r"\1 = ", storage_part, flags=re.M)
    )
    assert uncommented != shipped_config_text
    (tmp_path / "config.toml").write_text(uncommented, encoding="utf-8")
    storage = load_config(tmp_path / "config.toml").storage
    assert storage.is_postgres and storage.password_env == "PINGFAN_PG_PASSWORD"


# --- `pingfan run`: no run lock on PostgreSQL ----------------------------------------------


async def test_a_second_daemon_runs_beside_the_first_on_postgresql(
    tmp_path: Path, postgres_cluster: Cluster, database: str
) -> None:
    """On SQLite the second `pingfan run` stops at once with exit 3 (test_daemon.py); on
    PostgreSQL it opens the database and runs beside the first (which sources each of them
    reads is the workers' leases' business, not this test's)."""
    url = postgres_cluster.url(database)

    def posts() -> int:
        with Store.open_postgres(url) as store:
            return int(store.reports.table_counts()["posts"])

    async with running_sim(requests_per_minute=100_000) as (server, _):
        config = config_from_dict(
            {**daemon_config_dict(server), "storage": {"url": url}}, tmp_path / "config.toml"
        )
        async with in_process_daemon(config) as first:
            options = DaemonOptions(pooled_scoring=False, grace=2, health_port=0)
            second = build_daemon(config, options=options)
            running = asyncio.create_task(second.run())
            try:
                await eventually(
                    lambda: second.store is not None or running.done(),
                    60,
                    "the second daemon opens the database",
                )
                assert not running.done(), running.exception()
                await eventually(lambda: posts() > 0, 60, "the daemons store posts")
                assert not running.done(), running.exception()
                # The first one's /healthz tells its share: it leads, what it holds.
                share = (await healthz(first))["worker"]
                assert share["leading"] is True and share["owner"]
                assert share["identities"] and share["leases"] >= len(share["identities"])
                assert all(key.startswith(("weibo:", "douyin:")) for key in share["identities"])
            finally:
                await _stop(second, running)
    assert not list(tmp_path.rglob("*.lock"))


async def healthz(daemon: Daemon) -> dict[str, Any]:
    url = f"http://127.0.0.1:{daemon.health_port}/healthz"
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        body: dict[str, Any] = await response.json()
    return body


async def _stop(daemon: Daemon, running: asyncio.Task[int]) -> None:
    daemon.request_stop()
    done, _ = await asyncio.wait({running}, timeout=30)
    if not done:  # still waiting for its share of the work: nothing to finish
        running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running


def test_digest_send_on_postgresql_queues_for_the_workers(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    postgres_cluster: Cluster,
    database: str,
) -> None:
    """Several workers share the outbox there: the command queues, a worker sends."""
    url = postgres_cluster.url(database)
    config = make_config(
        tmp_path, storage={"url": url}, sinks=[{"type": "jsonl", "path": "sent.jsonl"}]
    )
    with Store.open_postgres(url) as store:
        fill_week(store)
    now = at("2019-07-16T10:00")
    assert digest_command(config, week="2019-W28", out=None, send=True, now=now) == 0
    out = capsys.readouterr().out
    assert (config.digest.out_dir / "digest-2019-W28.md").exists()
    assert "queued as alert #" in out and "the `pingfan run` workers send it" in out
    assert not (tmp_path / "sent.jsonl").exists()  # nothing sent from here
    assert not (tmp_path / "pingfan.db").exists()  # and nothing read from a SQLite file
    alert_id = int(re.search(r"queued as alert #(\d+)", out)[1])  # type: ignore[index]
    with Store.open_postgres(url) as store:
        (row,) = store.query("SELECT kind FROM alerts WHERE id = ?", [alert_id])
        assert row["kind"] == "digest"
        assert "sent" not in store.outbox.delivery_states(alert_id).values()


def test_every_query_group_runs_on_postgresql(store: Store) -> None:
    """`[storage] url` is accepted because no group of the store is SQLite-only any more."""
    groups = {name for name, value in vars(store).items() if hasattr(value, "sql")}
    assert {"content", "signals", "team", "weekly", "console"} <= groups
    assert groups <= set(POSTGRES_READY)
