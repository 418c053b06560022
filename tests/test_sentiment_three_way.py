"""Issue 11: three learned classes, the campaign's own language, emoji, short English.

The phrase examples here are not in the training data (nlp/data/social_seed.jsonl): they test
that each family is read as intended, not that a line was memorised."""

from __future__ import annotations

import json
import math
from importlib import resources

import pytest

from nlp.sentiment import (
    EMPTY,
    LABELS,
    Example,
    LinearModel,
    PackedWeights,
    Probs,
    SnowNLPModel,
    default_model,
    features,
    score,
)
from nlp.training import calibrate, fine_tune, three_way_metrics, train_model

FAMILIES: dict[str, tuple[str, list[str]]] = {
    "moved to tears": (
        "positive",
        ["看哭了，谢谢这些师傅", "泪目，大连人太好了", "破防了，阿姨辛苦了", "太感人了[泪][泪]"],
    ),
    "questions": (
        "neutral",
        ["片尾那首歌叫什么", "请问在哪里可以报名", "这是哪个区拍的", "下一期几号更新"],
    ),
    "check-ins": ("neutral", ["打卡金石滩", "坐标沙河口区", "路过留个名", "我也在现场"]),
    "chatter": ("neutral", ["@小刘 你看看这个", "+1", "同问，蹲一个", "这是嘎哈呢"]),
    "sarcasm": (
        "negative",
        ["呵呵，真是不平凡啊", "这就是不平凡的城市？", "呵呵，宣传倒是挺会", "就这？笑死"],
    ),
    "complaints": (
        "negative",
        [
            "散场又堵了俩小时，没人疏导",
            "一看就是摆拍，太假了",
            "花这么多钱拍片子，不如修路",
            "为什么删我的评论",
        ],
    ),
}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_each_phrase_family_is_read_as_intended(family: str) -> None:
    intended, texts = FAMILIES[family]
    seed = _seed_texts()
    assert not [t for t in texts if t in seed], "examples must not be training lines"
    labels = [s.label for s in score(texts)]
    # Calibrated to real Weibo comments (about two thirds neutral), the model reads a polar
    # phrase without a polar word ("不如修路", "就这？笑死") as neutral: three of four must be
    # read as intended, and no phrase as the opposite polarity.
    assert labels.count(intended) >= len(texts) - 1, list(zip(texts, labels, strict=True))
    opposite = {"positive": "negative", "negative": "positive"}.get(intended)
    assert opposite not in labels, list(zip(texts, labels, strict=True))


def _seed_texts() -> set[str]:
    source = resources.files("nlp").joinpath("data/social_seed.jsonl")
    return {json.loads(line)["text"] for line in source.read_text("utf-8").splitlines()}


def test_the_issues_misread_comments_are_not_negative() -> None:
    # The five most frequent "negative" comments of the old demo.
    texts = ["太感人了[泪]", "请问怎么报名推荐", "我在现场", "背景音乐叫什么", "拍得太好了，转发了"]
    labels = [s.label for s in score(texts)]
    assert labels == ["positive", "neutral", "neutral", "neutral", "positive"]


def test_probabilities_sum_to_one_and_label_is_the_most_probable() -> None:
    for probs in default_model().predict(["致敬[心]", "堵死了[怒]", "这是哪", "", "🙏" * 40]):
        assert sum(probs) == pytest.approx(1.0)
        assert all(0.0 <= p <= 1.0 for p in probs)
        best = max(zip(probs, LABELS, strict=True))[1]
        assert probs.label == best
    assert default_model().predict([""]) == [EMPTY]


def test_emoji_carry_sentiment_like_bracket_emoticons() -> None:
    model = default_model()
    positive, angry, folded = model.predict(["👍👍", "😡😡", "🙏"])
    assert positive.label == "positive" and angry.label == "negative"
    assert folded.label == "positive"
    # The old model gave every emoji-only comment the same score.
    assert len({round(p.positive, 4) for p in (positive, angry, folded)}) == 3
    assert features("❤️")["[心]"] == features("[心]")["[心]"]


@pytest.mark.parametrize(
    ("text", "intended"),
    [
        ("I love this city", "positive"),
        ("so beautiful, thank you", "positive"),
        ("worst traffic ever", "negative"),
        ("where is this place", "neutral"),
        ("dalian jiayou", "positive"),
    ],
)
def test_short_english_and_pinyin_get_a_sensible_label(text: str, intended: str) -> None:
    (result,) = score([text])
    assert result.label == intended, (text, result)


def test_northeastern_colloquialisms_are_read() -> None:
    texts = ["这大姐干活杠杠的", "今天海边老鼻子人了", "嘎哈去啊", "整这出真闹挺", "看着真膈应"]
    labels = [s.label for s in score(texts)]
    assert labels == ["positive", "neutral", "neutral", "negative", "negative"]


def test_a_binary_model_is_neutral_inside_its_band() -> None:
    assert Probs.from_binary(0.5).label == "neutral"
    assert Probs.from_binary(0.59).label == "neutral"
    assert Probs.from_binary(0.61).label == "positive"
    assert Probs.from_binary(0.2).label == "negative"
    assert sum(Probs.from_binary(0.45, 0.3, 0.5)) == pytest.approx(1.0)
    assert SnowNLPModel(0.0, 1.0).band == (0.0, 1.0)


def test_entropy_is_highest_when_the_model_cannot_tell() -> None:
    assert Probs(1 / 3, 1 / 3, 1 / 3).entropy == pytest.approx(math.log2(3))
    assert EMPTY.entropy == 0.0
    assert Probs(0.5, 0.25, 0.25).entropy == pytest.approx(1.5)


