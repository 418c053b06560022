"""Issue 21, item 5: `nlp label` and the bot's /label ask about comments that are uncertain AND
unlike each other (nlp/active.py), not a run of near copies of the most uncertain one."""

from __future__ import annotations

import pytest

from alerts.bot.label_choice import next_label_candidate
from monitor.nlp_cli import teaching_order
from monitor.store import Store
from nlp.active import choose, distance, margin_uncertainty, sketch
from nlp.sentiment import Probs
from tests.support.factories import comment

TIE = Probs(0.45, 0.45, 0.10)  # the two likeliest classes tie: as unsure as it gets
NEAR_TIE = Probs(0.40, 0.35, 0.25)
SURE = Probs(0.90, 0.05, 0.05)
EVEN = Probs(0.34, 0.33, 0.33)  # the store's queue (highest entropy first) starts with these

COPIES = ["这个活动到底几点开始啊", "这个活动到底几点开始啊？", "这个活动到底几点开始啊[思考]"]
OTHERS = ["堵车堵到怀疑人生", "星海广场的灯光秀好看吗"]


def test_margin_uncertainty() -> None:
    assert margin_uncertainty(TIE) == pytest.approx(1.0)
    assert margin_uncertainty(SURE) == pytest.approx(0.15)
    assert margin_uncertainty(NEAR_TIE) == pytest.approx(0.95)


def test_sketch_distance_tells_near_copies_from_different_texts() -> None:
    a, b, c = sketch(COPIES[0]), sketch(COPIES[1]), sketch(OTHERS[0])
    assert distance(a, a) == pytest.approx(0.0, abs=1e-9)
    assert distance(a, b) < 0.15 < distance(a, c)
    assert sketch("") == {}


def test_near_copies_of_the_most_uncertain_text_are_asked_once() -> None:
    texts = [*COPIES, *OTHERS, "好的"]
    probs = [TIE, TIE, TIE, NEAR_TIE, NEAR_TIE, SURE]
    picked = choose(texts, probs, 3)
    # by uncertainty alone the three copies would fill the list
    assert picked[0] == 0
    assert sorted(texts[i] for i in picked[1:]) == sorted(OTHERS)
    # the sure one comes only after every different uncertain text
    everything = choose(texts, probs, 10)
    assert everything[0] == 0 and set(everything[1:3]) == {3, 4} and everything[3:] == [5]


def test_a_text_like_one_already_labelled_is_not_asked_again() -> None:
    texts = [COPIES[1], OTHERS[0]]
    assert choose(texts, [TIE, NEAR_TIE], 2, known=[COPIES[0]]) == [1]
    assert choose(["", "  "], [TIE, TIE], 2) == []


def test_nlp_label_orders_the_stored_rows_for_teaching() -> None:
    def row(text: str, probs: Probs) -> dict[str, object]:
        return {
            "text": text,
            "sentiment": probs.positive,
            "p_neutral": probs.neutral,
            "p_negative": probs.negative,
        }

    rows = [row(COPIES[0], TIE), row(COPIES[1], TIE), row(OTHERS[0], NEAR_TIE)]
    assert [r["text"] for r in teaching_order(rows, 5, known=[])] == [COPIES[0], OTHERS[0]]
    (only,) = teaching_order(rows, 5, known=[OTHERS[0]])
    assert only["text"] in COPIES


def _scored(store: Store, items: list[tuple[str, str, Probs]]) -> None:
    store.content.save_comments([comment(cid, text=text) for cid, text, _ in items])
    store.content.set_comment_scores(
        [("weibo", cid, p.positive, p.label, "m1", p.neutral, p.negative) for cid, _, p in items]
    )


def test_the_bot_asks_about_an_uncertain_comment_unlike_the_last_labels(store: Store) -> None:
    _scored(
        store,
        [
            ("A", COPIES[0], EVEN),
            ("B", COPIES[1], EVEN),
            ("C", OTHERS[0], NEAR_TIE),
            ("D", OTHERS[1], SURE),
        ],
    )
    first = next_label_candidate(store)
    assert first is not None and first.id in ("A", "B")
    store.labels.add_label(first.text, "neutral", platform="weibo", comment_id=first.id)
    # the store's queue now starts with the other copy; the chooser skips it
    queue_head = store.team.next_label_candidate()
    assert queue_head is not None and queue_head.text in COPIES
    second = next_label_candidate(store)
    assert second is not None and second.id == "C"
    store.team.skip_label("weibo", "C", by="telegram:1", at=first.created_at)
    third = next_label_candidate(store)
    assert third is not None and third.id == "D"
