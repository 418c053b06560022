"""Issue 11: three probabilities in the store and export, `nlp label` through stdin,
`nlp train --from-db` before/after, `nlp adapt`, and the simulator's truth."""

from __future__ import annotations

import io
import json
import subprocess
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from monitor.cli import main
from monitor.config import config_from_dict
from monitor.export import FIELDS, export_records
from monitor.nlp_cli import spread_candidates
from monitor.runtime.scorer import Scorer, score_pending
from monitor.store import Store
from nlp.sentiment import Example, default_model
from tests.support import factories
from tests.support.paths import REPO
from tests.support.sim import bundled_world, running_sim

PINGFAN = str(REPO / ".venv" / "bin" / "pingfan")
LIMIT = ("--base-limit", "300")  # a small base: the test is about the team's labels

TEXTS = [
    "刘阿姨辛苦了[心]",  # sure: positive
    "堵了三个小时[怒]",  # sure: negative
    "这个",  # unsure
    "嗯嗯还行吧",
    "那个视频",
    "一般吧",
]


def filled_store(path: Path) -> None:
    """A post with comments on two days, scored by the default model."""
    with Store.open(path) as store:
        store.content.save_posts([factories.post(), factories.post("4390000000000002")])
        comments = [
            factories.comment(
                f"43900000000002{i:02d}",
                text=text,
                post_id="4390000000000001" if i % 2 else "4390000000000002",
                created_at=factories.T0 + timedelta(days=i % 2, minutes=i),
            )
            for i, text in enumerate(TEXTS)
        ]
        store.content.save_comments(comments)
        config = config_from_dict({"storage": {"path": str(path)}}, path.parent / "c.toml")
        import asyncio

        asyncio.run(score_pending(store, config, Scorer("default")))


def write_config(tmp_path: Path) -> Path:
    config = tmp_path / "config.toml"
    config.write_text('[storage]\npath = "p.db"\n', encoding="utf-8")
    return config


def test_scores_store_three_probabilities_and_entropy(tmp_path: Path) -> None:
    filled_store(tmp_path / "p.db")
    with Store.open(tmp_path / "p.db") as store:
        rows = {r["text"]: r for r in export_records(store, "comments")}
        sure = store.query("SELECT text, entropy FROM comments ORDER BY entropy")
        order = [r["text"] for r in sure]
    assert set(FIELDS["comments"]) >= {"sentiment", "label", "p_neutral", "p_negative"}
    for row in rows.values():
        assert row["sentiment"] + row["p_neutral"] + row["p_negative"] == pytest.approx(1, abs=2e-4)
    assert rows["堵了三个小时[怒]"]["label"] == "negative"
    assert rows["堵了三个小时[怒]"]["p_negative"] > 0.5
    assert order[-1] not in ("刘阿姨辛苦了[心]", "堵了三个小时[怒]")


def test_two_class_scores_still_store(store: Store) -> None:
    store.content.save_posts([factories.post()])
    store.content.save_comments([factories.comment()])
    store.content.set_comment_scores([("weibo", "4390000000000101", 0.2, "negative", "old")])
    (row,) = store.query("SELECT sentiment, p_neutral, p_negative, entropy FROM comments")
    assert (row["sentiment"], row["p_neutral"], row["p_negative"]) == (0.2, 0.0, 0.8)
    assert row["entropy"] == pytest.approx(0.7219, abs=1e-4)