def tiny_polar_corpus() -> list[Example]:
    return [
        Example("太好了真开心", "positive"),
        Example("很喜欢谢谢", "positive"),
        Example("好评点赞", "positive"),
        Example("太差了生气", "negative"),
        Example("难过失望", "negative"),
        Example("垃圾差评", "negative"),
    ] * 5


def test_training_with_neutral_labels_changes_predictions_on_neutral_text() -> None:
    questions = ["这是在哪里", "几点开始", "在哪报名", "坐标哪里", "什么时候更新"]
    unseen = ["这是哪里的", "几点更新", "哪里报名呀"]
    polar = train_model([], version="polar", base=tiny_polar_corpus()).model
    assert all(p.label != "neutral" for p in polar.predict(unseen))
    team = [Example(q, "neutral") for q in questions] * 4
    report = train_model(team, version="three", base=tiny_polar_corpus(), current=polar)
    assert [p.label for p in report.model.predict(unseen)] == ["neutral"] * 3
    assert report.model.predict(["太好了"])[0].label == "positive"
    assert report.before_team is not None and report.held_out_team is not None
    assert report.held_out_team.per_class["neutral"].recall >= (
        report.before_team.per_class["neutral"].recall
    )


def test_three_way_metrics_per_class() -> None:
    gold = ["positive", "neutral", "negative", "neutral", "positive", "negative"]
    predicted = ["positive", "neutral", "neutral", "positive", "positive", "negative"]
    metrics = three_way_metrics(gold, predicted)  # type: ignore[arg-type]
    assert metrics.n == 6 and metrics.accuracy == pytest.approx(4 / 6)
    assert metrics.per_class["positive"].precision == pytest.approx(2 / 3)
    assert metrics.per_class["negative"].recall == pytest.approx(1 / 2)
    assert metrics.per_class["neutral"].f1 == pytest.approx(0.5)
    f1s = [m.f1 for m in metrics.per_class.values()]
    assert metrics.macro_f1 == pytest.approx(sum(f1s) / 3)
    assert "neutral" in metrics.table("t")


def test_old_two_class_model_files_are_refused_with_the_fix(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import gzip

    old = tmp_path / "old.json.gz"
    with gzip.open(old, "wt", encoding="utf-8") as out:
        json.dump({"format": "pingfan-sentiment/1", "weights": {}, "bias": 0, "version": "x"}, out)
    with pytest.raises(ValueError, match="train it again"):
        LinearModel.load(old)


def test_training_lines_held_out_lines_and_simulator_pools_share_nothing() -> None:
    import re
    import tomllib
    import unicodedata

    def key(text: str) -> str:
        return re.sub(r"[\s，。！？!?,.~…]", "", unicodedata.normalize("NFKC", text).lower())

    def lines(name: str) -> set[str]:
        source = resources.files("nlp").joinpath("data", name).read_text("utf-8")
        return {key(json.loads(line)["text"]) for line in source.splitlines()}

    scenario = tomllib.loads(
        resources.files("monitor.sim").joinpath("scenarios/dalian-2019.toml").read_text("utf-8")
    )
    pools = {key(line) for pool in scenario["pool_classes"] for line in scenario["pools"][pool]}
    seed, held = lines("social_seed.jsonl"), lines("heldout_three_way.jsonl")
    assert not seed & held and not seed & pools and not held & pools


def test_fine_tuning_learns_the_new_labels_and_keeps_the_rest() -> None:
    questions = ["这是在哪里", "几点开始", "在哪报名", "坐标哪里", "什么时候更新"]
    polar = train_model([], version="polar", base=tiny_polar_corpus()).model
    tuned = fine_tune(
        polar, [Example(q, "neutral") for q in questions], version="tuned", context=[]
    )
    assert [p.label for p in tuned.predict(["这是哪里的", "几点更新"])] == ["neutral"] * 2
    assert tuned.predict(["太好了"])[0].label == "positive"
    assert tuned.predict(["垃圾差评"])[0].label == "negative"
    assert polar.predict(["几点更新"])[0].label != "neutral"  # the start model is left alone


def _ambiguous_model() -> LinearModel:
    weights = {"甲": (0.0, 1.0, 0.8), "乙": (0.0, 1.0, 0.0), "丙": (2.0, 0.0, 0.0)}
    return LinearModel(PackedWeights(weights), (0.0, 0.0, 0.0), "toy")


# "甲" is negative 4 times in 10: the best-fitting probabilities call it neutral, and no
# negative comment is ever found; calling it negative raises macro-F1.
AMBIGUOUS_DEV = [
    *[Example("甲", "negative")] * 4,
    *[Example("甲", "neutral")] * 6,
    *[Example("乙", "neutral")] * 20,
    *[Example("丙", "positive")] * 10,
]


def test_calibration_shifts_the_negative_class_when_that_finds_negatives_on_dev(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("nlp.training.SHIFT_MAX_ECE", 1.0)
    model = _ambiguous_model()
    calibrate(model, AMBIGUOUS_DEV)
    assert model.metrics["negative_shift"] > 0
    assert model.predict(["甲"])[0].label == "negative"
    assert model.predict(["乙"])[0].label == "neutral"
    # the probabilities now fit a mix with more negatives than the dev split's 10%
    assert model.metrics["calibration_prior_negative"] > 0.1


def test_no_shift_when_it_would_cost_calibration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("nlp.training.SHIFT_MAX_ECE", 0.0)
    model = _ambiguous_model()
    calibrate(model, AMBIGUOUS_DEV)
    assert model.metrics["negative_shift"] == 0.0
    assert model.predict(["甲"])[0].label == "neutral"
    assert model.metrics["calibration_prior_negative"] == pytest.approx(0.1)
