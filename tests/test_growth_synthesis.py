"""The growth benchmark's fast synthesis path (benchmarks/growth.py `FastPath`) stores the same
year as the store's own write path: the same schema, the same rows in every table, the same
full-text search answers."""

import random
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from benchmarks.growth import Shape, main, synthesise
from monitor.store import Store
from nlp.search_tokens import jieba_search_tokens
from tests.support.factories import comment

COMMENTS = 2000
# FTS5's own storage: its segments depend on how often it was written, not on what it holds
# (what it holds is compared through search answers below).
_FTS_SEGMENTS = ("posts_fts_data", "posts_fts_idx", "comments_fts_data", "comments_fts_idx")
# Columns that hold the wall-clock time of the run, not synthesised data.
_WALL_CLOCK = {"_sqlite_migrations": "applied_at"}


def _year(path: Path, *, fast: bool) -> Path:
    with Store.open(path, search_tokens=jieba_search_tokens) as store:
        synthesise(store, Shape(COMMENTS), random.Random(7), progress=False, fast=fast)
    return path


@pytest.fixture(scope="module")
def years(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("growth")
    return _year(folder / "write.db", fast=False), _year(folder / "fast.db", fast=True)


def _schema(conn: sqlite3.Connection) -> set[tuple[str, str, str, str | None]]:
    return set(conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master").fetchall())


def _tables(conn: sqlite3.Connection) -> list[str]:
    names = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%'"
        " ORDER BY name"
    ).fetchall()
    return [name for (name,) in names if name not in _FTS_SEGMENTS]


def _rows(conn: sqlite3.Connection, table: str) -> list[tuple[object, ...]]:
    columns = [row[1] for row in conn.execute(f"PRAGMA table_info('{table}')")]
    kept = ", ".join(f'"{c}"' for c in columns if _WALL_CLOCK.get(table) != c)
    return sorted(conn.execute(f'SELECT {kept} FROM "{table}"').fetchall(), key=repr)


def test_the_fast_path_stores_the_same_schema_and_rows(years: tuple[Path, Path]) -> None:
    write_path, fast_path = years
    with closing(sqlite3.connect(write_path)) as write, closing(sqlite3.connect(fast_path)) as fast:
        assert _schema(fast) == _schema(write)
        assert _tables(fast) == _tables(write)
        for table in _tables(write):
            assert _rows(fast, table) == _rows(write, table), table
        counts = fast.execute("SELECT count(*), count(sentiment), count(DISTINCT pk) FROM comments")
        assert counts.fetchone() == (COMMENTS, COMMENTS, COMMENTS)
        for pragma in ("journal_mode", "auto_vacuum", "page_size"):
            got = fast.execute(f"PRAGMA {pragma}").fetchone()
            assert got == write.execute(f"PRAGMA {pragma}").fetchone(), pragma


def test_the_fast_path_answers_full_text_searches_alike(years: tuple[Path, Path]) -> None:
    write_path, fast_path = years
    with (
        Store.open(write_path, search_tokens=jieba_search_tokens) as write,
        Store.open(fast_path, search_tokens=jieba_search_tokens) as fast,
    ):
        texts = [row["text"] for row in fast.query("SELECT text FROM comments WHERE pk % 97 = 0")]
        words = {text[start : start + size] for text in texts for start, size in ((0, 3), (2, 4))}
        words |= {"长安", "不夜城", "西安年最中国", "没有这样的话"}
        found = 0
        for word in sorted(words):
            for kind in ("comments", "posts"):
                got = fast.content.search(word, kind=kind, limit=COMMENTS)
                want = write.content.search(word, kind=kind, limit=COMMENTS)
                assert sorted(got, key=repr) == sorted(want, key=repr), (word, kind)
                found += len(got)
        assert found > len(texts)  # the words are the comments' own: each finds its comment
        fast.db.execute("INSERT INTO comments_fts (comments_fts) VALUES ('integrity-check')")
        # a comment stored after the load is indexed by the triggers the fast path put back
        fast.content.save_comments([comment("after-load", text="载入之后的新评论")])
        assert [hit.id for hit in fast.content.search("之后的新", kind="comments")] == [
            "after-load"
        ]


def test_keep_leaves_the_year_before_retention_and_reuse_measures_a_copy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kept = tmp_path / "kept"
    main(["--comments", "1000", "--keep", str(kept), "--quiet"])
    first = capsys.readouterr().out.splitlines()[-1]
    assert '"comments"' in first
    with closing(sqlite3.connect(kept / "growth.db")) as conn:
        # the full year: no comment added by the rules' rounds, none deleted by retention
        oldest = conn.execute("SELECT min(created_at) FROM comments").fetchone()[0]
        assert oldest < "2025-12-15"
        assert conn.execute("SELECT count(*) FROM comments WHERE id LIKE 'r%'").fetchone() == (0,)
    assert sorted(p.name for p in kept.iterdir()) == ["growth.db"]
    before = (kept / "growth.db").stat().st_mtime_ns
    main(["--reuse", str(kept / "growth.db"), "--keep", str(kept), "--quiet"])
    assert (kept / "growth.db").stat().st_mtime_ns == before
    assert sorted(p.name for p in kept.iterdir()) == ["growth.db"]
