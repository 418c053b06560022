"""Full-text search: the tokenizer comes from the caller, indexes and searches alike, and the
index follows the rows (inserts, edits, retention) and the configured tokenizer."""

from __future__ import annotations

import logging
import sqlite3  # builds a database of an older schema from outside the store
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.config import config_from_dict
from monitor.errors import StoreError
from monitor.store import Store
from monitor.store.migrations import migrations
from nlp.search_tokens import jieba_search_tokens
from nlp.segment import tokenizer as process_wide_jieba
from tests.support.factories import T0, comment, post

# A place jieba's own dictionary does not hold: without it in the lexicon, jieba cuts it up.
PARK = "东北虎林园"


def fts_rowids(store: Store, kind: str, phrase: str) -> list[int]:
    """What the index itself holds for `phrase` (no join with the content table)."""
    column = "text" if store.content.fts_tokenizer == "trigram" else "tokens"
    quoted = '"' + phrase + '"'
    rows = store.db.execute(
        f"SELECT rowid FROM {kind}_fts WHERE {kind}_fts MATCH ?", (f"{column}: {quoted}",)
    ).fetchall()
    return [rowid for (rowid,) in rows]


def fts_sql(store: Store, kind: str) -> str:
    row = store.db.execute("SELECT sql FROM sqlite_master WHERE name = ?", (f"{kind}_fts",))
    return str(row.fetchone()[0])


def meta(store: Store) -> dict[str, str]:
    return {r["key"]: r["value"] for r in store.query("SELECT key, value FROM meta")}


def test_a_new_database_is_indexed_with_trigram(store: Store) -> None:
    assert store.content.fts_tokenizer == "trigram"
    assert meta(store)["fts_tokenizer"] == "trigram"
    assert "tokenize='trigram'" in fts_sql(store, "comments")


def test_trigram_finds_substrings_that_jieba_cuts_apart(store: Store) -> None:
    store.content.save_posts(
        [
            post("1", text="我们都是平凡大连人，致敬环卫工人"),
            post("2", text="大连人民欢迎你"),  # jieba: 大连 / 人民, no 大连人 token
            post("3", text="星海广场的夜景"),
        ]
    )
    assert sorted(h.id for h in store.content.search("大连人")) == ["1", "2"]
    assert [h.id for h in store.content.search("平凡大连人")] == ["1"]
    assert [h.id for h in store.content.search("海广场")] == ["3"]
    assert [h.id for h in store.content.search("广场 夜景")] == ["3"]  # every word must be there
    assert store.content.search("广场 大连人") == []


def test_short_queries_scan_with_like_and_wildcards_are_literal(store: Store) -> None:
    store.content.save_comments(
        [
            comment("a", text="支持率100%", created_at=T0),
            comment("b", text="snake_case 和 堵车", created_at=T0 + timedelta(hours=1)),
            comment("c", text="一切正常", created_at=T0 + timedelta(hours=2)),
            comment("d", text="路径 C:\\temp", created_at=T0 + timedelta(hours=3)),
        ]
    )

    def ids(query: str) -> list[str]:
        return [h.id for h in store.content.search(query, kind="comments")]

    assert ids("%") == ["a"]
    assert ids("_") == ["b"]
    assert ids("\\") == ["d"]
    assert ids("堵车") == ["b"]
    assert ids("正") == ["c"]
    assert ids("堵车 _") == ["b"]  # two short words: both LIKEs
    assert ids("100%") == ["a"]  # four characters: the trigram index
    assert ids("   ") == []


def test_short_query_hits_come_newest_first(store: Store) -> None:
    store.content.save_comments(
        [comment(str(i), text=f"第{i}次堵车", created_at=T0 + timedelta(hours=i)) for i in range(5)]
    )
    assert [h.id for h in store.content.search("堵车", kind="comments", limit=3)] == ["4", "3", "2"]


@given(
    texts=st.lists(st.text(alphabet="大连人平凡%_\\\"'[]# 1", max_size=12), min_size=1, max_size=6),
    data=st.data(),
)
def test_trigram_search_is_exactly_substring_search(texts: list[str], data: st.DataObject) -> None:
    with Store.open(":memory:") as store:
        store.content.save_comments([comment(str(i), text=t) for i, t in enumerate(texts)])
        source = data.draw(st.sampled_from(texts))
        start = data.draw(st.integers(0, len(source)))
        query = source[start : data.draw(st.integers(start, len(source)))].strip()
        if not query or " " in query:
            return
        found = {h.id for h in store.content.search(query, kind="comments", limit=100)}
        assert found == {str(i) for i, t in enumerate(texts) if query in t}


def test_edited_text_leaves_the_index_in_step(store: Store) -> None:
    store.content.save_posts([post("1", text="原来的文字内容")])
    pk = store.db.execute("SELECT pk FROM posts").fetchone()[0]
    store.content.save_posts([post("1", text="修改后的内容")])
    store.content.save_posts(
        [post("1", text="修改后的内容", likes=99)]
    )  # same text: not re-indexed
    assert fts_rowids(store, "posts", "原来的") == []
    assert fts_rowids(store, "posts", "修改后") == [pk]
    assert [h.id for h in store.content.search("修改后")] == ["1"]


