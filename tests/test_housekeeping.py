"""Housekeeping of a long-running file (monitor/store/housekeeping.py): retention in batches
off the loop, incremental vacuum, WAL checkpoints, statistics, and what `pingfan doctor`
says of the file; on PostgreSQL, the same retention, and the rest left to autovacuum."""

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.store import Store
from monitor.store.housekeeping import (
    PURGE_MAX_BATCH,
    STEP_TARGET_S,
    checkpoint,
    file_facts,
    next_step_size,
    optimize_statistics,
    purge_comments,
    release_free_pages,
    take_over_checkpoints,
    vacuum_one_step,
)
from tests.support.factories import T0, comment
from tests.support.postgres import Cluster

NOW = T0 + timedelta(days=201)
LONG_TEXT = "环卫工人刘阿姨每天清晨五点就开始打扫街道，辛苦了，感谢她的付出" * 20


def _old_and_new(store: Store, old: int, new: int) -> None:
    store.content.save_comments(
        [comment(f"old{n}", text=f"{LONG_TEXT}{n}") for n in range(old)]
        + [
            comment(f"new{n}", text=f"新的评论{n}", created_at=T0 + timedelta(days=200))
            for n in range(new)
        ]
    )


@pytest.mark.both_backends
def test_retention_in_batches_deletes_old_comments_their_index_rows_and_labels(
    store: Store,
) -> None:
    _old_and_new(store, old=7, new=2)
    store.labels.add_label(f"{LONG_TEXT}3", "negative", platform="weibo", comment_id="old3")
    store.labels.add_label("新的评论0", "positive", platform="weibo", comment_id="new0")
    assert store.content.search("环卫工人", kind="comments", limit=50)

    assert asyncio.run(purge_comments(store, 180, NOW, max_batch=3)) == 7

    ids = [r["id"] for r in store.query("SELECT id FROM comments ORDER BY id")]
    assert ids == ["new0", "new1"]
    assert store.content.search("环卫工人", kind="comments", limit=50) == []
    assert {h.id for h in store.content.search("新的评论", kind="comments")} == {"new0", "new1"}
    assert [r["comment_id"] for r in store.query("SELECT comment_id FROM labels")] == ["new0"]


def _fts_rowids(store: Store) -> set[int]:
    return {row[0] for row in store.db.execute("SELECT rowid FROM comments_fts")}


@pytest.mark.parametrize("on_file", [True, False], ids=["file", "memory"])
def test_retention_deletes_exactly_the_expired_rows_while_a_reader_on_the_loop_runs_between_batches(
    tmp_path: Path, on_file: bool
) -> None:
    with Store.open(tmp_path / "p.db" if on_file else ":memory:") as store:
        _old_and_new(store, old=30, new=4)
        store.labels.add_label(f"{LONG_TEXT}5", "negative", platform="weibo", comment_id="old5")
        store.labels.add_label("新的评论1", "positive", platform="weibo", comment_id="new1")
        store.labels.add_label("团队自己写的例句", "neutral")  # no comment: stays
        kept = {row[0] for row in store.db.execute("SELECT pk FROM comments WHERE id LIKE 'new%'")}
        seen: list[int] = []

        async def both() -> int:
            purge = asyncio.create_task(purge_comments(store, 180, NOW, max_batch=3))
            while not purge.done():  # the loop's own connection, reading as the console does
                seen.append(store.db.execute("SELECT count(*) FROM comments").fetchone()[0])
                await asyncio.sleep(0.001)
            return await purge

        assert asyncio.run(both()) == 30
        # every batch of 3 was its own transaction, and the reader ran after each of them
        assert {34 - 3 * k for k in range(1, 10)} <= set(seen)
        assert seen == sorted(seen, reverse=True)
        ids = {row[0] for row in store.db.execute("SELECT id FROM comments")}
        assert ids == {"new0", "new1", "new2", "new3"}
        assert _fts_rowids(store) == kept
        docsizes = {row[0] for row in store.db.execute("SELECT id FROM comments_fts_docsize")}
        assert docsizes == kept
        store.db.execute("INSERT INTO comments_fts (comments_fts) VALUES ('integrity-check')")
        assert store.db.execute("SELECT count(*) FROM comments_fts_pending").fetchone() == (0,)
        labels = {row[0] for row in store.db.execute("SELECT text FROM labels")}
        assert labels == {"新的评论1", "团队自己写的例句"}


def test_each_batch_is_sized_for_the_target_from_the_last_ones_pace() -> None:
    per_target = int(STEP_TARGET_S / 0.001)  # comments in the target at 1 ms a comment
    assert next_step_size(per_target, per_target, per_target * 0.001, most=2000) == per_target
    fast, slow = STEP_TARGET_S / 100, STEP_TARGET_S * 100  # for 100 comments
    assert next_step_size(100, 100, fast, most=2000) == 200  # fast: at most doubles
    assert next_step_size(100, 100, slow, most=2000) == 10  # slow: shrinks, to 10 at least
    assert next_step_size(1500, 1500, 0.001, most=PURGE_MAX_BATCH) == PURGE_MAX_BATCH
    assert next_step_size(3, 3, 0.0, most=3) == 3  # a cap below 10 holds
    assert next_step_size(50, 0, 0.5, most=2000) == 50  # nothing done: nothing learnt


