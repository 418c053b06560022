"""The alert rules over simulated metric series and stored comments, through `evaluate`."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from alerts.engine import RuleAlert, decide, evaluate
from alerts.rules.base import Finding
from alerts.rules.facts import StaleFacts
from monitor.config import Config, config_from_dict
from monitor.models import AlertRecord, Post, TopicStats
from monitor.store import Store
from monitor.store.outbox import RuleState
from tests.support.factories import comment, post

T0 = datetime(2019, 8, 10, 2, 0, tzinfo=UTC)
AUTHOR = "2000000001"
KOL = "1000000001"


def make_config(tmp_path: Path, **alerts: Any) -> Config:
    raw: dict[str, Any] = {
        "topics": [{"name": "平凡大连人"}],
        "kols": [{"platform": "weibo", "id": KOL, "name": "大连身边事"}],
        "douyin": {"enabled": False},
        "alerts": {"health": {"enabled": False}, **alerts},
    }
    return config_from_dict(raw, tmp_path / "config.toml")


def kinds(alerts: list[AlertRecord], kind: str) -> list[AlertRecord]:
    return [a for a in alerts if a.kind == kind]


def reading(post_id: str, created: datetime, at: datetime, likes: int, **more: Any) -> Post:
    return post(
        post_id,
        author_id=more.pop("author_id", AUTHOR),
        created_at=created,
        observed_at=at,
        likes=likes,
        comments=0,
        reposts=0,
        **more,
    )


def steady_history(store: Store, n: int = 4, per_hour: int = 100) -> None:
    """The author's earlier posts, each gaining `per_hour` interactions for its first day."""
    for index in range(n):
        created = T0 - timedelta(days=index + 2)
        for hour in range(0, 25, 2):
            at = created + timedelta(hours=hour)
            store.content.save_posts([reading(f"H{index}", created, at, per_hour * hour)])


def run_series(
    store: Store, config: Config, post_id: str, created: datetime, rates: list[float], **more: Any
) -> list[AlertRecord]:
    """Polls every 15 minutes; `rates` are interactions per hour in each interval."""
    raised: list[AlertRecord] = []
    value = 0.0
    for index, rate in enumerate(rates, start=1):
        at = created + timedelta(minutes=15 * index)
        value += rate / 4
        store.content.save_posts([reading(post_id, created, at, round(value), **more)])
        raised += evaluate(store, config, at)
    return raised


# --- trending --------------------------------------------------------------------------


def test_a_spike_fires_once(store: Store, tmp_path: Path) -> None:
    config = make_config(tmp_path)
    steady_history(store)
    rates = [100] * 8 + [1600] * 8 + [100] * 4  # two quiet hours, a two-hour spike, calm
    raised = kinds(run_series(store, config, "P1", T0, rates), "trending")
    assert len(raised) == 1
    alert = raised[0]
    assert isinstance(alert, RuleAlert)
    assert alert.created_at == T0 + timedelta(minutes=15 * 10)  # confirmed on the 2nd spike poll
    assert alert.evidence["baseline"]["basis"] == "author"
    assert alert.evidence["baseline"]["posts"] == 4
    assert alert.evidence["velocity_per_hour"] == [1600.0, 1600.0]
    assert alert.evidence["thresholds"]["growth_ratio"] == 3.0
    assert "热度飙升" in alert.title and "基线的 16.0 倍" in alert.title
    assert "该作者近期 4 条帖子" in alert.text and "规则：" in alert.text
    assert alert.url == "https://m.weibo.cn/detail/P1"


def test_flat_series_never_fire(store: Store, tmp_path: Path) -> None:
    config = make_config(tmp_path)
    steady_history(store, per_hour=400)
    assert not run_series(store, config, "P1", T0, [400] * 40)  # as fast as the author's usual
    assert not run_series(store, config, "P2", T0, [0] * 40)  # no growth at all
    assert not run_series(store, config, "P3", T0, [150] * 40)  # below the minimum volume