def test_label_asks_the_least_sure_first_and_stores_answers(tmp_path: Path) -> None:
    filled_store(tmp_path / "p.db")
    config = write_config(tmp_path)
    with Store.open(tmp_path / "p.db") as store:
        expected = [r["text"] for r in store.reports.uncertain_comments(10)]
    result = subprocess.run(
        [PINGFAN, "--config", str(config), "nlp", "label", "--n", "4"],
        input="1\nx\n2\ns\n3\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "stored 3 label(s) (1 positive, 1 neutral, 1 negative)" in out
    assert "1、2、3、s 或 q" in out  # "x" was asked again
    with Store.open(tmp_path / "p.db") as store:
        labels = store.labels.labels()
        team = {
            r["text"]: r["label"]
            for r in store.query(
                "SELECT c.text, l.label FROM labels l"
                " JOIN comments c ON c.platform = l.platform AND c.id = l.comment_id"
            )
        }
    asked = [line.strip() for line in out.splitlines() if line.startswith("  ")]
    assert [text for text, _ in labels] == [t for t in asked if t in team]
    assert set(team) <= set(expected)
    assert sorted(team.values()) == ["negative", "neutral", "positive"]


def test_label_stops_at_q_and_at_the_end_of_input(tmp_path: Path) -> None:
    filled_store(tmp_path / "p.db")
    config = write_config(tmp_path)
    for answers in ("2\nq\n1\n", "3\n"):  # one label each: q stops, and so does the end
        assert _label_in_process(config, answers) == 0
    with Store.open(tmp_path / "p.db") as store:
        assert len(store.labels.labels()) == 2
        # a labelled comment is not asked about again
        assert len(store.reports.uncertain_comments(10)) == len(TEXTS) - 2


def _label_in_process(config: Path, answers: str) -> int:
    import sys

    saved = sys.stdin
    sys.stdin = io.StringIO(answers)
    try:
        return main(["--config", str(config), "nlp", "label", "--n", "5"])
    finally:
        sys.stdin = saved


def test_label_on_an_empty_database_says_so(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    with Store.open(tmp_path / "p.db"):
        pass
    result = subprocess.run(
        [PINGFAN, "--config", str(config), "nlp", "label"],
        input="",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    assert result.returncode == 0 and "no scored comments to label yet" in result.stdout


def test_candidates_are_spread_over_posts_and_days() -> None:
    rows = [
        {"platform": "weibo", "id": str(i), "post_id": post, "created_at": day, "text": text}
        for i, (post, day, text) in enumerate(
            [
                ("a", "2019-08-16T12:00:00+00:00", "堵"),
                ("a", "2019-08-16T12:01:00+00:00", "堵了"),
                ("a", "2019-08-16T12:02:00+00:00", "真堵"),
                ("a", "2019-08-16T12:03:00+00:00", "+1"),
                ("b", "2019-08-17T12:00:00+00:00", "+1"),  # the same text again
                ("c", "2019-08-18T12:00:00+00:00", "好"),
                ("d", "2019-08-18T13:00:00+00:00", "嗯"),
            ]
        )
    ]
    picked = spread_candidates(rows, 4)
    assert [r["id"] for r in picked] == ["0", "4", "5", "6"]  # one per post first
    assert len(spread_candidates(rows, 100)) == 6  # "+1" once


def test_train_from_db_prints_before_and_after_per_class(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    with Store.open(tmp_path / "p.db") as store:
        for i in range(8):
            store.labels.add_label(f"这是哪里{i}", "neutral", given_by="cli:t")
            store.labels.add_label(f"太好了{i}", "positive", given_by="cli:t")
            store.labels.add_label(f"太差了{i}", "negative", given_by="cli:t")
    out = tmp_path / "team.json.gz"
    result = subprocess.run(
        [PINGFAN, "--config", str(config), "nlp", "train", "--from-db", "--out", str(out), *LIMIT],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["team_examples"] == 24
    assert summary["before_team"]["n"] == summary["held_out_team"]["n"] == 2
    assert f"before ({default_model().version})" in result.stderr and "after (" in result.stderr
    for label in ("positive", "neutral", "negative", "macro-F1"):
        assert label in result.stderr
    assert f'[nlp] model = "{out}"' in result.stderr  # switching is the user's choice


def test_adapt_reports_the_change_on_team_labels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    filled_store(tmp_path / "p.db")
    config = write_config(tmp_path)
    with Store.open(tmp_path / "p.db") as store:
        store.labels.add_label("这个", "neutral", platform="weibo", comment_id="4390000000000202")
    small = [Example("太好了", "positive"), Example("太差了", "negative")] * 10
    monkeypatch.setattr("nlp.training.base_examples", lambda: small)
    out = tmp_path / "adapted.json.gz"
    code = main(["--config", str(config), "nlp", "adapt", "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 0 and out.exists()
    assert f"adapting to {len(TEXTS) - 1} stored comments: 2 weak labels" in printed
    assert f"before ({default_model().version})" in printed and "after (pingfan-adapted-" in printed


def test_emoticons_and_emoji_give_weak_labels() -> None:
    from nlp.training import emoticon_labels

    labels = emoticon_labels(["辛苦了[心]", "好👍👍", "堵死了[怒]", "😡", "这是哪", "[泪]"])
    assert [(e.text, e.label) for e in labels] == [
        ("辛苦了[心]", "positive"),
        ("好👍👍", "positive"),
        ("堵死了[怒]", "negative"),
        ("😡", "negative"),
    ]


# --- the simulator tells the truth -------------------------------------------------------


def test_every_simulated_comment_carries_its_pool_class() -> None:
    world = bundled_world()
    split = world.truth_split()
    assert sum(split.values()) == pytest.approx(1.0)
    assert 0.10 <= split["negative"] <= 0.20
    threads = {p.text[:6]: p for p in world.posts if p.role == "thread"}
    traffic = threads["星海广场活动"]
    assert set(world.truth(post_id=traffic.id).values()) == {"negative"}
    rider = next(p for p in threads.values() if "跑单" in p.text)
    assert set(world.truth(post_id=rider.id).values()) == {"positive"}
    texts = {c.text for comments in world.comments.values() for c in comments}
    assert len(texts) > 1500, "pools varied enough that the demo measures something"


def test_truth_is_deterministic_from_the_seed() -> None:
    from monitor.sim.world import load_world

    first, again = load_world(), load_world()
    assert first.truth() == again.truth()
    assert [c.text for c in first.comments[first.posts[0].id]] == [
        c.text for c in again.comments[again.posts[0].id]
    ]


async def test_truth_endpoint_gives_a_posts_comment_classes() -> None:
    world = bundled_world()
    post = next(p for p in world.posts if p.role == "thread" and p.platform == "weibo")
    async with running_sim(at=world.end) as (server, _), aiohttp.ClientSession() as session:
        url = f"{server.weibo_url}/__sim/truth"
        async with session.get(url, params={"post": post.id}) as response:
            payload = await response.json()
        async with session.get(url, params={"platform": "weibo"}) as response:
            overall = await response.json()
    assert payload["labels"] == world.truth(post_id=post.id)
    assert payload["split"]["negative"] == 1.0
    assert "labels" not in overall and overall["split"] == pytest.approx(
        world.truth_split(platform="weibo", until=world.end)
    )
