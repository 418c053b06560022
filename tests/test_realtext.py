"""Real text for training: LCCC utterances with weak labels (nlp.realtext)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from monitor.nlp_realdata import draw, split_texts
from nlp.realtext import (
    SPLITS,
    despace,
    human_examples,
    lccc_examples,
    reread_examples,
    weak_label,
)
from nlp.sentiment import LABELS, default_model
from nlp.shares import shares_calibration
from nlp.training import SEED_WEIGHT, base_examples, seed_examples


def test_despace_joins_characters_and_keeps_latin_words() -> None:
    assert despace("今 天 星 期 五 ？") == "今天星期五？"
    assert despace("我 用 iphone 8 plus 拍 的") == "我用iphone 8 plus拍的"


def test_weak_labels_follow_clear_cues_and_skip_mixed_text() -> None:
    assert weak_label("这家店真好吃，太开心了") == "positive"
    assert weak_label("太失望了，垃圾") == "negative"
    assert weak_label("今天星期五？") == "neutral"
    assert weak_label("开心但是很失望") is None  # both ways: left out
    assert weak_label("哈") is None  # too short to say


def test_shipped_splits_are_disjoint_and_hold_every_class() -> None:
    texts = {split: {e.text for e in lccc_examples(split)} for split in SPLITS}
    assert not texts["train"] & texts["test"]
    assert not texts["train"] & texts["dev"]
    assert not texts["dev"] & texts["test"]
    for split in SPLITS:
        counts = Counter(e.label for e in lccc_examples(split))
        assert all(counts[label] >= 100 for label in LABELS), (split, counts)


def test_shipped_model_is_calibrated_and_says_how_it_does_on_real_text() -> None:
    model = default_model()
    assert model.temperature > 0 and model.temperature != 1.0
    for key in ("real_test_macro_f1", "real_test_neutral_f1", "real_test_ece"):
        assert 0.0 <= model.metrics[key] <= 1.0
    assert model.metrics["real_test_lines"] == len(human_examples("test"))


def test_hand_labelled_dev_and_test_texts_are_never_training_texts() -> None:
    train = {e.text for e in human_examples("train")} | {e.text for e in lccc_examples("train")}
    for split in ("dev", "test"):
        held = {e.text for e in human_examples(split)}
        assert len(held) >= 300 and not held & train, split


def test_second_reading_covers_dev_utterances_only_and_every_class() -> None:
    """The re-read labels measure the labels' consistency: each is a dev utterance labelled
    once before (never a training or test text), and no line is read twice."""
    again = reread_examples()
    dev = {e.text for e in human_examples("dev")}
    texts = [e.text for e in again]
    assert len(texts) == len(set(texts)) == 200
    assert set(texts) <= dev
    assert {e.label for e in again} == set(LABELS)


def _cdial_checkout(root: Path) -> Path:
    (root / "data").mkdir(parents=True)
    train = [f"帖 子 {i}\t回 复 {i} 好 开 心\t回 复 {i} 什 么 时 候" for i in range(40)]
    (root / "data" / "toy_train.txt").write_text("\n".join(train), encoding="utf-8")
    (root / "data" / "toy_valid.txt").write_text("验 证 一\t验 证 二 ？", encoding="utf-8")
    return root


def test_utterances_to_label_are_drawn_from_one_split_reproducibly(tmp_path: Path) -> None:
    source = _cdial_checkout(tmp_path / "cdial")
    splits = split_texts(source)
    assert splits["dev"] == ["验证一", "验证二？"]
    assert not set(splits["train"]) & set(splits["test"])
    first = draw(source, "train", 5, 79, labelled=set())
    assert first == draw(source, "train", 5, 79, labelled=set())
    assert set(first) <= set(splits["train"])
    again = draw(source, "train", 5, 79, labelled=set(first))
    assert not set(again) & set(first)
    assert draw(source, "dev", 9, 1, labelled={"验证一"}) == ["验证二？"]


def test_campaign_dev_split_of_the_seed_is_never_a_training_text() -> None:
    dev = {e.text for e in seed_examples("dev")}
    train = {e.text for e in seed_examples("train")}
    assert dev and not dev & train
    assert 0.1 < len(dev) / (len(dev) + len(train)) < 0.3
    assert {e.label for e in seed_examples("dev")} == set(LABELS)
    seed_lines = {e.text for e in base_examples() if e.weight == SEED_WEIGHT}
    assert seed_lines == train
    # Real chatter says some of the same short things ("收到", "同感"): a handful at most.
    assert len(dev & {e.text for e in lccc_examples("train")}) <= 5


def test_shipped_model_carries_its_campaign_domain_calibration() -> None:
    found = shares_calibration(default_model().metrics)
    assert found is not None
    temperature, _, prior = found
    assert temperature > 0 and abs(sum(prior) - 1) < 0.01
