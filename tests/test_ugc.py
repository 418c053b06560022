import pytest

from nlp.ugc import (
    UgcCandidate,
    UgcSelection,
    assess,
    detect_nomination,
    looks_like_spam,
    select_ugc,
)


@pytest.mark.parametrize(
    ("text", "role", "person", "cue"),
    [
        ("推荐我们小区的环卫工人刘阿姨，每天四点就开始扫街", "环卫工人", "刘阿姨", "推荐"),
        ("想为公交司机王师傅点赞，二十年没出过事故", "公交司机", "王师傅", "点赞"),
        ("致敬每天风雨无阻的快递小哥！", "快递小哥", None, "致敬"),
        ("感谢社区的志愿者们 #平凡大连人#", "志愿者", None, "感谢"),
        ("推荐楼下修鞋的张大爷", "修鞋", "张大爷", "推荐"),
    ],
)
def test_nominations(text: str, role: str, person: str | None, cue: str) -> None:
    nomination = detect_nomination(text)
    assert nomination is not None
    assert (nomination.role, nomination.person, nomination.cue) == (role, person, cue)


@pytest.mark.parametrize(
    "text",
    ["今天星海广场人好多", "推荐一家好吃的海鲜馆", "医生说我要多休息", ""],
)
def test_not_nominations(text: str) -> None:
    assert detect_nomination(text) is None


@pytest.mark.parametrize(
    "text",
    ["兼职刷单日赚300，加微信 abc123", "免费领取福利，点击链接", "代购请私信我", "联系13912345678"],
)
def test_spam(text: str) -> None:
    assert looks_like_spam(text)


def test_ordinary_text_is_not_spam() -> None:
    assert not looks_like_spam("推荐我们小区的环卫工人刘阿姨 #平凡大连人#")


def candidate(**changes: object) -> UgcCandidate:
    base = {
        "text": "推荐我们小区的环卫工人刘阿姨，每天凌晨四点就开始扫街，风雨无阻，从来没有抱怨过",
        "author_kind": "user",
        "is_original": True,
        "media": "video",
        "likes": 300,
        "comments": 40,
        "shares": 20,
    }
    base.update(changes)
    return UgcCandidate(**base)  # type: ignore[arg-type]


def test_ordinary_users_original_post_is_ugc_with_reasons() -> None:
    result = assess(candidate(), warmth=0.9)
    assert result.is_ugc and not result.is_spam
    assert result.score > 0.7
    assert "own video" in result.reasons and "nominates 刘阿姨" in result.reasons


@pytest.mark.parametrize(
    "changes",
    [
        {"author_kind": "kol"},
        {"author_kind": "official"},
        {"is_original": False},
        {"text": "加微信领福利 #平凡大连人#"},
    ],
)
def test_kols_organiser_reposts_and_spam_are_not_ugc(changes: dict[str, object]) -> None:
    result = assess(candidate(**changes))
    assert not result.is_ugc and result.score == 0.0


def test_score_orders_by_what_is_worth_featuring() -> None:
    rich = assess(candidate(), warmth=0.9).score
    plain = assess(candidate(media="none", likes=0, comments=0, shares=0, text="打卡"), 0.5).score
    assert 0.0 <= plain < rich <= 1.0


def test_missing_counts_are_not_an_error() -> None:
    result = assess(candidate(likes=None, comments=None, shares=None, reposts=None))
    assert result.is_ugc and 0 < result.score < 1


NOMINATES = "推荐我们小区的环卫工人刘阿姨，每天五点就开始扫街"
SCORED = [  # (name, text, score), best score first as the store gives them
    ("a", "海边的日落，拍了一整晚", 0.9),
    ("b", "星海广场的夜景视频", 0.7),
    ("c", "和朋友在老街吃海鲜", 0.7),
    ("d", NOMINATES, 0.2),
    ("e", "路过", 0.1),
    ("f", NOMINATES.replace("刘", "王"), None),
]


def names(selection: UgcSelection[str]) -> list[str]:
    return [pick.item for pick in selection.shown]


def test_ugc_worth_featuring_scores_at_the_bar_or_nominates_someone() -> None:
    selection = select_ugc(SCORED, min_score=0.5, limit=10)
    assert names(selection) == ["d", "f", "a", "b", "c"]  # nominations first, then by score
    assert (selection.worth, selection.nominations) == (5, 2)
    (nominated,) = [p for p in selection.shown if p.item == "d"]
    assert nominated.nomination is not None and nominated.nomination.person == "刘阿姨"
    assert [p.score for p in selection.shown if p.item == "f"] == [0.0]  # unscored: 0


def test_ugc_by_score_keeps_the_given_order_on_ties_and_counts_what_it_did_not_show() -> None:
    selection = select_ugc(SCORED, min_score=0.5, limit=2, order="score")
    assert names(selection) == ["a", "b"]
    assert selection.worth == 5  # the alert says how many there were, not how many it lists


def test_ugc_extra_nominations_join_the_best_without_crowding_them_out() -> None:
    selection = select_ugc(SCORED, min_score=0.0, limit=2, order="score", extra_nominations=1)
    assert names(selection) == ["a", "b", "d"]
    assert names(select_ugc(SCORED, min_score=0.0, limit=0, order="score")) == []


def test_nothing_worth_featuring() -> None:
    selection = select_ugc([("x", "路过", 0.1)], min_score=0.5, limit=5)
    assert (names(selection), selection.worth, selection.nominations) == ([], 0, 0)