def test_a_vacuum_step_hands_back_as_many_pages_as_asked(store: Store) -> None:
    _old_and_new(store, old=300, new=1)
    store.content.purge_expired_comments(180, now=NOW)
    conn = store.db.conn
    free = file_facts(store).free_pages
    assert free > 40
    assert vacuum_one_step(conn, 25) == free - 25
    assert vacuum_one_step(conn, 10) == free - 35


@pytest.mark.both_backends
def test_retention_in_batches_keeps_everything_at_zero_days(store: Store) -> None:
    _old_and_new(store, old=3, new=1)
    assert asyncio.run(purge_comments(store, 0, NOW)) == 0
    assert store.reports.table_counts()["comments"] == 4


def test_retention_in_batches_works_in_memory_too() -> None:
    with Store.open(":memory:") as store:
        _old_and_new(store, old=5, new=1)
        assert asyncio.run(purge_comments(store, 180, NOW, max_batch=2)) == 5
        assert [r["id"] for r in store.query("SELECT id FROM comments")] == ["new0"]


@pytest.mark.both_backends
def test_retention_goes_on_while_the_loop_writes(store: Store) -> None:
    """The loop's own writes are not refused while batches are deleted in a thread."""
    _old_and_new(store, old=40, new=0)

    async def both() -> int:
        purge = asyncio.create_task(purge_comments(store, 180, NOW, max_batch=4))
        for n in range(20):
            store.content.save_comments([comment(f"live{n}", created_at=T0 + timedelta(days=200))])
            await asyncio.sleep(0)
        return await purge

    assert asyncio.run(both()) == 40
    assert store.reports.table_counts()["comments"] == 20


def test_a_new_file_hands_freed_pages_back_after_retention(store: Store) -> None:
    _old_and_new(store, old=300, new=1)
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    before = file_facts(store)
    assert before.auto_vacuum == "incremental"

    asyncio.run(purge_comments(store, 180, NOW))
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    after = file_facts(store)
    assert after.free_pages == 0
    assert after.pages < before.pages * 0.5
    assert Path(store.path).stat().st_size < before.bytes * 0.5


def test_free_pages_stay_in_a_file_made_without_incremental_vacuum(tmp_path: Path) -> None:
    """An older file (auto_vacuum none) reuses its free pages; nothing is handed back."""
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as older:  # a file written before pingfan set auto_vacuum
        older.execute("CREATE TABLE written_before (x)")
    older.close()
    with Store.open(path) as store:
        assert file_facts(store).auto_vacuum == "none"
        _old_and_new(store, old=300, new=1)
        asyncio.run(purge_comments(store, 180, NOW))
        assert asyncio.run(release_free_pages(store)) == 0
        assert file_facts(store).free_pages > 0


def test_a_passive_checkpoint_copies_the_wal_into_the_file(store: Store) -> None:
    take_over_checkpoints(store)
    _old_and_new(store, old=50, new=0)
    assert file_facts(store).wal_bytes > 0
    frames, copied = asyncio.run(checkpoint(store))
    assert frames > 0
    assert copied == frames


def test_optimize_gathers_statistics_for_the_tables_queried(store: Store) -> None:
    _old_and_new(store, old=50, new=50)
    store.db.execute(
        "SELECT count(*) FROM comments WHERE platform = 'weibo' AND created_at > ?", ("2019",)
    ).fetchall()
    optimize_statistics(store)
    analysed = {r["tbl"] for r in store.query("SELECT tbl FROM sqlite_stat1")}
    assert "comments" in analysed


def test_doctor_reports_the_file_size_and_free_pages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Store.open(tmp_path / "p.db") as store:
        _old_and_new(store, old=30, new=1)
    config = tmp_path / "config.toml"
    config.write_text('[storage]\npath = "p.db"\n', encoding="utf-8")
    main(["doctor", "--config", str(config)])
    lines = [line for line in capsys.readouterr().out.splitlines() if "database file" in line]
    assert len(lines) == 1
    assert lines[0].startswith("[ok  ] database file: ")
    assert " free pages (" in lines[0]
    assert "auto_vacuum incremental" in lines[0]
    reported = lines[0].removeprefix("[ok  ] database file: ").split(" (WAL ")[0]
    number, unit = reported.split()
    scale = {"B": 1, "KB": 1e3, "MB": 1e6}[unit]
    assert float(number) * scale >= (tmp_path / "p.db").stat().st_size * 0.95


def test_on_postgresql_retention_runs_in_batches_and_the_file_steps_do_nothing(
    postgres_cluster: Cluster,
) -> None:
    """The daemon's retention loop calls these in turn: on PostgreSQL the purge deletes in
    batches of its own transactions (a reader between them), the SQLite steps are no-ops."""
    name = postgres_cluster.database(template="pingfan_template")
    try:
        with Store.open_postgres(postgres_cluster.url(name)) as store:
            _old_and_new(store, old=9, new=2)
            seen: list[int] = []

            async def both() -> int:
                purge = asyncio.create_task(purge_comments(store, 180, NOW, max_batch=2))
                while not purge.done():
                    seen.append(store.reports.table_counts()["comments"])
                    await asyncio.sleep(0)
                return await purge

            take_over_checkpoints(store)
            assert asyncio.run(both()) == 9
            assert {11 - 2 * k for k in range(1, 5)} <= set(seen)  # a batch at a time
            assert store.reports.table_counts()["comments"] == 2
            assert asyncio.run(checkpoint(store)) == (0, 0)
            assert asyncio.run(release_free_pages(store)) == 0
            optimize_statistics(store)
            assert store.reports.table_counts()["comments"] == 2
    finally:
        postgres_cluster.drop(name)
