"""Several `pingfan run` workers on one PostgreSQL database against the simulator: their
config, their identities (one cookie each), starting them, and what the database says. For
tests/test_workers.py and benchmarks/workers.py."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from monitor.sim.app import SimServer
from tests.support.daemon import FAST_SCHEDULE, daemon_config_dict
from tests.support.postgres import TEMPLATE, Cluster

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
    """The daemon tests' config (Weibo only) on the PostgreSQL database at `url`, with
    `identities` cookies to share."""
    raw = daemon_config_dict(
        server,
        requests_per_minute=requests_per_minute,
        burst=burst,
        cookie_env=COOKIE_ENVS[0],
        cookie_envs=list(COOKIE_ENVS[1:identities]),
        timeout="5s",
    )
    raw["storage"] = {"url": url, "comment_retention_days": 0}
    raw["schedule"] = {**FAST_SCHEDULE, "lease": lease, **(schedule or {})}
    raw["digest"] = {"enabled": False}  # collection is what is measured here
    return raw


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


@contextmanager
def workers_database(cluster: Cluster) -> Iterator[str]:
    """A database of its own, migrated before the workers start (a copy of the template), and
    its address; dropped afterwards."""
    with cluster.temporary_url(TEMPLATE) as url:
        yield url
