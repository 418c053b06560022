"""Several `pingfan run` workers on one PostgreSQL database against the simulator: their
config, their identities (one cookie each), starting them, and what the database says. For
tests/test_workers.py and benchmarks/workers.py."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from monitor.config import config_from_dict
from monitor.errors import ConfigError
from monitor.sim.app import SimServer
from tests.support.sim import TOPIC
from tests.support.weibo import KOL, OFFICIAL

# The variables that name the workers' cookies: worker N is expected to take identity N, but
# any worker may take any free one.
COOKIE_ENVS = tuple(f"PINGFAN_TEST_WORKER_COOKIE_{n}" for n in range(1, 9))


def workers_config(
    server: SimServer,
    url: str,
    *,
    identities: int,
    requests_per_minute: int,
    burst: int,
    lease: str,
    schedule: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Weibo only, on the PostgreSQL database at `url`, `identities` cookies to share."""
    return {
        "storage": {"url": url, "comment_retention_days": 0},
        "topics": [{"name": TOPIC}],
        "kols": [{"platform": "weibo", "id": KOL, "name": "大连身边事"}],
        "official": {"weibo": [OFFICIAL]},
        "weibo": {
            "base_url": server.weibo_url,
            "topic_base_url": server.weibo_topic_url,
            "requests_per_minute": requests_per_minute,
            "burst": burst,
            "cookie_env": COOKIE_ENVS[0],
            "cookie_envs": list(COOKIE_ENVS[1:identities]),
            "timeout": "5s",
        },
        "douyin": {"enabled": False},
        "schedule": {
            "topic_posts": "1s",
            "topic_stats": "1s",
            "kol_posts": "1s",
            "profiles": "5s",
            "comments_hot": "1s",
            "comments_cold": "10s",
            "lease": lease,
            **(schedule or {}),
        },
        "health": {"port": 0},
        "digest": {"enabled": False},  # collection is what is measured here
    }


def refused_on_postgres() -> str | None:
    """Why `pingfan run` cannot run on PostgreSQL in this build (the config refuses
    `[storage] url` until every part of the store runs there), or None when it can."""
    try:
        config_from_dict(
            {
                "storage": {"url": "postgresql://pingfan@127.0.0.1/pingfan"},
                "topics": [{"name": TOPIC}],
            },
            Path("config.toml"),
        )
    except ConfigError as err:
        return str(err)
    return None


def write_toml(path: Path, raw: dict[str, Any]) -> Path:
    lines = []
    for section, table in raw.items():
        if isinstance(table, list):
            for item in table:
                lines.append(f"[[{section}]]")
                lines += [f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in item.items()]
        else:
            lines.append(f"[{section}]")
            lines += [f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in table.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def cookie(n: int) -> str:
    """Worker identity `n`'s cookie, as the simulator receives it."""
    return f"SUB={login(n)}"


def login(n: int) -> str:
    """Worker identity `n`'s SUB value: `Simulator(weibo_cookies=...)` accepts it."""
    return f"worker-{n}"


def worker_env(identities: int) -> dict[str, str]:
    env = dict(os.environ)
    for n, name in enumerate(COOKIE_ENVS[:identities], start=1):
        env[name] = cookie(n)
    return env


async def start_worker(config: Path, identities: int, log: Path) -> asyncio.subprocess.Process:
    """`pingfan run` on `config`, its warnings in `log` (a file: a pipe nobody reads fills)."""
    with log.open("ab") as stderr:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "monitor", "--config", str(config), "--log-level", "WARNING",
            "run", stdout=subprocess.DEVNULL, stderr=stderr, env=worker_env(identities),
        )  # fmt: skip


def owner_of(pid: int) -> str:
    """The part of a lease's owner that names worker process `pid` (host:pid:random)."""
    return f"%:{pid}:%"
