"""The store on its two back-ends: the SQL seam (dialect.py), PostgreSQL's schema and
connection, search that finds the same on both, and `[storage] url` still refused."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.errors import StoreError
from monitor.store import POSTGRES_READY, Store
from monitor.store.dialect import POSTGRESQL, SQLITE, params_for, to_pyformat
from monitor.store.errors import DatabaseUnavailable, QueryFailed
from monitor.store.postgres import schema_version, where
from monitor.store.postgres_schema import MIGRATIONS
from tests.support.factories import T0, comment, post
from tests.support.postgres import TEMPLATE, Cluster, NoServer, required_or_skip

# --- the seam: SQLite's SQL as psycopg's --------------------------------------------------


def test_placeholders_become_psycopgs_outside_quotes() -> None:
    assert to_pyformat("SELECT a FROM t WHERE b = ? AND c = ?").sql == (
        "SELECT a FROM t WHERE b = %s AND c = %s"
    )
    named = to_pyformat("SELECT :a, x::text, ':b', \"c:d\" WHERE y LIKE '%z' AND w = :a")
    assert named.sql == "SELECT %(a)s, x::text, ':b', \"c:d\" WHERE y LIKE '%%z' AND w = %(a)s"
    assert named.style == "named"
    numbered = to_pyformat("VALUES (?1, ?2, ?2)")
    assert numbered.sql == "VALUES (%(p1)s, %(p2)s, %(p2)s)"
    assert params_for(numbered.style, ("a", "b")) == {"p1": "a", "p2": "b"}
    assert to_pyformat("SELECT 100 % 7").sql == "SELECT 100 %% 7"
    with pytest.raises(ValueError, match="mixed"):
        to_pyformat("SELECT ?, :a")


def test_the_dialects_differ_only_where_the_sql_does() -> None:
    assert SQLITE.greatest("a", "b") == "max(a, b)"
    assert POSTGRESQL.greatest("a", "b") == "greatest(a, b)"
    assert SQLITE.same("a", "?") == "a IS ?"
    assert POSTGRESQL.same("a", "?") == "a IS NOT DISTINCT FROM ?"
    assert SQLITE.typed(":n", "BIGINT") == ":n"
    assert POSTGRESQL.typed(":n", "BIGINT") == "CAST(:n AS BIGINT)"


@pytest.mark.both_backends
def test_now_is_written_in_the_stored_shape(store: Store) -> None:
    now = next(store.query(f"SELECT {store.sql.dialect.now_iso} AS now"))["now"]
    assert len(now) == len("2026-05-01T08:00:00.123456+00:00") and now.endswith("+00:00")
    assert now[10] == "T"


# --- search: the same hits on both ------------------------------------------------------

CORPUS = (
    ("1", "推荐我们小区的环卫工人刘阿姨 #平凡大连人#"),
    ("2", "星海广场今天堵车太严重了[怒]"),
    ("3", "大连的公交司机真的很暖心，环卫工人也辛苦"),
    ("4", "Dalian 星海广场 FIREWORKS tonight"),
    ("5", "折扣 100% 真的吗 a_b"),
    ("6", "平凡的大连人，不平凡的城市"),
)
QUERIES = (
    "环卫工人",
    "大连",
    "大连人",
    "平凡 大连",
    "星海广场 堵车",
    "fireworks",
    "星海",
    "100%",
    "a_b",
    "%",
    "_",
    "不存在的词语",
    "的",
    '" OR * NEAR(',
)


@pytest.fixture
def postgres_store(postgres_cluster: Cluster) -> Iterator[Store]:
    with postgres_cluster.temporary_url(TEMPLATE) as url, Store.open_postgres(url) as opened:
        yield opened


def test_search_finds_the_same_on_sqlite_and_postgresql(
    tmp_path: Path, postgres_store: Store
) -> None:
    with Store.open(tmp_path / "pingfan.db") as sqlite_store:
        for store in (sqlite_store, postgres_store):
            store.content.save_posts([post(pid, text=text) for pid, text in CORPUS])
            store.content.save_comments([comment(f"c{pid}", text=text) for pid, text in CORPUS])
        for query in QUERIES:
            for kind in ("posts", "comments"):
                on_sqlite = sqlite_store.content.search(query, kind=kind, limit=50)
                on_postgres = postgres_store.content.search(query, kind=kind, limit=50)
                assert {h.id for h in on_postgres} == {h.id for h in on_sqlite}, (query, kind)
                if all(len(word) < 3 for word in query.split()):  # both newest first
                    assert on_postgres == on_sqlite, query
    assert {h.id for h in postgres_store.content.search("环卫工人")} == {"1", "3"}
    assert [h.id for h in postgres_store.content.search("FireWorks")] == ["4"]


def test_postgresql_search_uses_the_trigram_index(postgres_store: Store) -> None:
    postgres_store.content.save_posts([post(str(n), text=f"第{n}条 星海广场") for n in range(50)])
    postgres_store.sql.execute("ANALYZE posts")
    postgres_store.sql.execute("SET enable_seqscan = off")  # a small table: else a scan wins
    plan = "\n".join(
        row["QUERY PLAN"]
        for row in postgres_store.query(
            "EXPLAIN SELECT id FROM posts WHERE text ILIKE ? ESCAPE '\\'", ["%星海广场%"]
        )
    )
    assert "posts_text_trigrams" in plan


# --- PostgreSQL: schema, connection, what is not ported -----------------------------------

# The tables the groups in POSTGRES_READY use: the same columns on both back-ends (a SQLite
# migration that changes one needs its PostgreSQL counterpart in postgres_schema.py).
PORTED_TABLES = (
    "accounts",
    "account_metrics",
    "posts",
    "post_metrics",
    "comments",
    "topic_metrics",
    "cursors",
    "meta",
    "labels",
    "alerts",
    "alert_acks",
    "alert_deliveries",
    "alert_sinks",
    "rule_state",
    "mutes",
    "circuits",
    "sources",
    "watched",
    "comment_hours",
    "web_users",
    "web_sessions",
    "ugc_marks",
    "campaigns",
    "campaign_members",
)


def test_postgresql_schema_has_sqlites_columns(tmp_path: Path, postgres_store: Store) -> None:
    with Store.open(tmp_path / "pingfan.db") as sqlite_store:
        for table in PORTED_TABLES:
            on_sqlite = [
                row["name"]
                for row in sqlite_store.query("SELECT name FROM pragma_table_info(?)", [table])
            ]
            on_postgres = [
                row["column_name"]
                for row in postgres_store.query(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = ?"
                    " ORDER BY ordinal_position",
                    [table],
                )
            ]
            assert sorted(on_postgres) == sorted(on_sqlite), table


def test_reopening_applies_no_migration_twice(postgres_cluster: Cluster) -> None:
    name = postgres_cluster.database()  # empty: the first open migrates it
    try:
        url = postgres_cluster.url(name)
        with Store.open_postgres(url) as first:
            first.content.save_posts([post()])
        with Store.open_postgres(url) as second:
            applied = [row["name"] for row in second.query("SELECT name FROM pingfan_schema")]
            names = [migration for migration, _ in MIGRATIONS]
            assert sorted(applied) == sorted(names)
            assert schema_version(second.sql) == max(names)
            assert second.reports.table_counts()["posts"] == 1
    finally:
        postgres_cluster.drop(name)


def test_the_sqlite_only_door_says_so_on_postgresql(postgres_store: Store) -> None:
    assert "console" in POSTGRES_READY
    with pytest.raises(QueryFailed, match="SQLite only for now"):
        postgres_store.db  # what a group still on `self.db` reaches  # noqa: B018


def test_jieba_index_is_refused_on_postgresql(postgres_store: Store) -> None:
    with pytest.raises(StoreError, match="fts_tokenizer"):
        postgres_store.content.open_index("jieba", None, None)


def test_a_failed_write_rolls_back_on_postgresql(postgres_store: Store) -> None:
    def then_failure() -> Iterator:
        yield comment("1")
        raise RuntimeError("dropped")

    postgres_store.content.save_comments([comment("0")])
    with pytest.raises(RuntimeError):
        postgres_store.content.save_comments(then_failure())
    assert postgres_store.reports.table_counts()["comments"] == 1
    later = T0 + timedelta(hours=1)
    postgres_store.content.save_comments([comment("0", likes=9, observed_at=later)])
    assert next(postgres_store.query("SELECT likes FROM comments"))["likes"] == 9


def test_unreachable_server_is_one_line_without_the_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    from tests.support.postgres import free_port

    url = f"postgresql://pingfan:s3cret-pw@127.0.0.1:{free_port()}/nowhere"
    with pytest.raises(DatabaseUnavailable) as caught:
        Store.open_postgres(url)
    message = str(caught.value)
    assert "\n" not in message and "cannot connect to postgresql://pingfan@127.0.0.1:" in message
    assert "s3cret-pw" not in message and "s3cret-pw" not in caplog.text


def test_password_env_must_be_set(
    postgres_cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PINGFAN_PG_PASSWORD", raising=False)
    with pytest.raises(StoreError, match="PINGFAN_PG_PASSWORD, which is not set"):
        Store.open_postgres(postgres_cluster.url("postgres"), password_env="PINGFAN_PG_PASSWORD")


def test_where_drops_only_the_password() -> None:
    assert where("postgresql://u:pw@db.example:5433/pf") == "postgresql://u@db.example:5433/pf"
    assert where("postgresql://u@db/pf") == "postgresql://u@db/pf"


# --- the fixture: no server fails in CI ------------------------------------------------------


def test_no_server_fails_in_ci_and_skips_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="required in CI"):
        required_or_skip(NoServer("no PostgreSQL server"))
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        required_or_skip(NoServer("no PostgreSQL server"))


def test_a_scorer_waits_for_a_comment_writers_commit_on_postgresql(
    postgres_store: Store,
) -> None:
    """Two workers, one storing comments and one scoring them, each add to the hours' totals
    (comment_hours) in their own order: at once they deadlocked. They take turns instead."""
    five_hours_on = T0 + timedelta(hours=5)
    postgres_store.content.save_comments([comment("1", created_at=five_hours_on)])
    url = postgres_store.sql.where
    with Store.open_postgres(url) as scorer_store, Store.open_postgres(url) as watcher:
        scorer = threading.Thread(
            target=scorer_store.content.set_comment_scores,
            args=([("weibo", "1", 0.9, "positive", "m1")],),
        )

        def waiting_for_the_turn() -> int:
            rows = watcher.query(
                "SELECT count(*) AS n FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'"
            )
            return int(next(rows)["n"])

        with postgres_store.sql.atomic():
            # another hour's row than the scorer's: only the turn keeps the scorer waiting
            postgres_store.content.save_comments([comment("2", created_at=T0)])
            scorer.start()
            for _ in range(300):
                if waiting_for_the_turn() or not scorer.is_alive():
                    break
                time.sleep(0.1)
            assert scorer.is_alive() and waiting_for_the_turn() == 1
        scorer.join(timeout=30)
        assert not scorer.is_alive()
    sentiment = postgres_store.query("SELECT sentiment FROM comments WHERE id = '1'")
    assert next(sentiment)["sentiment"] == 0.9
