"""Issue 8, store items through the CLI: run lock, busy and damaged databases, backup, reindex.

Every failure here is one line on stderr naming the file and the fix, with its documented exit
code (monitor/cli.py), and leaves the stored data as it was.
"""

import inspect
import os
import random
import re
import signal
import sqlite3  # files damaged, locked or read from outside the store, on purpose
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from monitor import cli
from monitor.campaign import campaign_of
from monitor.cli import EXIT_ALREADY_RUNNING, main
from monitor.config import load_config
from monitor.errors import StoreError
from monitor.runlock import AlreadyRunning, RunLock, lock_path
from monitor.store import Store
from monitor.store import connection as store_connection
from monitor.store.connection import Queries
from monitor.store.errors import DatabaseDamaged, QueryFailed, sqlite_errors
from tests.support.factories import comment, post
from tests.support.paths import REPO

PAGE = 4096


def one_line(err: str) -> str:
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def write_config(tmp_path: Path) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(
        '[storage]\npath = "p.db"\n[weibo]\nenabled = false\n[douyin]\nenabled = false\n'
        # The stock SnowNLP model: these tests are about the database, not the shipped model.
        '[nlp]\nmodel = "snownlp"\n',
        encoding="utf-8",
    )
    return config


def fill(db: Path, posts: int = 20) -> dict[str, int]:
    with Store.open(db) as store:
        store.content.save_posts(
            post(str(i), text=f"推荐我们小区的环卫工人 #平凡大连人# {i}") for i in range(posts)
        )
        store.content.save_comments(comment(f"c{i}", post_id=str(i % posts)) for i in range(posts))
        return store.reports.table_counts()


def damaged_message(db: Path, detail: str) -> str:
    return (
        f"pingfan: database {db} is damaged ({detail}); recover with "
        f"`sqlite3 {db} .recover | sqlite3 fixed.db`, or restore the copy `pingfan backup` made\n"
    )


# -- 2. two processes on one database -------------------------------------------------------

HOLD_RUN_LOCK = textwrap.dedent(
    """
    import sys
    from monitor.runlock import RunLock

    lock = RunLock(sys.argv[1])
    lock.acquire()
    print("held", flush=True)
    sys.stdin.read()
    """
)


@contextmanager
def run_lock_held_elsewhere(db: Path) -> Iterator[subprocess.Popen[str]]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_RUN_LOCK, str(db)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert holder.stdout.readline() == "held\n"
        yield holder
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)