def test_one_lucky_poll_is_not_confirmed(store: Store, tmp_path: Path) -> None:
    config = make_config(tmp_path)
    steady_history(store)
    assert not run_series(store, config, "P1", T0, [100] * 8 + [5000] + [100] * 8)


def test_without_author_history_the_topic_baseline_decides(store: Store, tmp_path: Path) -> None:
    config = make_config(tmp_path)
    for index in range(8):  # other users' posts under the topic, ~80 interactions an hour
        created = T0 - timedelta(hours=30 + index)
        for hour in range(0, 25, 3):
            at = created + timedelta(hours=hour)
            store.content.save_posts(
                [reading(f"Q{index}", created, at, (70 + 5 * index) * hour, author_id=f"9{index}")]
            )
    raised = kinds(
        run_series(store, config, "NEW", T0, [900] * 6, author_id="3000000009"), "trending"
    )
    assert len(raised) == 1
    evidence = raised[0].evidence  # type: ignore[attr-defined]
    assert evidence["baseline"]["basis"] == "topic" and evidence["baseline"]["z"] >= 3


def test_the_topic_accelerating_fires_once(store: Store, tmp_path: Path) -> None:
    config = make_config(tmp_path)
    views = 500_000.0
    raised: list[AlertRecord] = []
    for index in range(40):
        at = T0 + timedelta(minutes=15 * index)
        views += (1000 if index < 24 else 30_000) / 4
        store.metrics.save_topic_stats([TopicStats("weibo", "平凡大连人", at, round(views), 1000)])
        raised += evaluate(store, config, at)
    topic = kinds(raised, "topic_trending")
    assert len(topic) == 1
    assert topic[0].subject_id == "平凡大连人" and "话题加速" in topic[0].title


# --- negative threads --------------------------------------------------------------------


POOLS = {
    "negative": [
        "堵了两个小时才到家，孩子都睡车上了[怒]",
        "散场的时候一个疏导的都没有",
        "活动组织得太差了",
        "为什么不提前发交通管制通知",
        "公交全停了也不说一声[抓狂]",
        "打车打了一个小时都没打到",
        "地铁也挤爆了，太危险了",
        "交警都去哪了？",
        "老人孩子在路边站了一个多小时",
        "每次活动都这样，从来不改",
    ],
    "positive": ["辛苦了[心]", "大连加油！", "太感人了[泪]", "点赞[赞]", "好暖心啊"],
    "neutral": ["这是在哪里拍的", "路过", "第几期了", "背景音乐叫什么"],
}


