"""Two campaigns on one PostgreSQL database, each its own `pingfan run` worker against the
simulator (issue 25, "two campaigns stay apart"). Campaign A watches the topic and KOL k;
campaign B only the same KOL k. Each campaign's alerts reach its own sink only, once; each
campaign has its own leader; k's timeline is one source, its posts are stored once and counted
in both; neither's `status` or `export` shows the other's alerts."""

from __future__ import annotations

import asyncio
import json
import signal
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.campaign import leader_key
from monitor.cli import main
from monitor.config import load_config
from monitor.models import AlertRecord
from monitor.store import Store
from nlp.search_tokens import jieba_search_tokens
from tests.support.daemon import eventually, write_config
from tests.support.postgres import Cluster
from tests.support.sim import MID_CAMPAIGN, TOPIC, running_sim
from tests.support.weibo import KOL, OFFICIAL
from tests.support.workers import login, start_worker, workers_config

pytestmark = pytest.mark.timeout(300)

START = MID_CAMPAIGN - timedelta(days=30)  # a small world: 95 posts, 3 of them k's


def campaign_config(raw: dict[str, Any], campaign: str, tmp_path: Path) -> Path:
    """The workers' config as campaign `campaign`'s, its alerts to its own jsonl file."""
    raw = {
        **raw,
        "campaign": {"id": campaign, "name": f"活动{campaign}"},
        "sinks": [{"type": "jsonl", "path": str(tmp_path / f"{campaign}.jsonl")}],
    }
    if campaign == "B":  # only the KOL both campaigns share
        del raw["topics"]
        raw.pop("official", None)
    return write_config(tmp_path / f"{campaign}.toml", raw)


def seed_alert(config: Path, title: str) -> int:
    """One alert in the config's campaign before the workers start; its id."""
    with Store.for_config(load_config(config), search_tokens=jieba_search_tokens) as store:
        store.outbox.enqueue_alert(
            AlertRecord(
                kind="trending",
                severity="warning",
                title=title,
                text=title,
                dedupe_key=f"seed:{title}",
                created_at=START,
                platform="weibo",
                subject_id="seed",
            )
        )
        (row,) = store.query("SELECT id FROM alerts WHERE title = ?", (title,))
        return int(row["id"])


def sent_ids(tmp_path: Path, campaign: str) -> list[int]:
    """Every alert id the campaign's jsonl sink received, as often as it received it."""
    path = tmp_path / f"{campaign}.jsonl"
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    return [alert_id for line in lines for alert_id in json.loads(line)["ids"]]


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    assert main(list(args)) == 0
    return capsys.readouterr().out