def test_run_lock_held_by_another_process_names_the_database_and_its_pid(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    with run_lock_held_elsewhere(db) as holder:
        with pytest.raises(AlreadyRunning) as caught, RunLock(db):
            pytest.fail("two processes hold the run lock")
        assert str(caught.value) == (
            f"another pingfan run/collect is using {db} (pid {holder.pid}); stop it or wait"
        )
        assert caught.value.pid == holder.pid
    with RunLock(db):
        assert lock_path(db).read_text() == f"{os.getpid()}\n"
    assert lock_path(db).read_text() == "", "no stale pid once released"
    assert not db.exists(), "the lock does not create the database"


def test_run_lock_is_free_again_when_its_holder_is_killed(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    with run_lock_held_elsewhere(db) as holder:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
        with RunLock(db):
            pass


def test_run_lock_twice_in_one_process_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    with RunLock(db), pytest.raises(AlreadyRunning, match=f"pid {os.getpid()}"), RunLock(db):
        pass


def test_run_lock_in_an_unwritable_place_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot create the lock file"), RunLock(blocker / "p.db"):
        pass


def test_another_instance_holding_the_database_exits_3_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    db = tmp_path / "p.db"
    fill(db)
    with run_lock_held_elsewhere(db) as holder:
        assert main(["--config", str(config), "reindex"]) == EXIT_ALREADY_RUNNING == 3
    err = one_line(capsys.readouterr().err)
    assert err == (
        f"pingfan: another pingfan run/collect is using {db} (pid {holder.pid}); stop it or wait\n"
    )


HOLD_WRITE_LOCK = textwrap.dedent(
    """
    import sqlite3, sys

    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("PRAGMA locking_mode = EXCLUSIVE")
    conn.execute("BEGIN EXCLUSIVE")
    conn.execute("DELETE FROM posts")  # never committed: the process ends with a rollback
    print("held", flush=True)
    sys.stdin.read()
    """
)


def test_database_is_locked_is_one_line_exit_1_and_loses_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(tmp_path)
    db = tmp_path / "p.db"
    counts = fill(db)
    monkeypatch.setattr(store_connection, "BUSY_TIMEOUT_MS", 200)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITE_LOCK, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert holder.stdout.readline() == "held\n"
        assert main(["--config", str(config), "status"]) == 1
        assert main(["--config", str(config), "export", "posts"]) == 1
    finally:
        holder.stdin.close()
        assert holder.wait(timeout=10) == 0
    busy = f"pingfan: database {db} is busy: another process holds a long write; retry\n"
    assert capsys.readouterr().err == busy * 2
    with Store.open(db) as store:
        assert store.reports.table_counts() == counts


def test_database_is_locked_met_by_a_query_is_one_line_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's lock error, met beneath the store's door, reaches main() as pingfan's."""
    config = write_config(tmp_path)

    def busy(args: object) -> int:
        with sqlite_errors(tmp_path / "p.db"):  # what every query group's method does
            raise sqlite3.OperationalError("database is locked")  # injected beneath the door

    monkeypatch.setitem(cli.HANDLERS, "status", busy)
    assert main(["--config", str(config), "status"]) == 1
    assert capsys.readouterr().err == (
        f"pingfan: database {tmp_path / 'p.db'} is busy: another process holds a long write; "
        "retry\n"
    )


def test_a_bug_in_sql_is_not_disguised_as_a_database_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(tmp_path)

    def bug(args: object) -> int:
        with Store.open(tmp_path / "p.db") as store:
            store.db.execute("DROP TABLE labels")  # damaged from outside: a query now fails
            return len(store.reports.table_counts())

    monkeypatch.setitem(cli.HANDLERS, "status", bug)
    with pytest.raises(QueryFailed, match="no such table: labels") as caught:
        main(["--config", str(config), "status"])
    assert isinstance(caught.value.__cause__, sqlite3.OperationalError)


def test_the_query_groups_raise_pingfans_errors_never_sqlites(tmp_path: Path) -> None:
    with Store.open(tmp_path / "p.db") as store:
        store.db.execute("DROP TABLE watched")  # damaged from outside
        with pytest.raises(QueryFailed, match="no such table: watched") as caught:
            store.watch.watched()
        assert isinstance(caught.value.__cause__, sqlite3.OperationalError)
        store.db.execute("DROP TABLE alerts")
        rows = store.reports.export_rows("alerts")  # streamed: the error comes while reading
        with pytest.raises(QueryFailed, match="no such table: alerts"):
            list(rows)


def test_every_public_query_is_behind_the_door(store: Store) -> None:
    groups = [value for value in vars(store).values() if isinstance(value, Queries)]
    assert len(groups) >= 10, "the store composes its query groups"
    for group in groups:
        for name in dir(group):
            member = getattr(type(group), name, None)
            if not name.startswith("_") and inspect.isfunction(member):
                assert hasattr(member, "__wrapped__"), f"{type(group).__name__}.{name}"


def test_only_sqlite_codes_for_damage_count_not_words_like_malformed() -> None:
    from monitor.store.errors import DatabaseBusy, describe_sqlite_error

    conn = sqlite3.connect(":memory:")
    with pytest.raises(sqlite3.OperationalError) as caught:
        conn.execute("SELECT json_extract('{oops', '$.a')")
    assert "malformed" in str(caught.value)
    assert describe_sqlite_error(caught.value, "p.db") is None, "a bug, not a damaged file"
    by_hand = sqlite3.OperationalError("database is locked")
    assert isinstance(describe_sqlite_error(by_hand, "p.db"), DatabaseBusy)


# -- 3. damaged databases --------------------------------------------------------------------


@pytest.fixture
def damaged(tmp_path: Path) -> tuple[Path, Path]:
    """A real store whose middle pages are overwritten with garbage after a checkpoint."""
    config = write_config(tmp_path)
    db = tmp_path / "p.db"
    with Store.open(db) as store:
        store.enroll(campaign_of(load_config(config)))  # as `collect` left it
        store.content.save_posts(
            post(str(i), text="环卫工人刘阿姨 #平凡大连人# " * 5) for i in range(1500)
        )
        store.content.save_comments(comment(f"c{i}", post_id=str(i % 1500)) for i in range(1500))
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    pages = db.stat().st_size // PAGE
    garbage = random.Random(8)
    with db.open("r+b") as file:
        for page in range(pages // 4, 3 * pages // 4):
            file.seek(page * PAGE)
            file.write(garbage.randbytes(PAGE))
    return config, db


@pytest.fixture
def not_a_database(tmp_path: Path) -> tuple[Path, Path]:
    config = write_config(tmp_path)
    db = tmp_path / "p.db"
    db.write_bytes(random.Random(3).randbytes(64 * 1024))
    return config, db


COMMANDS_ON_A_DAMAGED_DATABASE = [
    ["status"],
    ["export", "posts"],
    ["export", "comments", "--format", "csv"],
    ["collect", "--once"],
]


@pytest.mark.parametrize("command", COMMANDS_ON_A_DAMAGED_DATABASE, ids=" ".join)
def test_damaged_pages_are_one_line_exit_1_and_the_file_is_untouched(
    command: list[str], damaged: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, db = damaged
    before = db.read_bytes()
    assert main(["--config", str(config), *command]) == 1
    err = one_line(capsys.readouterr().err)
    assert err == damaged_message(db, "database disk image is malformed")
    assert db.read_bytes() == before


@pytest.mark.parametrize(
    "command", [*COMMANDS_ON_A_DAMAGED_DATABASE, ["backup", "copy.db"]], ids=" ".join
)
def test_a_file_of_random_bytes_is_one_line_exit_1_and_untouched(
    command: list[str], not_a_database: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, db = not_a_database
    before = db.read_bytes()
    command = [str(config.parent / part) if part == "copy.db" else part for part in command]
    assert main(["--config", str(config), *command]) == 1
    assert one_line(capsys.readouterr().err) == damaged_message(db, "file is not a database")
    assert db.read_bytes() == before
    assert not (config.parent / "copy.db").exists()


def test_a_damaged_database_is_a_doctor_fail_not_a_crash(
    damaged: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, db = damaged
    assert main(["--config", str(config), "doctor"]) == 2
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("[FAIL] database:"))
    assert re.fullmatch(
        rf"\[FAIL\] database: database {re.escape(str(db))} is damaged \(quick_check: Page \d+: "
        r".+ and \d+ more\); recover with `sqlite3 .+ \.recover \| sqlite3 fixed\.db`, or restore "
        r"the copy `pingfan backup` made",
        line,
    ), line
    assert "not ready" in out


def test_a_file_of_random_bytes_is_a_doctor_fail(
    not_a_database: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, db = not_a_database
    assert main(["--config", str(config), "doctor"]) == 2
    out = capsys.readouterr().out
    assert (
        damaged_message(db, "file is not a database").replace("pingfan: ", "[FAIL] database: ")[:-1]
        in out.splitlines()
    )


def test_backup_of_a_damaged_database_refuses_to_make_a_damaged_copy(
    damaged: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    config, db = damaged
    copy = config.parent / "copy.db"
    assert main(["--config", str(config), "backup", str(copy)]) == 1
    err = one_line(capsys.readouterr().err)
    assert err.startswith(f"pingfan: database {db} is damaged (the copy fails quick_check: ")
    assert not copy.exists()
    assert [p.name for p in config.parent.iterdir() if "copy" in p.name] == []


def test_opening_a_file_of_random_bytes_raises_database_damaged(
    not_a_database: tuple[Path, Path],
) -> None:
    with pytest.raises(DatabaseDamaged, match=r"is damaged \(file is not a database\)"):
        Store.open(not_a_database[1])


# -- 4. backup -------------------------------------------------------------------------------


def counts_of(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        tables = [
            name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
    finally:
        conn.close()


def test_backup_copies_the_store_with_the_same_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    db = tmp_path / "p.db"
    fill(db, posts=50)
    copy = tmp_path / "copy.db"
    assert main(["--config", str(config), "backup", str(copy)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"backed up {db} to {copy} (") and out.endswith(
        " bytes, quick_check ok)\n"
    )
    assert counts_of(copy) == counts_of(db)
    assert counts_of(copy)["posts"] == 50
    conn = sqlite3.connect(copy)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete", "one self-contained file"
    conn.close()
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("copy", ".copy"))) == [
        "copy.db"
    ]
    with Store.open(copy) as restored:
        # the copy carries the full-text index: every one of the 50 posts is found in it
        found = {hit.id for hit in restored.content.search("环卫工人", limit=100)}
        assert found == {str(i) for i in range(50)}


def test_backup_refuses_to_overwrite_an_existing_file_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    fill(tmp_path / "p.db")
    copy = tmp_path / "copy.db"
    copy.write_bytes(b"yesterday's copy")
    assert main(["--config", str(config), "backup", str(copy)]) == 2
    err = one_line(capsys.readouterr().err)
    assert (
        err == f"pingfan backup: {copy} exists; pass --force to replace it, or give another path\n"
    )
    assert copy.read_bytes() == b"yesterday's copy"
    assert main(["--config", str(config), "backup", str(copy), "--force"]) == 0
    assert counts_of(copy)["posts"] == 20


def test_backup_onto_the_database_itself_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    db = tmp_path / "p.db"
    counts = fill(db)
    assert main(["--config", str(config), "backup", str(db), "--force"]) == 2
    assert "is the database itself" in one_line(capsys.readouterr().err)
    with Store.open(db) as store:
        assert store.reports.table_counts() == counts


def test_backup_into_a_directory_names_the_copy_by_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    fill(tmp_path / "p.db")
    folder = tmp_path / "backups"
    folder.mkdir()
    assert main(["--config", str(config), "backup", str(folder)]) == 0
    (copy,) = folder.iterdir()
    assert re.fullmatch(r"pingfan-\d{8}-\d{6}\.db", copy.name)
    assert str(copy) in capsys.readouterr().out
    assert counts_of(copy)["posts"] == 20


def test_backup_into_a_missing_directory_or_of_a_missing_database_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    assert main(["--config", str(config), "backup", str(tmp_path / "b.db")]) == 2
    err = one_line(capsys.readouterr().err)
    assert f"no database at {tmp_path / 'p.db'}; nothing to back up" in err
    assert not (tmp_path / "p.db").exists()
    fill(tmp_path / "p.db")
    missing = tmp_path / "no" / "b.db"
    assert main(["--config", str(config), "backup", str(missing)]) == 2
    err = one_line(capsys.readouterr().err)
    assert err == (
        f"pingfan backup: {missing}: directory {missing.parent} does not exist; create it first\n"
    )


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from monitor.store import Store
    from tests.support.factories import post

    db, stop = sys.argv[1], Path(sys.argv[2])
    written = 0
    with Store.open(db) as store:
        while not stop.exists() or written < 50:
            store.content.save_posts([post(f"w{written}", text="写入中 " * 40)])
            written += 1
            if written == 10:
                print("writing", flush=True)
    print(written, flush=True)
    """
)


def test_backup_during_a_concurrent_writer_is_consistent_and_blocks_nobody(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    db = tmp_path / "p.db"
    fill(db, posts=200)
    stop = tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db), str(stop)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None and writer.stderr is not None
    try:
        assert writer.stdout.readline() == "writing\n"
        copies = [tmp_path / f"copy{n}.db" for n in range(3)]
        for copy in copies:
            assert main(["--config", str(config), "backup", str(copy)]) == 0
    finally:
        stop.touch()
        written = int(writer.stdout.readline())
        errors = writer.stderr.read()
        assert writer.wait(timeout=60) == 0, errors
    assert errors == "", errors
    seen = [counts_of(copy) for copy in copies]
    for counts in seen:
        assert 200 + 10 <= counts["posts"] <= 200 + written
        assert counts["post_metrics"] == counts["posts"], "one snapshot: rows and metrics agree"
        conn = sqlite3.connect(copies[0])
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        conn.close()
    assert [c["posts"] for c in seen] == sorted(c["posts"] for c in seen)
    assert counts_of(db)["posts"] == 200 + written


# -- 5. reindex ------------------------------------------------------------------------------


def test_reindex_prints_how_many_rows_were_indexed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    db = tmp_path / "p.db"
    fill(db, posts=7)
    assert main(["--config", str(config), "reindex"]) == 0
    assert capsys.readouterr().out == f"reindexed 14 posts and comments in {db}\n"
    with Store.open(db) as store:
        assert {hit.id for hit in store.content.search("环卫工人")} == {str(i) for i in range(7)}


def test_reindex_of_a_missing_database_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    assert main(["--config", str(config), "reindex"]) == 2
    assert f"no database at {tmp_path / 'p.db'}; nothing to index" in one_line(
        capsys.readouterr().err
    )
    assert not (tmp_path / "p.db").exists()