@pytest.mark.parametrize("tokenizer", ["trigram", "jieba"])
def test_retention_removes_comments_from_the_index(tmp_path: Path, tokenizer: str) -> None:
    with Store.open(
        tmp_path / "r.db", fts_tokenizer=tokenizer, search_tokens=jieba_search_tokens
    ) as store:  # type: ignore[arg-type]
        store.content.save_comments(
            [
                comment("old", text="公交司机真的很暖心"),
                comment("new", text="公交司机辛苦了", created_at=T0 + timedelta(days=200)),
            ]
        )
        assert len(fts_rowids(store, "comments", "公交司机")) == 2
        assert store.content.purge_expired_comments(180, now=T0 + timedelta(days=201)) == 1
        kept = store.db.execute("SELECT pk FROM comments").fetchone()[0]
        assert fts_rowids(store, "comments", "公交司机") == [kept]
        assert [h.id for h in store.content.search("公交司机", kind="comments")] == ["new"]


def test_jieba_mode_searches_with_its_own_tokenizer(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with Store.open(path, fts_tokenizer="jieba", search_tokens=jieba_search_tokens) as store:
        store.content.save_posts(
            [post("1", text=f"周末去{PARK}看老虎"), post("2", text="大连人民欢迎你")]
        )
        # Scoring adds the campaign lexicon to the process-wide jieba later in the same process;
        # the index and its searches must not change with it.
        process_wide_jieba([PARK])
        assert [h.id for h in store.content.search(PARK)] == ["1"]
        assert [h.id for h in store.content.search("大连")] == ["2"]
        assert meta(store)["fts_tokenizer"] == "jieba"


def test_a_new_lexicon_rebuilds_the_jieba_index_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "j.db"
    with Store.open(path, fts_tokenizer="jieba", search_tokens=jieba_search_tokens) as store:
        store.content.save_posts([post("1", text=f"周末去{PARK}看老虎")])
        assert fts_rowids(store, "posts", PARK) == []  # not a word yet: cut into pieces
        before = meta(store)["fts_fingerprint"]
    caplog.set_level(logging.INFO, logger="monitor.store")
    with Store.open(
        path, fts_tokenizer="jieba", lexicon=[PARK], search_tokens=jieba_search_tokens
    ) as store:
        assert len(fts_rowids(store, "posts", PARK)) == 1
        assert [h.id for h in store.content.search(PARK)] == ["1"]
        assert meta(store)["fts_fingerprint"] != before
    rebuilt = [r for r in caplog.records if "full-text index rebuilt" in r.getMessage()]
    assert len(rebuilt) == 1
    assert rebuilt[0].levelno == logging.INFO
    assert "jieba" in rebuilt[0].getMessage()
    caplog.clear()
    # Same settings, or none at all: the stored tokenizer and lexicon are kept, no rebuild.
    with Store.open(
        path, fts_tokenizer="jieba", lexicon=[PARK], search_tokens=jieba_search_tokens
    ) as store:
        pass
    with Store.open(path, search_tokens=jieba_search_tokens) as store:
        assert store.content.fts_tokenizer == "jieba"
        assert [h.id for h in store.content.search(PARK)] == ["1"]
    assert not [r for r in caplog.records if "full-text index" in r.getMessage()]


def test_switching_tokenizer_rebuilds_both_tables(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with Store.open(path, search_tokens=jieba_search_tokens) as store:
        store.content.save_posts([post("1", text="推荐我们小区的环卫工人刘阿姨")])
        store.content.save_comments([comment("c1", text="刘阿姨辛苦了[心]")])
    with Store.open(path, fts_tokenizer="jieba", search_tokens=jieba_search_tokens) as store:
        assert [h.id for h in store.content.search("环卫工人")] == ["1"]
        assert [h.id for h in store.content.search("辛苦", kind="comments")] == ["c1"]
        assert "tokenize" not in fts_sql(store, "comments")
        store.content.save_comments([comment("c2", text="环卫工人辛苦了")])
    with Store.open(path, fts_tokenizer="trigram", search_tokens=jieba_search_tokens) as store:
        assert meta(store)["fts_tokenizer"] == "trigram"
        assert "tokenize='trigram'" in fts_sql(store, "posts")
        assert [h.id for h in store.content.search("环卫工人")] == ["1"]
        assert sorted(h.id for h in store.content.search("辛苦了", kind="comments")) == ["c1", "c2"]


@pytest.mark.parametrize("tokenizer", ["trigram", "jieba"])
def test_a_save_indexes_its_rows_before_it_commits(tmp_path: Path, tokenizer: str) -> None:
    with Store.open(
        tmp_path / "q.db", fts_tokenizer=tokenizer, search_tokens=jieba_search_tokens
    ) as store:  # type: ignore[arg-type]
        # The same comment twice in one page, edited in between: the index holds the last text.
        store.content.save_comments(
            [comment("c1", text="第一版的文字"), comment("c1", text="第二版的文字")]
        )
        assert [h.id for h in store.content.search("第二版", kind="comments")] == ["c1"]
        assert store.content.search("第一版", kind="comments") == []
        for table in ("posts", "comments"):
            queued = store.db.execute(f"SELECT count(*) FROM {table}_fts_pending").fetchone()
            assert queued[0] == 0
        # A row written past the store is queued by the triggers and indexed by the next save.
        store.db.execute(
            "INSERT INTO comments (platform, id, post_id, author_id, text, created_at,"
            " first_seen, observed_at) VALUES ('weibo', 'raw', 'p', 'a', '星海广场放烟花',"
            " '2019-07-06T02:00:00+00:00', '2019-07-06T02:00:00+00:00', 'x')"
        )
        store.content.save_comments([])
        assert [h.id for h in store.content.search("星海广场", kind="comments")] == ["raw"]


@pytest.mark.parametrize("tokenizer", ["trigram", "jieba"])
def test_reindex_returns_rows_indexed(tmp_path: Path, tokenizer: str) -> None:
    with Store.open(
        tmp_path / "x.db", fts_tokenizer=tokenizer, search_tokens=jieba_search_tokens
    ) as store:  # type: ignore[arg-type]
        store.content.save_posts([post("1", text="星海广场看海"), post("2", text="棒棰岛的日出")])
        store.content.save_comments([comment("c1", text="星海广场人太多了")])
        assert store.content.reindex() == 3
        assert [h.id for h in store.content.search("星海广场")] == ["1"]
        assert [h.id for h in store.content.search("星海广场", kind="comments")] == ["c1"]


def test_an_unknown_tokenizer_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="trigram, jieba"):
        Store.open(tmp_path / "u.db", fts_tokenizer="bigram")  # type: ignore[arg-type]


def test_for_config_uses_the_configured_tokenizer_and_lexicon(tmp_path: Path) -> None:
    config = config_from_dict(
        {"storage": {"path": "c.db", "fts_tokenizer": "jieba"}, "nlp": {"lexicon": [PARK]}},
        tmp_path / "config.toml",
    )
    with Store.for_config(config, search_tokens=jieba_search_tokens) as store:
        assert store.content.fts_tokenizer == "jieba"
        assert meta(store)["fts_lexicon"] == f'["{PARK}"]'
    default = config_from_dict({"storage": {"path": "d.db"}}, tmp_path / "config.toml")
    with Store.for_config(default, search_tokens=jieba_search_tokens) as store:
        assert store.content.fts_tokenizer == "trigram"


class CharacterTokens:
    """A tokenizer of the test's own: every character a token (the store must use it)."""

    def __init__(self, lexicon: Iterable[str]) -> None:
        self.lexicon = tuple(lexicon)
        self.fingerprint = "characters:" + ",".join(self.lexicon)

    def __call__(self, text: str) -> list[str]:
        return [character for character in text if not character.isspace()]


def test_the_jieba_index_is_built_and_searched_with_the_tokens_it_is_handed(
    tmp_path: Path,
) -> None:
    path = tmp_path / "handed.db"
    with Store.open(path, fts_tokenizer="jieba", search_tokens=CharacterTokens) as store:
        store.content.save_posts([post("1", text="大连人民欢迎你")])
        tokens = store.db.execute("SELECT tokens FROM posts_fts").fetchone()[0]
        assert tokens == "大 连 人 民 欢 迎 你"
        # "民欢" is no jieba word: only the handed tokenizer finds the post by it
        assert [hit.id for hit in store.content.search("民欢")] == ["1"]
        assert meta(store)["fts_fingerprint"] == "characters:"


def test_a_jieba_index_opened_without_its_tokens_says_what_is_missing(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    with Store.open(path, fts_tokenizer="jieba", search_tokens=jieba_search_tokens):
        pass
    with pytest.raises(StoreError, match="jieba's shape: open the store with its search tokens"):
        Store.open(path)
    with Store.open(path, fts_tokenizer="trigram") as store:  # a trigram index needs none
        assert store.content.fts_tokenizer == "trigram"


def test_a_database_from_before_the_tokenizer_choice_is_indexed_on_open(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    from sqlite_utils import Database

    legacy = Database(old)
    migrations.apply(legacy, stop_before="m030_fts_built_by_the_store")
    old.execute(
        "INSERT INTO posts (platform, id, author_id, author_name, author_kind, text, created_at,"
        " topics, mentions, is_original, first_seen, observed_at) VALUES ('weibo', '1', 'a',"
        " '小王', 'user', '致敬平凡大连人', '2019-07-06T02:00:00+00:00', '[]', '[]', 1,"
        " '2019-07-06T02:00:00+00:00', '2019-07-06T02:00:00+00:00')"
    )
    old.execute("INSERT INTO posts_fts (rowid, tokens) VALUES (1, '致敬 平凡 大连')")
    old.commit()
    old.close()
    caplog.set_level(logging.INFO, logger="monitor.store")
    with Store.open(path, search_tokens=jieba_search_tokens) as store:
        assert [h.id for h in store.content.search("平凡大连人")] == ["1"]
    assert any("was none: 1 rows" in r.getMessage() for r in caplog.records)
