"""User-generated contributions: which ordinary users' posts to thank or feature.

A post is UGC when an ordinary user (not a partner KOL, not the organiser) posts original
content under a watched topic, and it is not an ad or spam. Its score (0..1) says how worth
featuring it is: own media, substance, engagement, warmth, and whether it nominates an
everyday hero. Pure functions; the caller supplies the sentiment it already computed.

`select_ugc` is the one choice of which scored posts are worth thanking or featuring, used
by the UGC alert, the chat bot's /ugc, the weekly digest and the demo's summary.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from nlp.text import EMOTICON, normalize

AuthorKind = Literal["kol", "official", "user"]

HERO_ROLES: tuple[str, ...] = (
    "环卫工人", "环卫工", "环卫阿姨", "清洁工", "公交司机", "出租车司机", "司机", "快递小哥",
    "快递员", "外卖小哥", "外卖员", "骑手", "志愿者", "医生", "护士", "医护", "老师", "教师",
    "交警", "警察", "民警", "消防员", "保安", "网格员", "社区工作者", "渔民", "码头工人", "工人",
    "工程师", "科研人员", "研究员", "厨师", "修鞋", "早点摊", "菜市场", "店主", "老板娘", "老板",
    "邮递员", "护林员", "园丁", "船长", "海员", "乘务员", "列车员", "售票员", "楼长",
)  # fmt: skip
NOMINATION_CUES: tuple[str, ...] = (
    "推荐", "提名", "致敬", "点赞", "为他点赞", "为她点赞", "夸夸", "表扬", "感谢", "谢谢",
    "想说", "给大家介绍", "必须上榜", "应该上",
)  # fmt: skip
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏"
    "吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱"
    "严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁"
    "尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳"
)
_TITLES = "阿姨|大爷|大妈|师傅|大姐|大哥|叔叔|老师|医生|护士|小哥|姐姐|哥哥|奶奶|爷爷|警官|班长"
# 刘阿姨, 王师傅, 老张 is too vague to call a person; a surname and a title are required.
_PERSON = re.compile(rf"((?:老|小)?[{_SURNAMES}](?:{_TITLES}))")
_SPAM = re.compile(
    r"(加\s*(?:微信|微|v|V|vx|VX|wx|WX|qq|QQ)|v信|薇信|私信我|兼职|刷单|日赚|日结|代购|"
    r"招代理|免费领|领取福利|点击链接|戳链接|优惠券|返利|互粉|互关|求关注|关注我|福利群|"
    r"qq\s*\d{5,}|QQ\s*\d{5,}|1[3-9]\d{9}|贷款|网赚|彩票|博彩)",
)


@dataclass(frozen=True)
class Nomination:
    """An ordinary user putting forward an everyday hero (a lead, not a verdict)."""

    role: str
    person: str | None
    cue: str


@dataclass(frozen=True)
class UgcCandidate:
    text: str
    author_kind: AuthorKind
    is_original: bool
    media: Literal["video", "image", "none"] | None = None
    likes: int | None = None
    comments: int | None = None
    shares: int | None = None
    reposts: int | None = None


@dataclass(frozen=True)
class UgcAssessment:
    is_ugc: bool
    score: float
    reasons: tuple[str, ...]
    nomination: Nomination | None
    is_spam: bool


def detect_nomination(text: str) -> Nomination | None:
    """`推荐我们小区的环卫工人刘阿姨` → Nomination(role='环卫工人', person='刘阿姨', cue='推荐')."""
    clean = normalize(text)
    cue = next((c for c in NOMINATION_CUES if c in clean), None)
    if cue is None:
        return None
    role = next((r for r in HERO_ROLES if r in clean), None)
    person_match = _PERSON.search(clean)
    if role is None and person_match is None:
        return None
    person = person_match.group(1) if person_match else None
    return Nomination(role=role or "身边人", person=person, cue=cue)


def looks_like_spam(text: str) -> bool:
    return bool(_SPAM.search(text))


def assess(candidate: UgcCandidate, warmth: float | None = None) -> UgcAssessment:
    """Is it UGC, and how worth featuring (0..1)? `warmth` is P(positive) of the text."""
    spam = looks_like_spam(candidate.text)
    nomination = detect_nomination(candidate.text)
    is_ugc = candidate.author_kind == "user" and candidate.is_original and not spam
    if not is_ugc:
        return UgcAssessment(False, 0.0, (), nomination, spam)
    reasons: list[str] = []
    score = 0.0
    if candidate.media == "video":
        score += 0.25
        reasons.append("own video")
    elif candidate.media == "image":
        score += 0.15
        reasons.append("own photos")
    substance = len(EMOTICON.sub("", normalize(candidate.text)))
    score += 0.2 * min(substance / 80, 1.0)
    if substance >= 40:
        reasons.append("substantial text")
    interactions = sum(
        n or 0 for n in (candidate.likes, candidate.comments, candidate.shares, candidate.reposts)
    )
    engagement = min(math.log10(1 + interactions) / 3, 1.0)  # 1000 interactions saturate
    score += 0.25 * engagement
    if interactions >= 100:
        reasons.append(f"{interactions} interactions")
    if warmth is not None:
        score += 0.15 * warmth
        if warmth > 0.7:
            reasons.append("warm")
    if nomination:
        score += 0.15
        reasons.append(f"nominates {nomination.person or nomination.role}")
    return UgcAssessment(True, round(min(score, 1.0), 4), tuple(reasons), nomination, False)


T = TypeVar("T")


@dataclass(frozen=True)
class UgcPick(Generic[T]):
    item: T
    score: float
    nomination: Nomination | None


@dataclass(frozen=True)
class UgcSelection(Generic[T]):
    shown: tuple[UgcPick[T], ...]
    worth: int  # every post that passed the bar, shown or not
    nominations: int  # how many of those nominate someone


def select_ugc(
    scored: Iterable[tuple[T, str, float | None]],
    *,
    min_score: float,
    limit: int,
    order: Literal["nominations_first", "score"] = "nominations_first",
    extra_nominations: int = 0,
) -> UgcSelection[T]:
    """Which of the scored posts, `(item, text, UGC score)` given best score first, are worth
    thanking or featuring: a score of at least `min_score`, or a nomination of an everyday
    hero. `limit` of them are shown, nominations first (the alert, the bot) or by score (the
    digest, the demo), ties in the order given; then up to `extra_nominations` nominations
    that missed the cut (the digest lists them beside the best)."""
    picks = []
    for item, text, score in scored:
        nomination = detect_nomination(text)
        value = score or 0.0
        if value >= min_score or nomination is not None:
            picks.append(UgcPick(item, value, nomination))
    if order == "nominations_first":
        ranked = sorted(picks, key=lambda pick: (pick.nomination is None, -pick.score))
    else:
        ranked = sorted(picks, key=lambda pick: -pick.score)
    extra = [pick for pick in ranked[limit:] if pick.nomination is not None]
    return UgcSelection(
        shown=tuple(ranked[:limit] + extra[:extra_nominations]),
        worth=len(picks),
        nominations=sum(1 for pick in picks if pick.nomination is not None),
    )
