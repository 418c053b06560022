import hashlib
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nlp.dedup import Message, hamming, near_duplicate_groups, simhash, suspected_coordination
from nlp.text import EMOTICON, normalize

T0 = datetime(2019, 7, 20, 12, 0, tzinfo=UTC)
RING = "大连这次活动办得真好，为城市点赞，大家快来看看吧"


def test_simhash_is_stable_and_close_for_small_edits() -> None:
    # pinned: hashes stored by one process (or release) must compare with those of the next,
    # so the value may not depend on the interpreter's per-process hash seed
    assert simhash(RING) == 7405987902282126945
    assert hamming(simhash(RING), simhash(RING + "！！")) <= 3
    assert hamming(simhash(RING), simhash("星海广场今天堵车了，回家用了两个小时")) > 10


def test_groups_copies_and_variants_but_not_different_texts() -> None:
    items = [
        ("a", RING),
        ("b", RING + "[赞]"),
        ("c", "转发：" + RING),
        ("d", "推荐我们小区的环卫工人刘阿姨，每天凌晨四点就开始扫街"),
        ("e", "今天去金石滩看日出，海风很舒服，推荐大家早点去"),
        ("f", "加油"),
        ("g", "加油"),
    ]
    groups = near_duplicate_groups(items)
    assert groups[0][:2] == ["a", "b"]
    assert not any("d" in g or "e" in g for g in groups)
    assert not any("f" in g for g in groups), "two-character cheers are not copies"


def test_large_copy_ring_groups_quickly() -> None:
    items = [(f"c{i}", RING) for i in range(2000)] + [("x", "完全不同的一句话，讲的是别的事情")]
    groups = near_duplicate_groups(items)
    assert len(groups) == 1 and len(groups[0]) == 2000


def test_banding_limit() -> None:
    with pytest.raises(ValueError):
        near_duplicate_groups([], max_distance=4)


def test_coordination_needs_several_accounts_within_the_window() -> None:
    burst = [Message(f"m{i}", f"user{i}", RING, T0 + timedelta(minutes=i)) for i in range(4)]
    same_author = [
        Message(f"s{i}", "fan", RING + "。", T0 + timedelta(minutes=i)) for i in range(5)
    ]
    spread = [
        Message(f"p{i}", f"u{i}", "这座城市的夏天真美，海边的风特别舒服啊", T0 + timedelta(hours=i))
        for i in range(4)
    ]
    suspects = suspected_coordination([*burst, *same_author, *spread], min_accounts=3)
    assert len(suspects) == 1
    (suspect,) = suspects
    assert set(suspect.authors) >= {"user0", "user1", "user2", "user3"}
    assert suspect.first_at == T0


def test_no_coordination_in_ordinary_chatter() -> None:
    messages = [
        Message("1", "a", "星海广场的夜景真的绝了，欢迎大家来大连玩", T0),
        Message("2", "b", "公交司机王师傅每天都跟乘客打招呼，好暖心", T0),
        Message("3", "c", "这期拍的是我舅舅，全家都很开心", T0),
    ]
    assert suspected_coordination(messages) == []


def _bit_by_bit_simhash(text: str) -> int:
    """SimHash as it was written first: a counter per bit, one shingle at a time."""
    clean = re.sub(r"[^\w]+", "", EMOTICON.sub("", normalize(text)))
    shingles = [clean[i : i + 3] for i in range(max(len(clean) - 2, 1))] if clean else []
    if not shingles:
        return 0
    totals = [0] * 64
    for shingle in shingles:
        digest = int.from_bytes(hashlib.blake2b(shingle.encode(), digest_size=8).digest(), "big")
        for bit in range(64):
            totals[bit] += 1 if digest >> bit & 1 else -1
    return sum(1 << bit for bit in range(64) if totals[bit] > 0)


@settings(max_examples=300, deadline=None)
@given(
    st.text(st.sampled_from("星海广场堵车了加油大连人！ 看吧ab1[赞]"), max_size=40)
    | st.text(max_size=30)
)
def test_simhash_is_the_bit_by_bit_simhash(text: str) -> None:
    assert simhash.__wrapped__(text) == _bit_by_bit_simhash(text)


@pytest.mark.parametrize("repeat", [84, 85, 86, 170, 200])
def test_long_texts_past_the_byte_counters_keep_their_fingerprint(repeat: int) -> None:
    # More than 255 shingles: the counters go past one byte and are added up in chunks.
    text = "星海广场今天堵车了" * repeat + "回家用了两个小时" * (repeat % 7)
    assert simhash.__wrapped__(text) == _bit_by_bit_simhash(text)
