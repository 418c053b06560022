"""The compact jieba dictionary cuts exactly as stock jieba does, for a fraction of the memory."""

from __future__ import annotations

import json
import logging
from functools import cache
from importlib import resources

import jieba
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nlp.dictionary import CompactTokenizer, idf_table, pack_tables


@cache
def _stock() -> jieba.Tokenizer:
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return tokenizer


def _seed_texts() -> list[str]:
    source = resources.files("nlp").joinpath("data/social_seed.jsonl")
    return [json.loads(line)["text"] for line in source.read_text("utf-8").splitlines() if line]


def test_cuts_every_seed_text_as_jieba_does() -> None:
    compact, stock = CompactTokenizer(), _stock()
    texts = _seed_texts()
    assert len(texts) > 800
    for text in texts:
        assert compact.lcut(text) == stock.lcut(text), text
        assert compact.lcut(text, HMM=False) == stock.lcut(text, HMM=False), text
        assert compact.lcut_for_search(text) == stock.lcut_for_search(text), text
        assert compact.lcut(text, cut_all=True) == stock.lcut(text, cut_all=True), text


# Common characters, so that random strings hit many dictionary words and prefixes.
_COMMON = "的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运武半候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黄德收脸钱党倒未持取设始版双历越史商千片容研像找友孩站广改议形委早房音火际则首单据导影失拿网香似斯专石若兵弟谁校读志飞观争究包组造落视济喜离虽坏兴切装标吧"  # noqa: E501


# Added words that overlap each other and the dictionary; one dictionary word deleted.
_ADDED = {"平凡大连人": 200_000, "大连人": 200_000, "大连": 5, "连人民": 90_000, "人": 3}
_DELETED = ("中国", "一个")


@cache
def _pair_with_added_words() -> tuple[CompactTokenizer, jieba.Tokenizer]:
    compact, stock = CompactTokenizer(), jieba.Tokenizer()
    stock.initialize()
    for tokenizer in (compact, stock):
        for word, count in _ADDED.items():
            tokenizer.add_word(word, freq=count)
        for word in _DELETED:
            tokenizer.del_word(word)
    return compact, stock


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=_COMMON + "平凡连人民，。！？ abc123", max_size=60))
def test_cuts_random_text_as_jieba_does(text: str) -> None:
    compact, stock = CompactTokenizer(), _stock()
    assert compact.lcut(text) == stock.lcut(text)
    assert compact.lcut_for_search(text) == stock.lcut_for_search(text)
    compact, stock = _pair_with_added_words()
    assert compact.lcut(text) == stock.lcut(text)
    assert compact.lcut(text, HMM=False) == stock.lcut(text, HMM=False)
    assert compact.lcut_for_search(text) == stock.lcut_for_search(text)


def test_added_and_deleted_words_behave_as_in_jieba() -> None:
    compact, stock = CompactTokenizer(), jieba.Tokenizer()
    stock.initialize()
    text = "平凡大连人在星海广场看不平凡的城市"
    for tokenizer in (compact, stock):
        tokenizer.add_word("平凡大连人", freq=200_000)
        tokenizer.add_word("不平凡的城市", freq=200_000)
        tokenizer.del_word("广场")
    assert compact.lcut(text) == stock.lcut(text)
    assert "平凡大连人" in compact.lcut(text) and "不平凡的城市" in compact.lcut(text)
    assert "广场" not in compact.lcut("广场")


def test_words_added_to_one_tokenizer_stay_in_it() -> None:
    first, second = CompactTokenizer(), CompactTokenizer()
    first.add_word("棒棰岛夜跑团", freq=200_000)
    assert "棒棰岛夜跑团" in first.lcut("我们棒棰岛夜跑团出发")
    assert "棒棰岛夜跑团" not in second.lcut("我们棒棰岛夜跑团出发")


def test_frequency_table_answers_as_jiebas_dict() -> None:
    table, stock = CompactTokenizer().FREQ, _stock().FREQ
    for fragment in ("大连", "大", "平凡", "星海广", "𠀋𠀋", "", "xyz", "中华人民共和"):
        assert (fragment in table) == (fragment in stock), fragment
        assert (table.get(fragment) or 0) == (stock.get(fragment) or 0), fragment
    assert len(table) == sum(1 for count in stock.values() if count)  # words, not prefixes


def test_a_custom_dictionary_is_refused() -> None:
    with pytest.raises(ValueError, match="jieba's own dictionary"):
        CompactTokenizer().initialize("/tmp/other-dict.txt")


def test_idf_table_holds_jiebas_weights() -> None:
    idf = idf_table()
    median = idf.median
    assert len(idf) > 250_000
    assert 0 < median < 20
    assert idf.get("大连", 0.0) > 0
    assert idf.get("这个词不在表里", median) == median
    assert idf.get("的", 0.0) < idf.get("棒棰岛", median)


def test_tables_packed_in_one_process_install_in_another() -> None:
    import pickle
    import subprocess
    import sys

    # The daemon builds the tables in a spawned process; here: pickled out of this one into
    # a fresh interpreter, which must cut with them exactly as it would have built them.
    blob = pickle.dumps(pack_tables())
    code = (
        "import pickle, sys; from nlp import dictionary as d;"
        "d.install(pickle.loads(sys.stdin.buffer.read()));"
        "assert d.installed();"
        "print('|'.join(d.CompactTokenizer().lcut('大连星海广场的夜景真的绝了')),"
        " round(d.idf_table().get('大连', 0.0), 4))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], input=blob, capture_output=True, check=True
    ).stdout.decode()
    words, weight = out.split()
    assert words.split("|") == _stock().lcut("大连星海广场的夜景真的绝了")
    assert float(weight) == round(idf_table().get("大连", 0.0), 4)