async def test_two_campaigns_on_one_database_stay_apart(
    tmp_path: Path,
    workers_db_url: str,
    started_processes: list[asyncio.subprocess.Process],
    capsys: pytest.CaptureFixture[str],
    postgres_cluster: Cluster,
) -> None:
    async with running_sim(
        at=START, requests_per_minute=100_000, weibo_cookies=(login(1), login(2))
    ) as (server, clock):
        raw = workers_config(
            server, workers_db_url, identities=2, requests_per_minute=60_000, burst=5, lease="3s"
        )
        configs = {c: campaign_config(raw, c, tmp_path) for c in ("A", "B")}
        seeded = {c: seed_alert(configs[c], f"{c}的提醒") for c in ("A", "B")}
        now = clock.now()
        kol_posts = {
            p.id
            for p in server.sim.world.posts_until(now)
            if p.platform == "weibo" and p.author_id == KOL
        }
        topic_posts = {
            p.id
            for p in server.sim.world.posts_until(now)
            if p.platform == "weibo" and (TOPIC in p.topics or p.author_id in (KOL, OFFICIAL))
        }
        assert kol_posts and topic_posts - kol_posts

        with Store.open_postgres(workers_db_url) as store:

            def stored(sql: str) -> set[str]:
                return {row["id"] for row in store.query(sql)}

            def held_leader_keys() -> set[int]:
                # a bigint advisory key shows as its high (classid) and low (objid) halves
                rows = store.query(
                    "SELECT classid::bigint AS high, objid::bigint AS low FROM pg_locks"
                    " WHERE locktype = 'advisory' AND objsubid = 1 AND granted"
                )
                keys = {(row["high"] << 32) | row["low"] for row in rows}
                return {key - (1 << 64) if key >= 1 << 63 else key for key in keys}

            workers = {
                c: await start_worker(configs[c], 2, tmp_path / f"{c}.log") for c in ("A", "B")
            }
            started_processes.extend(workers.values())

            def apart_and_done() -> bool:
                for c, worker in workers.items():
                    if worker.returncode is not None:
                        log = (tmp_path / f"{c}.log").read_text()[-2000:]
                        server_log = (postgres_cluster.root / "server.log").read_text()[-4000:]
                        raise AssertionError(
                            f"worker {c} stopped ({worker.returncode}): {log}\n"
                            f"the server's log: {server_log}"
                        )
                return (
                    kol_posts <= stored("SELECT id FROM posts")
                    and all(seeded[c] in sent_ids(tmp_path, c) for c in ("A", "B"))
                    and held_leader_keys() >= {leader_key("A"), leader_key("B")}
                )

            await eventually(
                apart_and_done, 180, "k's posts stored, each campaign leads and sends its alert"
            )
            for worker in workers.values():
                worker.send_signal(signal.SIGTERM)
            for c, worker in workers.items():
                await asyncio.wait_for(worker.wait(), timeout=30)
                assert worker.returncode == 0, (tmp_path / f"{c}.log").read_text()[-2000:]

            alerts = {
                c: {int(row["id"]) for row in store.query(
                    "SELECT id FROM alerts WHERE campaign = ?", (c,))}
                for c in ("A", "B")
            }  # fmt: skip
            delivered = {
                c: {int(row["id"]) for row in store.query(
                    "SELECT id FROM alerts WHERE campaign = ? AND state = 'sent'", (c,))}
                for c in ("A", "B")
            }  # fmt: skip
            ((posts, distinct),) = [
                (row["n"], row["d"])
                for row in store.query("SELECT count(*) AS n, count(DISTINCT id) AS d FROM posts")
            ]
            timelines = stored(
                f"SELECT name AS id FROM sources WHERE name LIKE 'weibo:timeline:{KOL}'"
            )

    for c, other in (("A", "B"), ("B", "A")):
        ids = sent_ids(tmp_path, c)
        assert len(ids) == len(set(ids)), f"{c}'s sink received an alert twice: {ids}"
        assert set(ids) == delivered[c] and seeded[c] in ids  # its own, each once
        assert not set(ids) & alerts[other]  # never the other's
    assert posts == distinct  # k's posts, read for both campaigns, are stored once
    assert timelines == {f"weibo:timeline:{KOL}"}  # one source for k, whichever worker ran it

    exported = {
        c: [json.loads(line) for line in cli(
            capsys, "--config", str(configs[c]), "export", "posts").splitlines()]
        for c in ("A", "B")
    }  # fmt: skip
    assert {p["id"] for p in exported["B"]} == kol_posts  # k's posts count in B...
    assert kol_posts < {p["id"] for p in exported["A"]} <= topic_posts  # ...and in A
    for c, other in (("A", "B"), ("B", "A")):
        titles = {
            json.loads(line)["title"]
            for line in cli(capsys, "--config", str(configs[c]), "export", "alerts").splitlines()
        }
        assert f"{c}的提醒" in titles and f"{other}的提醒" not in titles
        status = cli(capsys, "--config", str(configs[c]), "status")
        assert f"campaign: {c} (活动{c})" in status
        (alerts_line,) = [line for line in status.splitlines() if line.split()[:1] == ["alerts"]]
        assert alerts_line.split() == ["alerts", str(len(alerts[c]))]