def add_comments(
    store: Store,
    post_id: str,
    start: datetime,
    labels: list[str],
    *,
    texts: dict[str, str] | None = None,
    likes: int = 1,
    prefix: str = "C",
) -> None:
    pools = texts or POOLS
    rows = []
    scores = []
    for index, label in enumerate(labels):
        cid = f"{prefix}{post_id}{start:%H%M}{index:03d}"
        pool = pools[label]
        rows.append(
            comment(
                cid,
                post_id=post_id,
                author_id=f"30000{index:05d}",
                text=pool[index % len(pool)] + "！" * (index // len(pool)),
                created_at=start + timedelta(seconds=40 * index),
                observed_at=start + timedelta(seconds=40 * index + 5),
                likes=likes,
            )
        )
        scores.append(("weibo", cid, 0.1 if label == "negative" else 0.8, label, "test"))
    store.content.save_comments(rows)
    store.content.set_comment_scores(scores)


def test_a_negative_storm_fires_once_and_escalates_once(store: Store, tmp_path: Path) -> None:
    config = make_config(tmp_path)
    store.content.save_posts([post("T1", created_at=T0, observed_at=T0)])
    raised: list[AlertRecord] = []
    # hourly polls: the storm breaks, holds, doubles (and turns critical), goes on
    for hour, wave in enumerate([20, 5, 30, 10, 10, 10], start=1):
        at = T0 + timedelta(hours=hour)
        add_comments(store, "T1", at - timedelta(minutes=50), ["negative"] * wave + ["neutral"] * 3)
        raised += evaluate(store, config, at)
    negative = kinds(raised, "negative_thread")
    assert [a.title.startswith("升级：") for a in negative] == [False, True]
    first, escalated = negative
    assert "负面舆情" in first.title
    assert escalated.dedupe_key == first.dedupe_key + ":esc1"
    evidence = first.evidence  # type: ignore[attr-defined]
    assert evidence["reasons"] == ["share"] and evidence["wilson_lower"] >= 0.5
    assert evidence["thresholds"]["min_comments"] == 20
    assert evidence["terms"]
    assert 2 <= len(evidence["samples"]) <= 3
    assert all(s["author"].endswith("***") and len(s["author"]) == 4 for s in evidence["samples"])
    assert "代表评论：" in first.text and "95% 置信下限" in first.text and "30000" not in first.text


def test_a_storm_read_late_after_an_outage_still_fires(store: Store, tmp_path: Path) -> None:
    """Two threads whose angry comments were made ten hours ago, outside the window: the one
    pingfan read back then is old news; the one it only just read (after an outage) is news."""
    config = make_config(tmp_path)
    late = T0 + timedelta(hours=11)
    store.content.save_posts([post(pid, created_at=T0, observed_at=T0) for pid in ("SEEN", "LATE")])
    negative = POOLS["negative"]
    for pid, seen_at in (("SEEN", None), ("LATE", late)):
        rows = [
            comment(
                f"C{pid}{i:03d}", post_id=pid, author_id=f"4{i:09d}",
                text=negative[i % len(negative)] + "！" * (i // len(negative)),
                created_at=T0 + timedelta(minutes=i),
                observed_at=seen_at or T0 + timedelta(minutes=i, seconds=5),
            )
            for i in range(30)
        ]  # fmt: skip
        store.content.save_comments(rows)
        store.content.set_comment_scores(("weibo", r.id, 0.1, "negative", "test") for r in rows)
    fired = kinds(evaluate(store, config, late), "negative_thread")
    assert [a.subject_id for a in fired] == ["LATE"]


def test_a_calm_thread_with_a_few_angry_comments_does_not_fire(
    store: Store, tmp_path: Path
) -> None:
    config = make_config(tmp_path)
    store.content.save_posts([post("T2", created_at=T0, observed_at=T0)])
    add_comments(store, "T2", T0, ["positive", "neutral", "positive", "negative"] * 15)
    assert not kinds(evaluate(store, config, T0 + timedelta(hours=1)), "negative_thread")
    # nor a handful of furious comments on a quiet post
    store.content.save_posts([post("T3", created_at=T0, observed_at=T0)])
    add_comments(store, "T3", T0, ["negative"] * 8)
    assert not kinds(evaluate(store, config, T0 + timedelta(hours=1)), "negative_thread")


def test_a_sharp_rise_against_the_threads_own_baseline(store: Store, tmp_path: Path) -> None:
    config = make_config(tmp_path)
    store.content.save_posts([post("T4", created_at=T0, observed_at=T0)])
    add_comments(store, "T4", T0, ["positive"] * 38 + ["negative"] * 2)
    later = T0 + timedelta(hours=10)
    add_comments(store, "T4", later, ["negative"] * 15 + ["positive"] * 10)
    (alert,) = kinds(evaluate(store, config, later + timedelta(minutes=30)), "negative_thread")
    assert alert.title == "负面上升：微博帖子负面占比 5% → 60%"
    assert alert.evidence["reasons"] == ["rise"]  # type: ignore[attr-defined]


def test_a_sensitive_word_in_a_liked_comment_or_a_kol_post(store: Store, tmp_path: Path) -> None:
    config = make_config(tmp_path)
    store.content.save_posts([post("T5", created_at=T0, observed_at=T0)])
    add_comments(store, "T5", T0, ["positive"] * 5)
    store.content.save_comments(
        [
            comment("W1", post_id="T5", text="我要去12345投诉", likes=35, created_at=T0),
            comment("W2", post_id="T5", text="举报了", likes=2, created_at=T0),  # not liked
        ]
    )
    kol_posts = [
        post("K1", author_id=KOL, author_kind="kol", text="公交司机王师傅，二十年零事故",
             created_at=T0, observed_at=T0),
        post("K2", author_id=KOL, author_kind="kol", text="网友曝光：星海广场散场无人疏导",
             created_at=T0, observed_at=T0),
    ]  # fmt: skip
    store.content.save_posts(kol_posts)
    raised = kinds(evaluate(store, config, T0 + timedelta(hours=1)), "negative_thread")
    assert {a.subject_id: a.title for a in raised} == {
        "T5": "敏感词：微博帖子出现「投诉」",
        "K2": "敏感词：微博帖子出现「曝光」",
    }
    t5 = next(a for a in raised if a.subject_id == "T5")
    assert "高赞评论" in t5.text and "（赞 35）" in t5.text


def test_the_three_way_label_is_what_counts(store: Store, tmp_path: Path) -> None:
    """Unscored comments count for nothing; a team label overrides the model."""
    config = make_config(tmp_path)
    store.content.save_posts([post("T6", created_at=T0, observed_at=T0)])
    store.content.save_comments(
        [comment(f"U{i}", post_id="T6", text="堵死了", created_at=T0) for i in range(30)]
    )
    assert not kinds(evaluate(store, config, T0 + timedelta(hours=1)), "negative_thread")


# --- milestones, KOLs, UGC, coordination, health ------------------------------------------


def test_milestones_fire_once_each_and_only_the_highest_of_a_jump(
    store: Store, tmp_path: Path
) -> None:
    config = make_config(tmp_path)
    titles = []
    for hours, views in ((0, 900_000), (1, 1_200_000), (2, 1_300_000), (3, 3_100_000)):
        at = T0 + timedelta(hours=hours)
        store.metrics.save_topic_stats([TopicStats("weibo", "平凡大连人", at, views, 100)])
        titles += [a.title for a in kinds(evaluate(store, config, at), "milestone")]
        titles += [a.title for a in kinds(evaluate(store, config, at), "milestone")]
    assert titles == [
        "里程碑：#平凡大连人# 微博阅读突破 1,000,000",
        "里程碑：#平凡大连人# 微博阅读突破 3,000,000",
    ]


def test_kol_upload_once_and_silence_once_per_episode(store: Store, tmp_path: Path) -> None:
    config = make_config(tmp_path)
    store.content.save_posts(
        [post("K1", author_id=KOL, author_kind="kol", created_at=T0, observed_at=T0)]
    )
    raised: list[AlertRecord] = []
    for day in range(0, 30):
        raised += evaluate(store, config, T0 + timedelta(days=day, hours=1))
        if day == 15:  # the partner posts again
            at = T0 + timedelta(days=day, hours=2)
            store.content.save_posts(
                [post("K2", author_id=KOL, author_kind="kol", created_at=at, observed_at=at)]
            )
    uploads = kinds(raised, "kol_upload")
    silences = kinds(raised, "kol_silent")
    assert [a.subject_id for a in uploads] == ["K1", "K2"]
    assert [(a.created_at.date().isoformat(), a.title) for a in silences] == [
        ("2019-08-17", "合作 KOL 沉默：大连身边事 已 7 天未发布"),
        ("2019-08-24", "升级：合作 KOL 沉默：大连身边事 已 14 天未发布"),  # twice as long
        ("2019-09-02", "合作 KOL 沉默：大连身边事 已 7 天未发布"),  # a new silence
    ]


def test_ugc_is_batched_at_most_every_eight_hours(store: Store, tmp_path: Path) -> None:
    config = make_config(tmp_path)

    def ugc(post_id: str, at: datetime, text: str, score: float) -> None:
        store.content.save_posts([post(post_id, text=text, created_at=at, observed_at=at)])
        store.content.set_ugc_scores([("weibo", post_id, score)])

    ugc("U1", T0, "推荐我们小区的环卫工人刘阿姨，每天天不亮就开始忙", 0.5)  # a nomination
    ugc("U2", T0, "随手拍：清晨的星海广场，海风、早市、晨练的老人", 0.82)
    ugc("U3", T0, "打卡", 0.1)
    first = kinds(evaluate(store, config, T0 + timedelta(hours=1)), "ugc")
    ugc("U4", T0 + timedelta(hours=2), "带外地朋友逛了老虎滩，他们说大连人真热情", 0.9)
    assert not kinds(evaluate(store, config, T0 + timedelta(hours=3)), "ugc")
    second = kinds(evaluate(store, config, T0 + timedelta(hours=9, minutes=1)), "ugc")
    assert len(first) == len(second) == 1
    assert [i["id"] for i in first[0].evidence["items"]] == ["U1", "U2"]  # type: ignore[attr-defined]
    assert [i["id"] for i in second[0].evidence["items"]] == ["U4"]  # type: ignore[attr-defined]
    assert "提名：环卫工人刘阿姨" in first[0].text


def test_coordination_is_a_lead_never_a_verdict(store: Store, tmp_path: Path) -> None:
    config = make_config(tmp_path)
    store.content.save_posts([post("R1", created_at=T0, observed_at=T0)])
    store.content.save_comments(
        [
            comment(f"RC{i}", post_id="R1", author_id=f"5{i:09d}",
                    text="大连这次活动办得真好，为城市点赞，大家快来看看吧",
                    created_at=T0 + timedelta(minutes=i))
            for i in range(5)
        ]
    )  # fmt: skip
    (alert,) = kinds(evaluate(store, config, T0 + timedelta(minutes=30)), "coordination")
    assert alert.title == "疑似协同（线索）：5 个账号发布近似内容"
    assert "不是结论" in alert.text and "5000000001" not in alert.text
    assert not kinds(evaluate(store, config, T0 + timedelta(minutes=40)), "coordination")


def test_stale_data_and_a_failing_parser_raise_health_alerts(store: Store, tmp_path: Path) -> None:
    config = make_config(tmp_path, health={"stale_after": "2h", "parser_failures": 3})
    store.content.save_posts([post("S1", created_at=T0, observed_at=T0)])
    assert not evaluate(store, config, T0 + timedelta(hours=1))
    for attempt in range(3):
        at = T0 + timedelta(hours=1, minutes=attempt)
        store.runtime.record_source_run(
            "weibo:comments", "weibo", status="failed", at=at, due_at=at,
            error="truncated or invalid JSON (Expecting value at 0); url: http://m.weibo.cn/x",
        )  # fmt: skip
    raised = evaluate(store, config, T0 + timedelta(hours=3))
    assert sorted(a.title for a in raised) == [
        "微博数据已 3 小时未更新",
        "微博解析失败：weibo:comments 连续 3 次",
    ]
    assert all(a.kind == "collector_health" for a in raised)
    assert not evaluate(store, config, T0 + timedelta(hours=4))


# --- hygiene ---------------------------------------------------------------------------


def test_a_muted_subject_raises_nothing_until_the_mute_ends(store: Store, tmp_path: Path) -> None:
    config = make_config(tmp_path)
    store.content.save_posts([post("T7", created_at=T0, observed_at=T0)])
    store.outbox.mute("weibo", "T7", T0 + timedelta(hours=2), at=T0, by="test")
    add_comments(store, "T7", T0, ["negative"] * 30)
    assert not kinds(evaluate(store, config, T0 + timedelta(hours=1)), "negative_thread")
    assert kinds(evaluate(store, config, T0 + timedelta(hours=3)), "negative_thread")


def test_english_alerts(store: Store, tmp_path: Path) -> None:
    config = replace(make_config(tmp_path), ui=replace(make_config(tmp_path).ui, language="en"))
    store.content.save_posts([post("T8", created_at=T0, observed_at=T0)])
    add_comments(store, "T8", T0, ["negative"] * 30)
    (alert,) = kinds(evaluate(store, config, T0 + timedelta(hours=1)), "negative_thread")
    assert alert.title == "Negative thread on Weibo: 100% negative (30 comments)"
    assert "Representative comments:" in alert.text and "At 2019-08-10 11:00" in alert.text


def test_evaluating_twice_at_one_moment_enqueues_once(store: Store, tmp_path: Path) -> None:
    config = make_config(tmp_path)
    store.content.save_posts([post("T9", created_at=T0, observed_at=T0)])
    add_comments(store, "T9", T0, ["negative"] * 30)
    at = T0 + timedelta(hours=1)
    assert len(evaluate(store, config, at)) == 1
    assert evaluate(store, config, at) == []
    assert store.reports.table_counts()["alerts"] == 1


def test_an_alert_and_its_rule_state_commit_together(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = make_config(tmp_path)
    store.content.save_posts([post("T10", created_at=T0, observed_at=T0)])
    add_comments(store, "T10", T0, ["negative"] * 30)

    def crash(*args: object) -> None:
        raise RuntimeError("disk gone")

    monkeypatch.setattr(store.outbox, "_put_state", crash)
    with pytest.raises(RuntimeError):
        evaluate(store, config, T0 + timedelta(hours=1))
    assert (
        store.reports.table_counts()["alerts"] == 0
        and store.outbox.rule_states("negative_thread") == {}
    )
    monkeypatch.undo()
    assert len(evaluate(store, config, T0 + timedelta(hours=1))) == 1


def _finding(**changes: Any) -> Finding:
    facts = StaleFacts("weibo", T0, 7200.0, 3600.0)
    base = Finding(
        rule="r", kind="k", platform="weibo", subject_id="s", severity="warning", facts=facts,
        level=0.5, volume=20, cooldown=3600, window=3600,
    )  # fmt: skip
    return replace(base, **changes)


def _state(**changes: Any) -> RuleState:
    base = RuleState(
        rule="r", subject="weibo:s", window_key="w", fired_at=T0, last_true_at=T0, level=0.5,
        volume=20, escalations=0, alert_id=1, data={"severity": "warning"},
    )  # fmt: skip
    return replace(base, **changes)


@pytest.mark.parametrize(
    ("finding", "state", "minutes", "action"),
    [
        (_finding(), None, 0, "fire"),
        (_finding(), _state(), 10, "hold"),  # same episode, nothing new
        (_finding(volume=40), _state(), 10, "escalate"),  # volume doubled
        (_finding(level=1.0), _state(), 10, "escalate"),  # share doubled
        (_finding(severity="critical"), _state(), 10, "escalate"),
        (_finding(volume=40), _state(escalations=2), 10, "hold"),  # at most two
        (_finding(volume=40, escalates=False), _state(), 10, "hold"),
        (_finding(), _state(), 61, "fire"),  # not seen for the cooldown: a new episode
        (_finding(mode="once"), _state(), 9999, "hold"),
        (_finding(mode="once", silent=True), None, 0, "record"),
        (_finding(mode="periodic"), _state(last_true_at=T0 + timedelta(minutes=59)), 61, "fire"),
    ],
)
def test_decide(finding: Finding, state: RuleState | None, minutes: int, action: str) -> None:
    assert decide(finding, state, T0 + timedelta(minutes=minutes), 2).action == action


def test_an_episode_seen_at_every_run_goes_on_however_far_apart_the_runs() -> None:
    seen = _state(last_true_at=T0 + timedelta(days=3))
    later = T0 + timedelta(days=6)
    assert decide(_finding(), seen, later, 2, previous_run=T0 + timedelta(days=3)).action == "hold"
    # not seen at the previous run (the condition had gone away): a new episode
    assert decide(_finding(), seen, later, 2, previous_run=T0 + timedelta(days=5)).action == "fire"


def test_the_coordination_rule_runs_at_its_own_cadence(store: Store, tmp_path: Path) -> None:
    config = make_config(tmp_path)
    evaluate(store, config, T0)
    assert store.outbox.rule_last_run("coordination") == T0
    evaluate(store, config, T0 + timedelta(hours=1))
    assert store.outbox.rule_last_run("coordination") == T0, "a lead, not news: not every poll"
    assert store.outbox.rule_last_run("negative_thread") == T0 + timedelta(hours=1)
    evaluate(store, config, T0 + timedelta(hours=6))
    assert store.outbox.rule_last_run("coordination") == T0 + timedelta(hours=6)
