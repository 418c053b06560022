"""`collect --once` scores what the pass has stored while the pass is still reading."""

import asyncio
from pathlib import Path

from monitor.app.collect import score_while_reading
from monitor.config import config_from_dict
from monitor.runtime.scorer import Scorer
from monitor.store import Store
from tests.support.factories import comment


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
