"""`collect --once` scores what the pass has stored while the pass is still reading, and
ends with what the same pass with its stages in sequence stores and alerts."""

import asyncio
import dataclasses
from datetime import datetime
from pathlib import Path

import pytest

from monitor.app.alerting import evaluate_and_dispatch
from monitor.app.collect import collect_once, score_while_reading
from monitor.collect import collect_pass
from monitor.config import Config, config_from_dict
from monitor.errors import ConfigError
from monitor.runtime.clock import VirtualClock
from monitor.runtime.scorer import Scorer, score_pending
from monitor.store import Store
from nlp.search_tokens import jieba_search_tokens
from tests.support.factories import comment
from tests.support.sim import running_sim
from tests.support.weibo import sim_config


async def test_comments_stored_mid_pass_are_scored_before_the_pass_ends(tmp_path: Path) -> None:
    config = config_from_dict({"storage": {"path": "p.db"}}, tmp_path / "config.toml")
    scorer = Scorer(config.nlp.model)
    with Store.open(config.storage.path) as store:
        read = asyncio.Event()
        scoring = asyncio.create_task(score_while_reading(store, config, scorer, read))
        store.content.save_comments([comment("c1", text="太棒了，辛苦了")])
        for _ in range(200):  # the pass is still "reading": nothing has set `read`
            await asyncio.sleep(0.05)
            if not store.reports.unscored_comments(10):
                break
        assert store.reports.unscored_comments(10) == []
        assert not scoring.done()

        store.content.save_comments([comment("c2", text="太差了")])
        read.set()  # the pass ends: what it stored last is scored before the task returns
        report = await asyncio.wait_for(scoring, 60)
        assert report.comments == 2
        assert store.reports.unscored_comments(10) == []


# The night the bundled scenario's Weibo thread turns against its post (21:30): a pass 2.5 h
# later reads it in the negative-thread rule's window.
AFTER_THE_NEGATIVE_THREAD = datetime.fromisoformat("2019-08-17T00:00:00+08:00")


async def _sequential_reference(config: Config, clock: VirtualClock) -> None:
    """`collect --once` with its stages one after the other: read everything, then score,
    then the rules and one dispatch."""
    with Store.for_config(config, search_tokens=jieba_search_tokens) as store:
        await collect_pass(config, store, clock, "weibo")
        await score_pending(store, config, Scorer(config.nlp.model))
        await evaluate_and_dispatch(config, store, clock)


def _what_was_stored(config: Config) -> tuple[list[tuple], list[tuple], int]:
    """(comments with their labels, alerts, comments left unscored) of a pass's file."""
    with Store.open(config.storage.path) as store:
        comments = store.db.execute(
            "SELECT platform, id, post_id, label FROM comments ORDER BY platform, id"
        ).fetchall()
        alerts = store.db.execute(
            "SELECT kind, platform, subject_id, dedupe_key, severity, title, text, evidence"
            " FROM alerts ORDER BY dedupe_key"
        ).fetchall()
        unscored = len(store.reports.unscored_comments(10))
    return comments, alerts, unscored


async def test_an_overlapped_pass_stores_scores_and_alerts_as_the_sequential_one(
    tmp_path: Path,
) -> None:
    configs = {}
    # one simulator for both passes, so that the links in the alerts are alike; fast enough
    # for two whole passes
    async with running_sim(at=AFTER_THE_NEGATIVE_THREAD, requests_per_minute=100_000) as (
        server,
        _,
    ):
        for name in ("overlapped", "sequential"):
            (tmp_path / name).mkdir()
            config = configs[name] = sim_config(server, tmp_path / name)
            clock = VirtualClock(AFTER_THE_NEGATIVE_THREAD)
            if name == "overlapped":
                outcome = await collect_once(config, "weibo", clock=clock)
                assert not outcome.blocked
            else:
                await _sequential_reference(config, clock)
    comments, alerts, unscored = _what_was_stored(configs["overlapped"])
    expected_comments, expected_alerts, _ = _what_was_stored(configs["sequential"])
    assert len(comments) > 1000  # a whole pass, many threads
    assert len({(platform, id_) for platform, id_, *_ in comments}) == len(comments)
    assert comments == expected_comments  # the same comments, each once, labelled alike
    assert unscored == 0
    assert any(kind == "negative_thread" for kind, *_ in alerts), alerts
    assert alerts == expected_alerts


async def test_a_model_that_cannot_load_stops_the_pass_with_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "model.json.gz"
    broken.write_bytes(b"not a model")
    async with running_sim(at=AFTER_THE_NEGATIVE_THREAD, requests_per_minute=100_000) as (
        server,
        _,
    ):
        config = sim_config(server, tmp_path)
        config = dataclasses.replace(config, nlp=dataclasses.replace(config.nlp, model=str(broken)))
        with pytest.raises(ConfigError, match=r"\[nlp\] model .* cannot be loaded"):
            await collect_once(config, "weibo", clock=VirtualClock(AFTER_THE_NEGATIVE_THREAD))
    with Store.open(config.storage.path) as store:  # the pass stopped: no alert, no score
        assert store.db.execute("SELECT count(*) FROM alerts").fetchone()[0] == 0
        assert (
            store.db.execute(
                "SELECT count(*) FROM comments WHERE sentiment IS NOT NULL"
            ).fetchone()[0]
            == 0
        )
